-- The id map: one row per entity instance, keyed both ways.
--   origin 'magento': the row records a Magento id; uuid is UUIDv5(namespace, entity/legacy_id).
--   origin 'service': the entity was born in a new service (uuid is a UUIDv7); legacy_id stays
--   NULL until reverse sync creates the row in Magento and assigns it.
CREATE TABLE ficus_id_map.mapping (
    uuid uuid PRIMARY KEY,
    -- Checked by id-map before writing ([a-z][a-z0-9_]*, ≤ 64); "C" collation keeps the unique
    -- index's comparisons byte-wise (a locale collation costs a third of COPY's time here).
    entity text COLLATE "C" NOT NULL CHECK (entity <> ''),
    legacy_id bigint CHECK (legacy_id >= 0),
    origin text NOT NULL CHECK (origin IN ('magento', 'service')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mapping_entity_legacy_id_key UNIQUE (entity, legacy_id),
    CONSTRAINT mapping_magento_rows_have_ids CHECK (origin = 'service' OR legacy_id IS NOT NULL)
);

COMMENT ON TABLE ficus_id_map.mapping IS
    'ficus id map: (entity, legacy_id) <-> uuid; see id-map/README in the ficus repository';

-- The namespace the UUIDv5s of this store were made with: one row, set by the first sync.
CREATE TABLE ficus_id_map.namespace (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    namespace uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

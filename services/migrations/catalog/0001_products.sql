-- The catalog service's own database. Products are keyed by the id-map UUID; Magento's entity id
-- stays as a unique column. One row per product and store view holds the values that vary by
-- store and the document in Magento's REST shape, kept as `json` (text) so its key order is
-- Magento's and a GET returns it as stored.

-- Every change applied carries the source position it was read at (binlog file number and
-- offset; eav-extract's snapshot for a back-fill). A change older than what a row holds is
-- ignored, so replays and out-of-order retries leave the same state.
CREATE TABLE catalog.product (
    uuid uuid PRIMARY KEY,
    legacy_id bigint NOT NULL UNIQUE CHECK (legacy_id > 0),
    -- NULL for a tombstone of a product this service never held.
    sku text,
    -- The newest position applied to the product.
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL,
    -- Deleted at the position above: a tombstone that refuses older upserts.
    deleted boolean NOT NULL DEFAULT false
);

CREATE TABLE catalog.store (
    code text COLLATE "C" PRIMARY KEY
);

CREATE TABLE catalog.product_store (
    product uuid NOT NULL REFERENCES catalog.product ON DELETE CASCADE,
    store_code text COLLATE "C" NOT NULL REFERENCES catalog.store,
    sku text NOT NULL,
    name text,
    price numeric,
    status smallint,
    visibility smallint,
    type_id text,
    attribute_set_id integer,
    created_at timestamp,
    updated_at timestamp,
    -- custom_attributes as code -> value, for filters on the long tail.
    attrs jsonb NOT NULL DEFAULT '{}',
    document json NOT NULL,
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL,
    PRIMARY KEY (product, store_code)
);

-- Magento finds a SKU case-insensitively (its column collation is utf8_general_ci).
CREATE INDEX product_store_sku ON catalog.product_store (store_code, lower(sku));
CREATE INDEX product_store_attrs ON catalog.product_store USING gin (attrs jsonb_path_ops);

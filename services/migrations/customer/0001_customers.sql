-- The customer service's own database. Customers are keyed by the id-map UUID; Magento's entity
-- id stays as a unique column. Customers have no store dimension: one document each, in
-- Magento's REST shape (addresses inside), kept as `json` so its key order is Magento's.
-- Ordered by source position as in the catalog: an older change is ignored, a delete leaves a
-- tombstone.
CREATE TABLE customer.customer (
    uuid uuid PRIMARY KEY,
    legacy_id bigint NOT NULL UNIQUE CHECK (legacy_id > 0),
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false
);

CREATE TABLE customer.profile (
    customer uuid PRIMARY KEY REFERENCES customer.customer ON DELETE CASCADE,
    legacy_id bigint NOT NULL UNIQUE,
    email text,
    firstname text,
    lastname text,
    middlename text,
    group_id integer,
    store_id integer,
    website_id integer,
    gender integer,
    dob date,
    taxvat text,
    created_in text,
    created_at timestamp,
    updated_at timestamp,
    attrs jsonb NOT NULL DEFAULT '{}',
    document json NOT NULL,
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL
);
-- Magento compares text case-insensitively; these serve the common searches: by e-mail (exact or
-- prefix), by name, by group or website, and "changed since".
CREATE INDEX profile_email ON customer.profile (lower(email) text_pattern_ops);
CREATE INDEX profile_lastname ON customer.profile (lower(lastname) text_pattern_ops);
CREATE INDEX profile_firstname ON customer.profile (lower(firstname) text_pattern_ops);
CREATE INDEX profile_group ON customer.profile (group_id);
CREATE INDEX profile_website ON customer.profile (website_id);
CREATE INDEX profile_updated ON customer.profile (updated_at);
CREATE INDEX profile_created ON customer.profile (created_at);
CREATE INDEX profile_attrs ON customer.profile USING gin (attrs jsonb_path_ops);

-- Custom attribute codes seen, per entity type; a search on any other field is refused as
-- Magento refuses it.
CREATE TABLE customer.attribute (
    entity text COLLATE "C" NOT NULL,
    code text COLLATE "C" NOT NULL,
    PRIMARY KEY (entity, code)
);

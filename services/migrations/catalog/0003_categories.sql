-- Categories, and what the category tree needs from products and stores.

-- The identity table keeps ids and positions only; the SKU lives with each store view.
ALTER TABLE catalog.product DROP COLUMN sku;

-- Custom attribute codes per entity type (products' and categories' differ).
ALTER TABLE catalog.attribute ADD COLUMN entity text COLLATE "C" NOT NULL DEFAULT 'catalog_product';
ALTER TABLE catalog.attribute ALTER COLUMN entity DROP DEFAULT;
ALTER TABLE catalog.attribute DROP CONSTRAINT attribute_pkey, ADD PRIMARY KEY (entity, code);

-- A store view's website (for the tree's product counts) and root category (the tree's default
-- root), as Magento's store and store_group tables say. NULL until the pipeline sets them.
ALTER TABLE catalog.store ADD COLUMN website_id integer, ADD COLUMN root_category_id bigint;

-- The product's categories and websites (extension_attributes), for the tree's product counts.
ALTER TABLE catalog.product_store
    ADD COLUMN category_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN website_ids integer[] NOT NULL DEFAULT '{}';
UPDATE catalog.product_store SET
    category_ids = ARRAY(SELECT (l->>'category_id')::bigint
        FROM json_array_elements(document->'extension_attributes'->'category_links') l),
    website_ids = ARRAY(SELECT w::integer
        FROM json_array_elements_text(document->'extension_attributes'->'website_ids') w);
CREATE INDEX product_store_categories ON catalog.product_store USING gin (category_ids);

CREATE TABLE catalog.category (
    uuid uuid PRIMARY KEY,
    legacy_id bigint NOT NULL UNIQUE CHECK (legacy_id > 0),
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false
);

CREATE TABLE catalog.category_store (
    category uuid NOT NULL REFERENCES catalog.category ON DELETE CASCADE,
    store_code text COLLATE "C" NOT NULL REFERENCES catalog.store,
    legacy_id bigint NOT NULL,
    parent_id bigint,
    name text,
    is_active boolean,
    position integer,
    level integer,
    -- Ancestor ids joined by '/', ending with the category's own id ('1/2/42').
    path text COLLATE "C" NOT NULL,
    include_in_menu boolean,
    is_anchor boolean NOT NULL DEFAULT false,
    created_at timestamp,
    updated_at timestamp,
    attrs jsonb NOT NULL DEFAULT '{}',
    document json NOT NULL,
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL,
    PRIMARY KEY (category, store_code)
);
CREATE UNIQUE INDEX category_store_id ON catalog.category_store (store_code, legacy_id);
CREATE INDEX category_store_path ON catalog.category_store (store_code, path text_pattern_ops);
CREATE INDEX category_store_parent ON catalog.category_store (store_code, parent_id, position);
CREATE INDEX category_store_name ON catalog.category_store (store_code, lower(name) text_pattern_ops);

-- The order service's own database. Orders are keyed by the id-map UUID (`sales_order/<id>`);
-- Magento's entity id stays as a unique column. Orders have no store dimension: one document
-- each, in Magento's `OrderInterface` shape (items, addresses, payment, histories inside), kept
-- as `json` so its key order is Magento's. Ordered by source position as in the other services:
-- an older change is ignored, a delete leaves a tombstone.
CREATE TABLE sales.sales_order (
    uuid uuid PRIMARY KEY,
    legacy_id bigint NOT NULL UNIQUE CHECK (legacy_id > 0),
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false
);

-- The narrow row lists filter and sort on: the fields of Magento's order grid in columns, every
-- other scalar field of the document in `attrs` (text values), so any field of the order can be
-- filtered on as Magento's order collection allows.
CREATE TABLE sales.order_grid (
    sales_order uuid PRIMARY KEY REFERENCES sales.sales_order ON DELETE CASCADE,
    legacy_id bigint NOT NULL UNIQUE,
    increment_id text,
    store_id integer,
    customer_id bigint,
    customer_email text,
    customer_firstname text,
    customer_lastname text,
    customer_group_id integer,
    status text,
    state text,
    created_at timestamp,
    updated_at timestamp,
    grand_total numeric,
    base_grand_total numeric,
    order_currency_code text,
    attrs jsonb NOT NULL DEFAULT '{}',
    source_file bigint NOT NULL,
    source_offset bigint NOT NULL
);
-- The common searches: by increment id, by customer (id or e-mail), by status or state, by store,
-- "changed since" and "placed since" (sorted), by amount. Text compares case-insensitively, as
-- Magento's `_ci` collations do; sorted columns are ordered as MySQL orders NULLs (see the
-- catalog's 0005).
CREATE INDEX order_grid_increment ON sales.order_grid (lower(increment_id) text_pattern_ops);
CREATE INDEX order_grid_customer ON sales.order_grid (customer_id);
CREATE INDEX order_grid_email ON sales.order_grid (lower(customer_email) text_pattern_ops);
CREATE INDEX order_grid_lastname ON sales.order_grid (lower(customer_lastname) text_pattern_ops);
CREATE INDEX order_grid_status ON sales.order_grid (lower(status));
CREATE INDEX order_grid_state ON sales.order_grid (lower(state));
CREATE INDEX order_grid_store ON sales.order_grid (store_id);
CREATE INDEX order_grid_created ON sales.order_grid (created_at NULLS FIRST);
CREATE INDEX order_grid_updated ON sales.order_grid (updated_at NULLS FIRST);
CREATE INDEX order_grid_grand_total ON sales.order_grid (grand_total NULLS FIRST);
CREATE INDEX order_grid_attrs ON sales.order_grid USING gin (attrs jsonb_path_ops);

-- Documents in their own table, fetched by key for a list's page only (see the customer's 0002).
CREATE TABLE sales.order_document (
    sales_order uuid PRIMARY KEY,
    document json NOT NULL
);

-- Custom attribute codes (the lists' shared machinery asks; orders have none).
CREATE TABLE sales.attribute (
    entity text COLLATE "C" NOT NULL,
    code text COLLATE "C" NOT NULL,
    PRIMARY KEY (entity, code)
);

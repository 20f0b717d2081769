-- Lists read narrow store-view rows; documents live in their own table, fetched by key for the
-- page only.

-- A product's store-view rows exist exactly while it is not deleted (a delete removes them, a
-- newer upsert brings them back), so lists need no join with catalog.product given the legacy
-- id here.
ALTER TABLE catalog.product_store ADD COLUMN legacy_id bigint;
UPDATE catalog.product_store s SET legacy_id = p.legacy_id FROM catalog.product p
WHERE p.uuid = s.product;
ALTER TABLE catalog.product_store ALTER COLUMN legacy_id SET NOT NULL;
CREATE UNIQUE INDEX product_store_id ON catalog.product_store (store_code, legacy_id);

-- (PostgreSQL moves values out of line only from rows over about 2 kB, and documents are
-- smaller: a table of their own keeps them out of the rows that filters and sorts scan.) The
-- write API writes and deletes a document with its row; no foreign key, whose check a bulk
-- load into an empty table can plan as a scan of a whole store view.
CREATE TABLE catalog.product_document (
    product uuid NOT NULL,
    store_code text COLLATE "C" NOT NULL,
    document json NOT NULL,
    PRIMARY KEY (product, store_code)
);
INSERT INTO catalog.product_document (product, store_code, document)
SELECT product, store_code, document FROM catalog.product_store;
ALTER TABLE catalog.product_store DROP COLUMN document;

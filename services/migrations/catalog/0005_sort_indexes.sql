-- Lists sort as MySQL does: NULLs first ascending, last descending. An index ordered
-- NULLS FIRST serves both directions (read backwards, it is DESC NULLS LAST), so the indexes
-- that sorted lists walk are rebuilt that way; with a range filter on the same column (the
-- integrations' "changed since") a page is the index's next 20 entries.
DROP INDEX catalog.product_store_updated;
CREATE INDEX product_store_updated ON catalog.product_store (store_code, updated_at NULLS FIRST);
DROP INDEX catalog.product_store_created;
CREATE INDEX product_store_created ON catalog.product_store (store_code, created_at NULLS FIRST);
DROP INDEX catalog.product_store_price;
CREATE INDEX product_store_price ON catalog.product_store (store_code, price NULLS FIRST);
DROP INDEX catalog.category_store_parent;
CREATE INDEX category_store_parent
    ON catalog.category_store (store_code, parent_id, position NULLS FIRST);

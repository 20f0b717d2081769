-- Product lists (GET /V1/products?searchCriteria…).

-- The attribute codes the service has seen in custom_attributes: a filter on any other code is
-- refused as Magento refuses it ("Invalid attribute name").
CREATE TABLE catalog.attribute (
    code text COLLATE "C" PRIMARY KEY
);
INSERT INTO catalog.attribute (code)
SELECT DISTINCT jsonb_object_keys(attrs) FROM catalog.product_store
ON CONFLICT DO NOTHING;

-- Magento compares text case-insensitively: filters compare lower(column). These serve the
-- common list filters: SKU and name (equality, IN and prefix LIKE), type, attribute set, status,
-- price ranges and the integrations' "changed since" (updated_at).
CREATE INDEX product_store_sku_pattern ON catalog.product_store (store_code, lower(sku) text_pattern_ops);
CREATE INDEX product_store_name ON catalog.product_store (store_code, lower(name) text_pattern_ops);
CREATE INDEX product_store_updated ON catalog.product_store (store_code, updated_at);
CREATE INDEX product_store_created ON catalog.product_store (store_code, created_at);
CREATE INDEX product_store_price ON catalog.product_store (store_code, price);
CREATE INDEX product_store_type ON catalog.product_store (store_code, lower(type_id), status);
CREATE INDEX product_store_set ON catalog.product_store (store_code, attribute_set_id);

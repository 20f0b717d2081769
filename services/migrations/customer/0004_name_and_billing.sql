-- Magento's customer search also filters on the whole name (prefix, first, middle, last name and
-- suffix joined as its collection's addNameToSelect joins them) and on the default billing
-- address's postcode, city, telephone, region, country and company (`billing_*`).
ALTER TABLE customer.profile
    ADD COLUMN name text,
    ADD COLUMN billing_postcode text,
    ADD COLUMN billing_city text,
    ADD COLUMN billing_telephone text,
    ADD COLUMN billing_region text,
    ADD COLUMN billing_country_id text,
    ADD COLUMN billing_company text;
CREATE INDEX profile_name ON customer.profile (lower(name) text_pattern_ops);
CREATE INDEX profile_billing_postcode ON customer.profile (lower(billing_postcode) text_pattern_ops);

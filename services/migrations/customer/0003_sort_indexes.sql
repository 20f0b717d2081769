-- Sorted searches walk indexes ordered as MySQL orders NULLs (see the catalog's 0005).
DROP INDEX customer.profile_updated;
CREATE INDEX profile_updated ON customer.profile (updated_at NULLS FIRST);
DROP INDEX customer.profile_created;
CREATE INDEX profile_created ON customer.profile (created_at NULLS FIRST);

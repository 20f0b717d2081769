-- Searches read narrow rows; documents live in their own table, fetched by key for the page
-- only (PostgreSQL moves values out of line only from rows over about 2 kB). The write API
-- writes and deletes a document with its row (no foreign key: see the catalog's 0004).
CREATE TABLE customer.document (
    customer uuid PRIMARY KEY,
    document json NOT NULL
);
INSERT INTO customer.document (customer, document) SELECT customer, document FROM customer.profile;
ALTER TABLE customer.profile DROP COLUMN document;

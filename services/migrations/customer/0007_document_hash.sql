-- Each document's hash, kept by PostgreSQL itself whenever the document is written (so a document
-- changed by any means, even by hand, has the hash of what it now holds): `ficus verify` reads
-- this 8-byte column instead of hashing every stored document while it compares.
ALTER TABLE customer.document
    ADD COLUMN document_hash bigint GENERATED ALWAYS AS (hashtextextended(document::text, 0)) STORED;

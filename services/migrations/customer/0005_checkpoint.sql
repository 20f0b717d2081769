-- Where cdc-sync stands in Magento's binlog, per source, written in the same transaction as the
-- changes it applied (so a crash never loses or repeats one in effect); never moves backwards.
CREATE TABLE customer.source_checkpoint (
    source text PRIMARY KEY,
    file text NOT NULL,
    file_number bigint NOT NULL,
    position bigint NOT NULL,
    gtid text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

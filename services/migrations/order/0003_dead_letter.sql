-- Changes cdc-sync could not apply to an entity of this service (a value that does not parse,
-- a document the write API refuses), kept with where they were read and why, written in the
-- same transaction as the batch they were part of; the pipeline goes on. `cdc-sync dlq replay`
-- reads the entity again and applies it, then marks the row replayed.
CREATE TABLE sales.dead_letter (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    kind text NOT NULL,
    legacy_id bigint NOT NULL,
    file text NOT NULL,
    position bigint NOT NULL,
    error text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);
CREATE INDEX dead_letter_pending ON sales.dead_letter (id) WHERE replayed_at IS NULL;

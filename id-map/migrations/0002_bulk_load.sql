-- The first sync into an empty map loads without the map's two unique keys and builds them once
-- at the end: an index built from all rows at once costs a fraction of keeping it up row by row
-- (pgloader's way). While this table has rows, such a load is in progress: the keys are missing
-- and only `id-map sync` (which resumes it) writes to the map.
CREATE TABLE ficus_id_map.bulk_load (
    entity text COLLATE "C" PRIMARY KEY,
    -- Every id of the entity up to last_id is stored exactly once; rows above it may be a chunk
    -- committed ahead of its neighbour and are deleted when the load resumes. -1: none yet.
    last_id bigint NOT NULL DEFAULT -1,
    done boolean NOT NULL DEFAULT false
);

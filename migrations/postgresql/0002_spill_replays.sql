-- Spill files written into this database (monitoring_cog/replay.py): the table of
-- migrations/sqlite/0003_spill_replays.sql. The primary key also keeps two processes replaying
-- one spill file (a folder they share) from both committing it.
CREATE TABLE spill_replays (
    spill_id    TEXT PRIMARY KEY,
    records     BIGINT NOT NULL,
    replayed_at DOUBLE PRECISION NOT NULL
);

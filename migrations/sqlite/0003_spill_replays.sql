-- Spill files written into this database (monitoring_cog/replay.py). A spill's id is inserted in
-- the transaction that writes its records, and the file is deleted after the commit: a replay
-- interrupted between the two finds its id here on the next start and only deletes the file, so
-- no spilled record is ever written twice.
CREATE TABLE spill_replays (
    spill_id    TEXT PRIMARY KEY,
    records     INTEGER NOT NULL,
    replayed_at REAL NOT NULL
);

-- The bot's growth, bot-wide (monitoring_cog/vitals/population.py): guilds joined and left per UTC
-- day, and the day's snapshot of guild and member counts.
-- Joins and leaves are added to (several processes of one bot add to the same day).
CREATE TABLE guild_growth (
    day    TEXT    PRIMARY KEY,
    joins  INTEGER NOT NULL DEFAULT 0,
    leaves INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- One row per day and shard, replaced by each later snapshot of that day (taken_at, epoch
-- seconds), so a day keeps its latest counts. shard_count is part of the key: a bot resharded
-- during a day leaves rows of both layouts, and reports add up those of the latest only.
CREATE TABLE guild_population (
    day         TEXT    NOT NULL,
    shard_count INTEGER NOT NULL,
    shard_id    INTEGER NOT NULL,
    guilds      INTEGER NOT NULL,
    members     INTEGER NOT NULL,
    taken_at    REAL    NOT NULL,
    PRIMARY KEY (day, shard_count, shard_id)
) WITHOUT ROWID;

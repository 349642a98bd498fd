-- The bot's growth, bot-wide: the tables of migrations/sqlite/0004_guild_growth.sql.
-- Joins and leaves are added to (several processes of one bot add to the same day).
CREATE TABLE guild_growth (
    day    DATE   PRIMARY KEY,
    joins  BIGINT NOT NULL DEFAULT 0,
    leaves BIGINT NOT NULL DEFAULT 0
);

-- One row per day and shard, replaced by each later snapshot of that day (taken_at, epoch
-- seconds), so a day keeps its latest counts. shard_count is part of the key: a bot resharded
-- during a day leaves rows of both layouts, and reports add up those of the latest only.
CREATE TABLE guild_population (
    day         DATE             NOT NULL,
    shard_count INTEGER          NOT NULL,
    shard_id    INTEGER          NOT NULL,
    guilds      BIGINT           NOT NULL,
    members     BIGINT           NOT NULL,
    taken_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, shard_count, shard_id)
);

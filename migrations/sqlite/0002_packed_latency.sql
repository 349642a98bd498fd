-- command_latency holds one packed histogram per guild, day and command (a BLOB, see
-- monitoring_cog/packed_histogram.py) instead of one row per bucket. A report then reads one row
-- per day and command and sums the histograms in C, and a batch writes one row per guild, day and
-- command instead of one per bucket. A table of its own, not a column of command_stats: the
-- weekly and monthly reports read command_stats, and wider rows there slowed them.
-- No index on day: reads reach these rows from command_stats' (by primary key), so the index
-- the per-bucket table had would only cost every new row a second insert.
-- monitoring_pack_latency is an aggregate the package registers with its connections.
CREATE TABLE command_latency_packed (
    guild_id TEXT NOT NULL,
    day      TEXT NOT NULL,
    command  TEXT NOT NULL,
    latency  BLOB NOT NULL,
    PRIMARY KEY (guild_id, day, command)
) WITHOUT ROWID;

INSERT INTO command_latency_packed (guild_id, day, command, latency)
SELECT guild_id, day, command, monitoring_pack_latency(bucket, count)
FROM command_latency
GROUP BY guild_id, day, command;

DROP TABLE command_latency;

ALTER TABLE command_latency_packed RENAME TO command_latency;

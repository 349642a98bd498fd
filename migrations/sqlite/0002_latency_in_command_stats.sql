-- The latency histogram moves into command_stats: one packed histogram per guild, day and command
-- (a BLOB, see monitoring_cog/packed_histogram.py) instead of one row per bucket. A report then
-- reads one row per day and command and sums the histograms in C, and a batch writes one row per
-- guild, day and command instead of one more per bucket. monitoring_pack_latency is the aggregate
-- the package registers with its connections.
ALTER TABLE command_stats ADD COLUMN latency BLOB NOT NULL DEFAULT x'';

UPDATE command_stats SET latency = (
    SELECT monitoring_pack_latency(l.bucket, l.count)
    FROM command_latency AS l
    WHERE l.guild_id = command_stats.guild_id
      AND l.day = command_stats.day
      AND l.command = command_stats.command
);

DROP TABLE command_latency;

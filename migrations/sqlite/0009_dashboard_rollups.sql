-- Two rollups the writer keeps for the dashboard, so its server list and bot-wide command chart
-- read a few thousand rows instead of every guild's per-day rows.
--
-- guild_users: each guild's users (hashed ids, as daily_users holds them) with the last day they
-- ran a command. The distinct users of the last N days are the rows whose last_day is within
-- them: one row per guild and user, however many days they were active. Forgetting a user
-- deletes their rows here too.
CREATE TABLE guild_users (
    guild_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    last_day TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
CREATE INDEX guild_users_user ON guild_users (user_id);

INSERT INTO guild_users (guild_id, user_id, last_day)
SELECT guild_id, user_id, MAX(day) FROM daily_users GROUP BY guild_id, user_id;

-- bot_command_stats: every guild's command_stats and command_latency of a day summed per
-- command (the latency histogram packed as command_latency packs it), written in the same
-- transaction as the per-guild rows.
CREATE TABLE bot_command_stats (
    day          TEXT    NOT NULL,
    command      TEXT    NOT NULL,
    count        INTEGER NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL DEFAULT 0,
    duration_sum REAL    NOT NULL DEFAULT 0,
    latency      BLOB    NOT NULL DEFAULT x'',
    PRIMARY KEY (day, command)
) WITHOUT ROWID;

-- monitoring_sum_latency is an aggregate the package registers with its connections.
INSERT INTO bot_command_stats (day, command, count, failures, duration_sum, latency)
SELECT day, command, SUM(count), SUM(failures), SUM(duration_sum),
       COALESCE(monitoring_sum_latency(latency), x'')
FROM command_stats LEFT JOIN command_latency USING (guild_id, day, command)
GROUP BY day, command;

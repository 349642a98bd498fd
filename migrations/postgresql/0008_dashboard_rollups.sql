-- Two rollups the writer keeps for the dashboard: the tables of
-- migrations/sqlite/0009_dashboard_rollups.sql, the latency histogram one row per bucket as
-- command_latency has it.
CREATE TABLE guild_users (
    guild_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    last_day DATE NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX guild_users_user ON guild_users (user_id);

INSERT INTO guild_users (guild_id, user_id, last_day)
SELECT guild_id, user_id, MAX(day) FROM daily_users GROUP BY guild_id, user_id;

CREATE TABLE bot_command_stats (
    day          DATE             NOT NULL,
    command      TEXT             NOT NULL,
    count        BIGINT           NOT NULL DEFAULT 0,
    failures     BIGINT           NOT NULL DEFAULT 0,
    duration_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (day, command)
);

INSERT INTO bot_command_stats (day, command, count, failures, duration_sum)
SELECT day, command, SUM(count), SUM(failures), SUM(duration_sum)
FROM command_stats GROUP BY day, command;

CREATE TABLE bot_command_latency (
    day     DATE    NOT NULL,
    command TEXT    NOT NULL,
    bucket  INTEGER NOT NULL,
    count   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, command, bucket)
);

INSERT INTO bot_command_latency (day, command, bucket, count)
SELECT day, command, bucket, SUM(count) FROM command_latency GROUP BY day, command, bucket;

-- monitoring_cog schema, version 1 (SQLite).
-- Times are epoch seconds (REAL, UTC); days are 'YYYY-MM-DD' (TEXT, UTC).
-- Readable in the sqlite3 shell with e.g. datetime(executed_at, 'unixepoch').

-- Guilds, registered automatically the first time anything is recorded for them.
CREATE TABLE servers (
    guild_id   TEXT PRIMARY KEY,
    guild_name TEXT,
    first_seen REAL NOT NULL,
    last_seen  REAL NOT NULL
);

-- One row per executed command. Expires after [retention] audit_days; the rollups below stay.
CREATE TABLE audit_logs (
    id            INTEGER PRIMARY KEY,
    guild_id      TEXT    NOT NULL REFERENCES servers (guild_id),
    guild_name    TEXT,
    user_id       TEXT    NOT NULL,
    username      TEXT,
    command       TEXT    NOT NULL,
    parameters    TEXT    NOT NULL DEFAULT '{}',
    duration      REAL    NOT NULL,
    success       INTEGER NOT NULL,
    error_type    TEXT,
    error_message TEXT,
    executed_at   REAL    NOT NULL
);
CREATE INDEX audit_logs_executed_at ON audit_logs (executed_at);
CREATE INDEX audit_logs_guild_time ON audit_logs (guild_id, executed_at);
CREATE INDEX audit_logs_user ON audit_logs (user_id);

-- Daily statistics per guild (UTC days).
CREATE TABLE bot_stats (
    guild_id        TEXT    NOT NULL REFERENCES servers (guild_id),
    day             TEXT    NOT NULL,
    songs_played    INTEGER NOT NULL DEFAULT 0,
    playtime        REAL    NOT NULL DEFAULT 0,
    skips           INTEGER NOT NULL DEFAULT 0,
    pauses          INTEGER NOT NULL DEFAULT 0,
    commands        INTEGER NOT NULL DEFAULT 0,
    failed_commands INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day)
) WITHOUT ROWID;
CREATE INDEX bot_stats_day ON bot_stats (day);

-- Distinct active users per guild and day (for average and peak daily users).
CREATE TABLE daily_users (
    guild_id TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    commands INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, user_id)
) WITHOUT ROWID;
CREATE INDEX daily_users_day ON daily_users (day);
CREATE INDEX daily_users_user ON daily_users (user_id);

-- Per guild, day and command: counts and duration summary.
CREATE TABLE command_stats (
    guild_id     TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    command      TEXT    NOT NULL,
    count        INTEGER NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL DEFAULT 0,
    duration_sum REAL    NOT NULL DEFAULT 0,
    duration_min REAL    NOT NULL,
    duration_max REAL    NOT NULL,
    PRIMARY KEY (guild_id, day, command)
) WITHOUT ROWID;
CREATE INDEX command_stats_day ON command_stats (day);

-- Latency histogram per guild, day and command (see monitoring_cog/latency.py for the buckets).
CREATE TABLE command_latency (
    guild_id TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    command  TEXT    NOT NULL,
    bucket   INTEGER NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, command, bucket)
) WITHOUT ROWID;
CREATE INDEX command_latency_day ON command_latency (day);

-- Commands and failures per guild and minute, for the health check's recent error rate.
CREATE TABLE command_minutes (
    minute   INTEGER NOT NULL,
    guild_id TEXT    NOT NULL,
    commands INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, guild_id)
) WITHOUT ROWID;

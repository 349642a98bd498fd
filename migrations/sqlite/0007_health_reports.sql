-- The latest health report of each bot process, written at every health check, so the dashboard
-- lists every process (one silent for two check intervals is down) and, without the bot, shows
-- the last report it stored. ``timeline`` holds the last 100 checks as JSON [[at, status], ...].
CREATE TABLE health_reports (
    process        TEXT PRIMARY KEY,
    host           TEXT    NOT NULL,
    pid            INTEGER NOT NULL,
    shard_ids      TEXT    NOT NULL DEFAULT '[]',
    status         TEXT    NOT NULL,
    checked_at     REAL    NOT NULL,
    check_interval REAL    NOT NULL,
    report         TEXT    NOT NULL,
    timeline       TEXT    NOT NULL DEFAULT '[]'
);

-- The audit log search pages newest first by (executed_at, id) within a user or a command: an
-- index per filter walks straight to the page (the rowid is the implicit last column).
CREATE INDEX audit_logs_user_time ON audit_logs (user_id, executed_at);
DROP INDEX audit_logs_user;
CREATE INDEX audit_logs_command_time ON audit_logs (command, executed_at);
-- Failed commands only (a few in a hundred): the failures of a guild, and of the whole bot.
CREATE INDEX audit_logs_guild_failures ON audit_logs (guild_id, executed_at) WHERE success = 0;
CREATE INDEX audit_logs_failures ON audit_logs (executed_at) WHERE success = 0;

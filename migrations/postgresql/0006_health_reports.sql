-- The latest health report of each bot process: the table of
-- migrations/sqlite/0007_health_reports.sql (several processes share one PostgreSQL database).
CREATE TABLE health_reports (
    process        TEXT PRIMARY KEY,
    host           TEXT             NOT NULL,
    pid            INTEGER          NOT NULL,
    shard_ids      TEXT             NOT NULL DEFAULT '[]',
    status         TEXT             NOT NULL,
    checked_at     DOUBLE PRECISION NOT NULL,
    check_interval DOUBLE PRECISION NOT NULL,
    report         TEXT             NOT NULL,
    timeline       TEXT             NOT NULL DEFAULT '[]'
);

-- Keyset pages of the audit log search, newest first by (executed_at, id) within a user or a
-- command.
CREATE INDEX audit_logs_user_time ON audit_logs (user_id, executed_at, id);
DROP INDEX audit_logs_user;
CREATE INDEX audit_logs_command_time ON audit_logs (command, executed_at, id);
-- Failed commands only (a few in a hundred): the failures of a guild, and of the whole bot.
CREATE INDEX audit_logs_guild_failures ON audit_logs (guild_id, executed_at, id) WHERE NOT success;
CREATE INDEX audit_logs_failures ON audit_logs (executed_at, id) WHERE NOT success;

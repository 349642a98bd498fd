-- A failed command's traceback: the column of migrations/sqlite/0004_audit_tracebacks.sql.
ALTER TABLE audit_logs ADD COLUMN traceback TEXT;

-- A failed command keeps where its own code raised: the traceback's frames (file, line, function
-- and, with [privacy] store_tracebacks = "full", the source line) as Python prints them, at most
-- 20 frames (monitoring_cog/recording/frames.py). Never local variables. NULL for a success, for
-- a refusal (a check, a cooldown, a bad argument) and with store_tracebacks = "off".
ALTER TABLE audit_logs ADD COLUMN traceback TEXT;

-- Event-loop stalls (monitoring_cog/vitals/stalls.py): one row each time the event loop ran none
-- of its callbacks for [health] stall_threshold seconds or more, with the command in progress and
-- where the bot's own code held the loop. Pruned with the audit log ([retention] audit_days).
CREATE TABLE loop_stalls (
    id           INTEGER PRIMARY KEY,
    started_at   REAL NOT NULL,  -- epoch seconds: when the loop last answered before the stall
    duration     REAL NOT NULL,  -- seconds without running a callback
    command      TEXT,           -- the command in progress (its qualified name), if any
    command_kind TEXT,           -- 'prefix' or 'slash'
    guild_id     TEXT,           -- the command's guild ('dm' in a direct message)
    location     TEXT,           -- 'path:line in function' of the bot's code that held the loop
    stack        TEXT            -- the innermost frames of the bot's code, as a traceback prints
);
CREATE INDEX loop_stalls_started_at ON loop_stalls (started_at);
CREATE INDEX loop_stalls_guild_time ON loop_stalls (guild_id, started_at);

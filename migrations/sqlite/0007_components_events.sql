-- Message components (buttons, selects, modal submits) and custom events recorded by bot code
-- (monitoring_cog/recording/rollups.py). Rollups of their own, never command counts, kept like
-- the command rollups: [retention] prunes the audit log, not these.

-- Per guild, day and component: uses, failures and durations (seconds).
CREATE TABLE component_stats (
    guild_id     TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    component    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,  -- 'button', 'select' or 'modal'
    uses         INTEGER NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL DEFAULT 0,
    duration_sum REAL    NOT NULL DEFAULT 0,
    duration_max REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, component, kind)
) WITHOUT ROWID;
CREATE INDEX component_stats_day ON component_stats (day);

-- Distinct users per guild, day and component (user ids hashed under [privacy] hash_user_ids).
CREATE TABLE component_users (
    guild_id  TEXT    NOT NULL,
    day       TEXT    NOT NULL,
    component TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    uses      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, component, kind, user_id)
) WITHOUT ROWID;
CREATE INDEX component_users_day ON component_users (day);
CREATE INDEX component_users_user ON component_users (user_id);

-- Per guild, day and event name: occurrences and the sum of their values.
CREATE TABLE event_stats (
    guild_id TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    total    REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, name)
) WITHOUT ROWID;
CREATE INDEX event_stats_day ON event_stats (day);

-- Distinct users per guild, day and event name, for the events recorded with a user.
CREATE TABLE event_users (
    guild_id TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, name, user_id)
) WITHOUT ROWID;
CREATE INDEX event_users_day ON event_users (day);
CREATE INDEX event_users_user ON event_users (user_id);

-- The event names each guild keeps ([events] max_names_per_guild; later new names are counted
-- as '(other)', which is never listed here). Read when the database connects, so the bound
-- holds across restarts (monitoring_cog/recording/event_names.py).
CREATE TABLE event_names (
    guild_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (guild_id, name)
) WITHOUT ROWID;

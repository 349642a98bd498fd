-- Message components and custom events: the tables of
-- migrations/sqlite/0007_components_events.sql.
CREATE TABLE component_stats (
    guild_id     TEXT             NOT NULL,
    day          DATE             NOT NULL,
    component    TEXT             NOT NULL,
    kind         TEXT             NOT NULL,
    uses         BIGINT           NOT NULL DEFAULT 0,
    failures     BIGINT           NOT NULL DEFAULT 0,
    duration_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    duration_max DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, component, kind)
);
CREATE INDEX component_stats_day ON component_stats (day);

CREATE TABLE component_users (
    guild_id  TEXT   NOT NULL,
    day       DATE   NOT NULL,
    component TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    user_id   TEXT   NOT NULL,
    uses      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, component, kind, user_id)
);
CREATE INDEX component_users_day ON component_users (day);
CREATE INDEX component_users_user ON component_users (user_id);

CREATE TABLE event_stats (
    guild_id TEXT             NOT NULL,
    day      DATE             NOT NULL,
    name     TEXT             NOT NULL,
    count    BIGINT           NOT NULL DEFAULT 0,
    total    DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, name)
);
CREATE INDEX event_stats_day ON event_stats (day);

CREATE TABLE event_users (
    guild_id TEXT   NOT NULL,
    day      DATE   NOT NULL,
    name     TEXT   NOT NULL,
    user_id  TEXT   NOT NULL,
    count    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, name, user_id)
);
CREATE INDEX event_users_day ON event_users (day);
CREATE INDEX event_users_user ON event_users (user_id);

CREATE TABLE event_names (
    guild_id TEXT NOT NULL,
    name     TEXT NOT NULL,
    PRIMARY KEY (guild_id, name)
);

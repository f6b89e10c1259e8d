-- The first schema: configuration, the call record, agent states, routing explanations,
-- recordings, surveys, interval figures, outages and the audit log.
-- Times are timestamptz; durations are double precision seconds.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 128),
    display_name  text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'qa', 'planner', 'admin')),
    password_hash text NOT NULL,
    agent_id      text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    id           text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name         text NOT NULL,
    sip_endpoint text NOT NULL UNIQUE,
    active       boolean NOT NULL DEFAULT true
);

CREATE TABLE agent_skills (
    agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    skill    text NOT NULL,
    level    smallint NOT NULL CHECK (level BETWEEN 1 AND 10),
    PRIMARY KEY (agent_id, skill)
);

CREATE TABLE queues (
    name            text PRIMARY KEY,
    service         text NOT NULL,
    required_skills jsonb NOT NULL DEFAULT '{}',
    policy          text NOT NULL DEFAULT 'longest_idle',
    sl_target       double precision NOT NULL DEFAULT 0.8 CHECK (sl_target BETWEEN 0 AND 1),
    sl_seconds      double precision NOT NULL DEFAULT 20 CHECK (sl_seconds > 0),
    overflow_to     text,
    overflow_after_s double precision,
    priority        integer NOT NULL DEFAULT 0
);

CREATE TABLE ivr_menus (
    name       text PRIMARY KEY,
    tree       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE not_ready_reasons (
    code  text PRIMARY KEY,
    label text NOT NULL
);

CREATE TABLE calls (
    call_id        text PRIMARY KEY,
    node           text NOT NULL DEFAULT '',
    caller         text NOT NULL DEFAULT '',
    dialed         text NOT NULL DEFAULT '',
    queue          text,
    service        text,
    entered_at     timestamptz,
    queued_at      timestamptz,
    answered_at    timestamptz,
    ended_at       timestamptz,
    agent_id       text,
    outcome        text,
    wait_s         double precision,
    talk_s         double precision,
    hold_s         double precision,
    acw_s          double precision,
    ivr_path       text[] NOT NULL DEFAULT '{}',
    recording_path text,
    timeline       jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX calls_entered_at ON calls (entered_at);
CREATE INDEX calls_queue_entered ON calls (queue, entered_at);
CREATE INDEX calls_agent_entered ON calls (agent_id, entered_at);
CREATE INDEX calls_caller_entered ON calls (caller, entered_at);

CREATE TABLE call_legs (
    call_id    text NOT NULL,
    channel    text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('caller', 'agent', 'other')),
    agent_id   text,
    started_at timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at   timestamptz,
    cause      integer,
    PRIMARY KEY (call_id, channel)
);

-- One row per state an agent was in; (agent_id, started_at) is the natural key, so a replayed
-- write updates the row (its ended_at) instead of adding a second one.
CREATE TABLE agent_state_log (
    agent_id   text NOT NULL,
    started_at timestamptz NOT NULL,
    state      text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    ended_at   timestamptz,
    call_id    text NOT NULL DEFAULT '',
    PRIMARY KEY (agent_id, started_at)
);
CREATE INDEX agent_state_log_started ON agent_state_log (started_at);

CREATE TABLE routing_explanations (
    call_id text NOT NULL,
    at      timestamptz NOT NULL,
    detail  jsonb NOT NULL,
    PRIMARY KEY (call_id, at)
);

CREATE TABLE recordings (
    call_id    text PRIMARY KEY,
    path       text NOT NULL,
    duration_s double precision,
    sha256     text CHECK (sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$'),
    deleted_at timestamptz
);

CREATE TABLE survey_answers (
    call_id  text PRIMARY KEY,
    agent_id text NOT NULL DEFAULT '',
    score    smallint NOT NULL CHECK (score BETWEEN 0 AND 10),
    at       timestamptz NOT NULL
);
CREATE INDEX survey_answers_at ON survey_answers (at);

-- queue '' holds the figures of all queues together.
CREATE TABLE interval_stats (
    queue             text NOT NULL,
    interval_start    timestamptz NOT NULL,
    interval_end      timestamptz NOT NULL CHECK (interval_end > interval_start),
    offered           integer NOT NULL DEFAULT 0,
    answered          integer NOT NULL DEFAULT 0,
    abandoned         integer NOT NULL DEFAULT 0,
    short_abandoned   integer NOT NULL DEFAULT 0,
    overflowed        integer NOT NULL DEFAULT 0,
    callbacks         integer NOT NULL DEFAULT 0,
    answered_within_t integer NOT NULL DEFAULT 0,
    handled           integer NOT NULL DEFAULT 0,
    wait_answered_s   double precision NOT NULL DEFAULT 0,
    talk_s            double precision NOT NULL DEFAULT 0,
    hold_s            double precision NOT NULL DEFAULT 0,
    acw_s             double precision NOT NULL DEFAULT 0,
    figures           jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (queue, interval_start)
);

CREATE TABLE outages (
    id             bigserial PRIMARY KEY,
    area_code      text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('planned', 'unplanned')),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz,
    description_zh text NOT NULL DEFAULT '',
    description_en text NOT NULL DEFAULT '',
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX outages_area_starts ON outages (area_code, starts_at);

CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    who     text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    what    text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

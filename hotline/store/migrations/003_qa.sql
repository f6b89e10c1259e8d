-- Quality assurance (质检): versioned evaluation forms, samples with the reason each call was
-- picked, evaluations (sample, calibration and re-check), disputes, and agents' start dates
-- (the "new agent" sample). A form version is never updated: a change is a new version.
CREATE TABLE qa_forms (
    form_id    text NOT NULL CHECK (length(form_id) BETWEEN 1 AND 64),
    version    integer NOT NULL CHECK (version >= 1),
    name       text NOT NULL,
    sections   jsonb NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (form_id, version)
);

CREATE TABLE agent_start_dates (
    agent_id   text PRIMARY KEY,
    started_at timestamptz NOT NULL
);

CREATE TABLE qa_samples (
    id         bigserial PRIMARY KEY,
    since      timestamptz NOT NULL,
    until      timestamptz NOT NULL CHECK (until > since),
    percentage double precision NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    seed       bigint NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE qa_sample_calls (
    sample_id bigint NOT NULL REFERENCES qa_samples (id) ON DELETE CASCADE,
    call_id   text NOT NULL,
    agent_id  text NOT NULL,
    reasons   text[] NOT NULL,
    PRIMARY KEY (sample_id, call_id)
);

CREATE TABLE qa_evaluations (
    id           bigserial PRIMARY KEY,
    call_id      text NOT NULL,
    agent_id     text NOT NULL,
    form_id      text NOT NULL,
    form_version integer NOT NULL,
    inspector    text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('sample', 'calibration', 'recheck')),
    rechecks     bigint REFERENCES qa_evaluations (id),
    marks        jsonb NOT NULL,
    score        double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    fatal        boolean NOT NULL,
    errors       jsonb NOT NULL,
    comment      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    FOREIGN KEY (form_id, form_version) REFERENCES qa_forms (form_id, version),
    CHECK ((kind = 'recheck') = (rechecks IS NOT NULL))
);
CREATE INDEX qa_evaluations_agent ON qa_evaluations (agent_id, created_at);
CREATE INDEX qa_evaluations_call ON qa_evaluations (call_id);
CREATE UNIQUE INDEX qa_evaluations_one_recheck ON qa_evaluations (rechecks)
    WHERE rechecks IS NOT NULL;

CREATE TABLE qa_disputes (
    evaluation_id bigint PRIMARY KEY REFERENCES qa_evaluations (id),
    agent_id      text NOT NULL,
    reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    raised_at     timestamptz NOT NULL
);

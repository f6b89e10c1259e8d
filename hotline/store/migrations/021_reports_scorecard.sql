-- Reports on schedule, and the balanced scorecard's own inputs (issue #17.4, #17.5).

-- A report made every day, week or month (the centre's local calendar, Settings.utc_offset_s)
-- for the period just ended, grouped by `by`, as CSV or XLSX (hotline/reports/scheduler.py).
CREATE TABLE report_schedules (
    id         bigserial PRIMARY KEY,
    period     text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    by         text NOT NULL CHECK (by IN ('agent', 'team', 'vendor', 'centre', 'queue',
                                           'service', 'unit')),
    format     text NOT NULL CHECK (format IN ('csv', 'xlsx')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL
);

-- The reports made, kept for download. One per schedule and period: the unique key is what
-- makes a report exactly once whatever number of processes run the scheduler.
CREATE TABLE report_files (
    id           bigserial PRIMARY KEY,
    schedule_id  bigint NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    made_at      timestamptz NOT NULL,
    name         text NOT NULL,
    content      bytea NOT NULL,
    UNIQUE (schedule_id, period_start)
);

-- The monthly exam and the typing test (per agent, when taken), entered by QA or supervisors.
CREATE TABLE scorecard_scores (
    id         bigserial PRIMARY KEY,
    agent_id   text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('exam', 'typing')),
    taken_at   timestamptz NOT NULL,
    score      double precision NOT NULL CHECK (score >= 0 AND score <= 1000),
    entered_by text NOT NULL,
    entered_at timestamptz NOT NULL
);
CREATE INDEX scorecard_scores_by_time ON scorecard_scores (taken_at);

-- Conduct: rewards (points > 0) and deductions (points < 0), with the reason.
CREATE TABLE scorecard_conduct (
    id         bigserial PRIMARY KEY,
    agent_id   text NOT NULL,
    at         timestamptz NOT NULL,
    points     double precision NOT NULL CHECK (points >= -100 AND points <= 100),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    entered_by text NOT NULL,
    entered_at timestamptz NOT NULL
);
CREATE INDEX scorecard_conduct_by_time ON scorecard_conduct (at);

-- The centre's target and weight of an indicator (hotline/reports/scorecard.py has the
-- defaults a missing row leaves in place).
CREATE TABLE scorecard_targets (
    indicator  text PRIMARY KEY,
    target     double precision NOT NULL CHECK (target >= 0),
    weight     double precision NOT NULL CHECK (weight >= 0),
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL
);

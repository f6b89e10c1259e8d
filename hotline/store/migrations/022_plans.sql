-- Staffing plans (#19.3, docs/planning.md "Plans"): the agents' contracts and wishes, the
-- month plan's head count per day and queue, the draft shifts the planner builds (the week's
-- model, the day's fine-tuning) and the shifts published to agents. Days are the centre's
-- local dates; times are minutes from that day's local midnight. Every change is audited
-- (audit_log, plan.*) in the same transaction.
CREATE TABLE plan_contracts (
    agent_id           text PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    hours_week         double precision NOT NULL CHECK (hours_week >= 0 AND hours_week <= 84),
    days_off_wish      smallint[] NOT NULL DEFAULT '{}',  -- weekdays, Monday 0
    earliest_start_min integer CHECK (earliest_start_min BETWEEN 0 AND 1440),
    latest_start_min   integer CHECK (latest_start_min BETWEEN 0 AND 1440),
    updated_by         text NOT NULL,
    updated_at         timestamptz NOT NULL
);

CREATE TABLE plan_headcount (
    day        date NOT NULL,
    queue      text NOT NULL,
    agents     integer NOT NULL CHECK (agents >= 0),
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (day, queue)
);

-- The draft (what the planner works on) and the published copy (what agents and adherence
-- see): the same columns.
CREATE TABLE plan_shifts (
    day        date NOT NULL,
    agent_id   text NOT NULL,
    queue      text NOT NULL,
    start_min  integer NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    end_min    integer NOT NULL CHECK (end_min > start_min AND end_min <= 1440),
    breaks     jsonb NOT NULL DEFAULT '[]',  -- [{"start_min", "length_min", "kind"}]
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (day, agent_id)
);

CREATE TABLE plan_published (LIKE plan_shifts INCLUDING ALL);
CREATE INDEX plan_published_agent ON plan_published (agent_id, day);

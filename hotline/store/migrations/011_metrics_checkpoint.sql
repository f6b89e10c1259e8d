-- Today's realtime figures across a restart (issue #15, docs/metrics.md "Restart"): the
-- controller saves its metrics here every 30 s and at stop (one row per controller name);
-- a start restores from the row, then replays the history written after `at`.
CREATE TABLE metrics_checkpoint (
    name  text PRIMARY KEY,
    at    timestamptz NOT NULL,
    state jsonb NOT NULL
);
-- a call's after-call work read with its row (history reads, the restore)
CREATE INDEX agent_state_log_call ON agent_state_log (call_id) WHERE call_id <> '';

-- The emergency reserve (应急梯队, issue #17.7, docs/metrics.md "Emergency reserve"): per
-- queue, which team's agents get the queue's skills when its service level stays under target
-- for after_s, whether the platform applies that itself (auto) or only proposes it, and when
-- the level counts as recovered (recover_s at or over target + margin). While applied, what
-- was added (agent -> skill -> level before, 0: none) so it can be taken back after a restart.
CREATE TABLE reserve_rules (
    queue      text PRIMARY KEY REFERENCES queues (name) ON DELETE CASCADE,
    team       text NOT NULL REFERENCES teams (id),
    after_s    double precision NOT NULL CHECK (after_s >= 60 AND after_s <= 14400),
    recover_s  double precision NOT NULL CHECK (recover_s >= 60 AND recover_s <= 14400),
    margin     double precision NOT NULL DEFAULT 0.05 CHECK (margin >= 0 AND margin <= 0.5),
    auto       boolean NOT NULL DEFAULT false,
    applied_at timestamptz,
    applied_by text,
    added      jsonb
);

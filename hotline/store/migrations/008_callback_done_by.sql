-- Who recorded a work order's callback result (the agent who called back), for the
-- scorecard's "callbacks done"; empty on older rows (then the order's creator is assumed).
ALTER TABLE work_orders ADD COLUMN callback_done_by text NOT NULL DEFAULT '';

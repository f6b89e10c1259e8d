-- Work orders: optimistic concurrency and one call-back at a time (issue #14).
-- `version` grows by one on every write; an update names the version it read
-- (UPDATE ... WHERE id = $1 AND version = $2) and is refused as stale when someone wrote
-- meanwhile. `callback_placed_at`: when the last call-back was placed (the next one waits
-- for the minimum gap, Settings.work_order_callback_gap_s).
ALTER TABLE work_orders ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE work_orders ADD COLUMN callback_placed_at timestamptz;
-- "orders on its calls": from an agent's handled calls to the orders they joined
CREATE INDEX calls_agent_call ON calls (agent_id, call_id);

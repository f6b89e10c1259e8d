-- The back office (issue #14): a role of its own, and the responsible unit a back-office
-- user works for; it sees and works the work orders of that unit only
-- (hotline/work_orders/queries.py `_scope`).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('agent', 'supervisor', 'qa', 'planner', 'back_office', 'admin'));
ALTER TABLE users ADD COLUMN unit text NOT NULL DEFAULT ''
    CHECK (unit = '' OR unit ~ '^[\w.-]{1,64}$');  -- ids.UNIT_ID_PATTERN

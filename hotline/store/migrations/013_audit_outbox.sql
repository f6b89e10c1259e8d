-- Audit rows written through the writer's outbox (#15.8) carry a unique key, so a row
-- replayed after a crash or an outage is written once. Rows written directly leave it NULL
-- (NULLs never collide).
ALTER TABLE audit_log ADD COLUMN entry_key text UNIQUE;

-- Configuration through the API (issue 7): an agent's SIP secret and optional static contact
-- live with the agent, so the node's pjsip_agents.conf can be rendered from the database;
-- a user may hold several roles (HOTLINE_API_USERS allows "role+role").
ALTER TABLE agents
    ADD COLUMN secret  text NOT NULL DEFAULT '',
    ADD COLUMN contact text NOT NULL DEFAULT '';

ALTER TABLE users
    ADD COLUMN more_roles text[] NOT NULL DEFAULT '{}';

CREATE INDEX audit_log_what ON audit_log (what, at);

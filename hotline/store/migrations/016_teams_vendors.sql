-- Teams and vendors (issue #17.3): every agent belongs to a team, every team to a vendor or
-- project, own staff (自营) or outsourced (外包). Ids keep ids.GROUP_ID_PATTERN.
CREATE TABLE vendors (
    id   text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_-]{0,39}$'),
    name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    kind text NOT NULL CHECK (kind IN ('own', 'outsourced'))
);

CREATE TABLE teams (
    id        text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_-]{0,39}$'),
    name      text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    vendor_id text NOT NULL REFERENCES vendors (id)
);

-- The agents stored before teams existed: the default team of own staff
-- (hotline/centre/model.py DEFAULT_TEAM, DEFAULT_VENDOR).
INSERT INTO vendors (id, name, kind) VALUES ('own', 'Own staff', 'own');
INSERT INTO teams (id, name, vendor_id) VALUES ('main', 'Main team', 'own');
ALTER TABLE agents ADD COLUMN team_id text NOT NULL DEFAULT 'main' REFERENCES teams (id);

-- The roll-up chain agent -> team -> vendor -> centre, in one place: every report groups
-- an agent's figures by team or vendor through this view (hotline/reports/queries.py).
-- An agent's current team: history is grouped by the team the agent is in now.
CREATE VIEW agent_rollup AS
    SELECT a.id AS agent_id, t.id AS team_id, v.id AS vendor_id, v.kind AS vendor_kind
    FROM agents a JOIN teams t ON t.id = a.team_id JOIN vendors v ON v.id = t.vendor_id;

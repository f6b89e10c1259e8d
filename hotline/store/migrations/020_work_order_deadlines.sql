-- Work orders that chase their deadlines (issue #18.5).
-- Time limits per service type and unit, set through the API (audited): a row for a unit
-- overrides the service type's row for every unit (unit ''), which overrides the built-in
-- default (hotline/work_orders/model.py DEFAULT_POLICIES; the rule: model.policy_for).
CREATE TABLE work_order_limits (
    service        text NOT NULL,
    unit           text NOT NULL DEFAULT '' CHECK (unit = '' OR unit ~ '^[\w.-]{1,64}$'),
    resolve_s      double precision NOT NULL CHECK (resolve_s > 0 AND resolve_s <= 31536000),
    callback_s     double precision NOT NULL CHECK (callback_s > 0 AND callback_s <= 31536000),
    centre_after_s double precision NOT NULL
                       CHECK (centre_after_s > 0 AND centre_after_s <= 31536000),
    changed_at     timestamptz NOT NULL,
    changed_by     text NOT NULL,
    PRIMARY KEY (service, unit)
);

-- Escalation levels: 0 none, 1 the unit's supervisor, 2 the centre. An order keeps, from its
-- limits when created, how long after a missed deadline it goes on to the centre. The level
-- starts again at 0 with each deadline (the reply's callback deadline is a new one).
ALTER TABLE work_orders
    ADD COLUMN escalation_level smallint NOT NULL DEFAULT 0
        CHECK (escalation_level BETWEEN 0 AND 2),
    ADD COLUMN centre_after_s double precision NOT NULL DEFAULT 86400;
CREATE INDEX work_orders_to_escalate ON work_orders (escalation_level)
    WHERE state <> 'closed' AND state <> 'replied';

-- The inboxes of the levels: one row per order, deadline and level (the key makes it once,
-- whatever number of processes run the job).
CREATE TABLE work_order_escalations (
    order_id  bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    deadline  text NOT NULL CHECK (deadline IN ('resolve', 'callback')),
    level     smallint NOT NULL CHECK (level IN (1, 2)),
    unit      text NOT NULL,          -- the order's unit when it was escalated
    due_at    timestamptz NOT NULL,   -- the deadline that was missed
    at        timestamptz NOT NULL,   -- when the job escalated it
    PRIMARY KEY (order_id, deadline, level)
);
CREATE INDEX work_order_escalations_inbox ON work_order_escalations (level, at DESC);

-- Notices to customers (a deadline that will be missed), one per order and kind, with the
-- channel's result: 'pending' while it is being sent, then 'delivered' or 'failed'.
CREATE TABLE work_order_notices (
    id        bigserial PRIMARY KEY,
    order_id  bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('resolve_late')),
    channel   text NOT NULL CHECK (channel ~ '^[a-z]{1,16}$'),
    address   text NOT NULL CHECK (length(address) <= 64),
    at        timestamptz NOT NULL,
    result    text NOT NULL DEFAULT 'pending' CHECK (result IN ('pending', 'delivered', 'failed')),
    detail    text NOT NULL DEFAULT '',
    done_at   timestamptz,
    UNIQUE (order_id, kind)
);

-- One scenario, one template (一场景一模板): the order's scenario (hotline/work_orders/
-- templates.py) and the fields its template asked for.
ALTER TABLE work_orders
    ADD COLUMN scenario text NOT NULL DEFAULT '',
    ADD COLUMN details  jsonb NOT NULL DEFAULT '{}';

-- The caller's local unit (属地): the unit answering for a service type ('' = every type) in
-- an area (the accounts' area codes, migration 009).
CREATE TABLE area_units (
    area_code text NOT NULL CHECK (area_code ~ '^0[0-9]{2,3}$'),
    service   text NOT NULL DEFAULT '',
    unit      text NOT NULL CHECK (unit ~ '^[\w.-]{1,64}$'),
    PRIMARY KEY (area_code, service)
);
-- Demo: the repair crews of the demo accounts' areas (real rows come from the utility's
-- organisation; other types there go to the type's default unit).
INSERT INTO area_units (area_code, service, unit) VALUES
    ('0571', 'fault', 'hangzhou_repair'),
    ('010', 'fault', 'beijing_repair'),
    ('021', 'fault', 'shanghai_repair')
ON CONFLICT DO NOTHING;

-- Complaints reviewed by the responsible specialty ("1+1+1", hotline/work_orders/
-- complaints.py): one review per complaint; a substantiated one gets a rectification sheet
-- (整改单) signed off by the responsible unit, the specialty and the centre.
CREATE TABLE complaint_reviews (
    order_id     bigint PRIMARY KEY REFERENCES work_orders (id) ON DELETE CASCADE,
    specialty    text NOT NULL,
    reviewer     text NOT NULL,
    substantiated boolean NOT NULL,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 10000),
    at           timestamptz NOT NULL
);
CREATE TABLE rectifications (
    order_id   bigint PRIMARY KEY REFERENCES work_orders (id) ON DELETE CASCADE,
    measures   text NOT NULL CHECK (length(measures) BETWEEN 1 AND 10000),
    due_at     timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL
);
CREATE TABLE rectification_signoffs (
    order_id bigint NOT NULL REFERENCES rectifications (order_id) ON DELETE CASCADE,
    part     text NOT NULL CHECK (part IN ('unit', 'specialty', 'centre')),
    who      text NOT NULL,
    at       timestamptz NOT NULL,
    PRIMARY KEY (order_id, part)
);

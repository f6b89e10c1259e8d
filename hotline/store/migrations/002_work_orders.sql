-- Work orders (工单) and the calls linked to them (a repeat call joins the open order).
CREATE TABLE work_orders (
    id               bigserial PRIMARY KEY,
    service          text NOT NULL,
    caller           text NOT NULL CHECK (length(caller) <= 64),
    created_at       timestamptz NOT NULL,
    created_by       text NOT NULL,
    description      text NOT NULL CHECK (length(description) BETWEEN 1 AND 10000),
    account          text NOT NULL DEFAULT '',
    area             text NOT NULL DEFAULT '',
    priority         integer NOT NULL DEFAULT 0,
    state            text NOT NULL CHECK (state IN ('created', 'dispatched', 'accepted',
                         'in_progress', 'replied', 'callback_due', 'closed')),
    unit             text NOT NULL DEFAULT '',
    resolve_by       timestamptz NOT NULL,
    replied_at       timestamptz,
    reply            text NOT NULL DEFAULT '',
    callback_by      timestamptz,
    callback_done_at timestamptz,
    callback_result  text NOT NULL DEFAULT '',
    closed_at        timestamptz,
    substantiated    boolean,
    final_answer     text NOT NULL DEFAULT '',
    escalated_to     text NOT NULL DEFAULT ''
);
CREATE INDEX work_orders_open_by_caller ON work_orders (caller) WHERE state <> 'closed';
CREATE INDEX work_orders_by_unit ON work_orders (unit, resolve_by) WHERE state <> 'closed';

CREATE TABLE work_order_calls (
    order_id  bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    call_id   text NOT NULL,
    position  integer NOT NULL,
    PRIMARY KEY (order_id, call_id)
);
CREATE INDEX work_order_calls_by_call ON work_order_calls (call_id);

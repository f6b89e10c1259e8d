-- Report roll-ups (issue #17.6): a year of a 260,000-call-a-day centre is 95 million calls, and
-- a month's report must come back within a second. The report figures' counts are sums over
-- disjoint time buckets (a call counts in the bucket it entered, an order's event in the
-- bucket it happened), so each 15-minute quarter's counts are kept once made, per agent,
-- queue, service, unit and the centre, and summed per local day. hotline/reports/rollup.py makes
-- them; hotline/reports/queries.py reads a quarter or a day from here when it is rolled up and
-- clean, and from the raw rows otherwise (docs/metrics.md, "Reports at scale").

-- The quarter a moment falls in (UTC, 15 minutes from the epoch).
CREATE FUNCTION report_quarter(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('15 minutes', t, timestamptz '1970-01-01 00:00:00+00');

-- When a deadline's verdict is known (hotline/reports/model.py settled_at): when met, if by
-- the limit; else the limit.
CREATE FUNCTION report_settled(done timestamptz, lim timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN done <= lim THEN done ELSE lim END;

-- Every quarter below rolled_until is rolled up, but those in report_dirty: a change to the
-- rows a quarter's counts are made of marks it (the triggers below, in the changing
-- transaction) until the roll-up job makes it again.
CREATE TABLE report_rollup_state (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    rolled_until  timestamptz,  -- NULL: nothing rolled up yet
    -- the days' rows are the centre's local days (Settings.utc_offset_s) at this offset
    day_offset_s  integer NOT NULL DEFAULT 0
);
INSERT INTO report_rollup_state (one) VALUES (true);

CREATE TABLE report_dirty (
    bucket timestamptz PRIMARY KEY
);

-- grain 900: a quarter; 86400: a local day (the sum of its 96 quarters; bucket: its start). dim: agent, queue,
-- service, centre (team and vendor: an agent's rows through agent_rollup, at read time).
-- resolved_first and repeats for each repeat window a centre may choose (12 h, 24 h).
CREATE TABLE report_call_rollup (
    grain              integer NOT NULL CHECK (grain IN (900, 86400)),
    dim                text NOT NULL,
    bucket             timestamptz NOT NULL,
    key                text NOT NULL,
    offered            bigint NOT NULL,
    answered           bigint NOT NULL,
    handled            bigint NOT NULL,
    resolved_first_12h bigint NOT NULL,
    resolved_first_24h bigint NOT NULL,
    entered            bigint NOT NULL,
    repeats_12h        bigint NOT NULL,
    repeats_24h        bigint NOT NULL,
    PRIMARY KEY (grain, dim, bucket, key)
);

-- An order's events by when they happened; dim: agent (the creator), queue (of its first
-- call), service, unit, centre.
CREATE TABLE report_order_rollup (
    grain              integer NOT NULL CHECK (grain IN (900, 86400)),
    dim                text NOT NULL,
    bucket             timestamptz NOT NULL,
    key                text NOT NULL,
    complaints         bigint NOT NULL,
    verdicts           bigint NOT NULL,
    substantiated      bigint NOT NULL,
    complaints_due     bigint NOT NULL,
    complaints_on_time bigint NOT NULL,
    callbacks_due      bigint NOT NULL,
    callbacks_on_time  bigint NOT NULL,
    callbacks_done     bigint NOT NULL,
    reports            bigint NOT NULL,
    PRIMARY KEY (grain, dim, bucket, key)
);

-- The orders a period's raw counts read, by each event's time (the report's WHERE).
CREATE INDEX work_orders_created ON work_orders (created_at);
CREATE INDEX work_orders_closed ON work_orders (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX work_orders_complaint_settled ON work_orders (report_settled(replied_at, resolve_by))
    WHERE service = 'complaint';
CREATE INDEX work_orders_callback_settled
    ON work_orders (report_settled(callback_done_at, callback_by)) WHERE callback_by IS NOT NULL;
CREATE INDEX work_orders_callback_done ON work_orders (callback_done_at)
    WHERE callback_done_at IS NOT NULL;
CREATE INDEX work_orders_reports ON work_orders (created_at) WHERE service = 'report';
CREATE INDEX work_order_calls_by_order ON work_order_calls (order_id, position);

-- The quarters an order's events fall in (the roll-up's events, hotline/reports/rollup.py).
CREATE FUNCTION report_order_quarters(service text, created_at timestamptz,
        closed_at timestamptz, replied_at timestamptz, resolve_by timestamptz,
        callback_by timestamptz, callback_done_at timestamptz) RETURNS SETOF timestamptz
    LANGUAGE sql IMMUTABLE AS $$
    SELECT report_quarter(t) FROM unnest(ARRAY[
        created_at, closed_at,
        CASE WHEN service = 'complaint' THEN report_settled(replied_at, resolve_by) END,
        CASE WHEN callback_by IS NOT NULL THEN report_settled(callback_done_at, callback_by) END,
        callback_done_at]) t WHERE t IS NOT NULL
$$;

-- Marking. ON CONFLICT DO UPDATE takes the row's lock: the roll-up job's delete of the mark
-- waits for the marking transaction, so the job then reads its rows (no lost mark).
CREATE FUNCTION report_mark_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a call's own quarter; the quarters of the number's calls within the longest repeat
    -- window either side (their first-call resolution or repeat may change); the quarters
    -- of the orders it is the call of (an order's queue is its first call's)
    INSERT INTO report_dirty (bucket)
    SELECT DISTINCT b FROM (
        SELECT report_quarter(n.entered_at) AS b FROM changed n
        UNION ALL
        SELECT report_quarter(c.entered_at) FROM changed n JOIN calls c
            ON c.caller = n.caller AND n.caller <> ''
            AND c.entered_at BETWEEN n.entered_at - interval '24 hours'
                                 AND n.entered_at + interval '24 hours'
        UNION ALL
        SELECT q FROM changed n JOIN work_order_calls l ON l.call_id = n.call_id
            JOIN work_orders o ON o.id = l.order_id, report_order_quarters(o.service, o.created_at, o.closed_at, o.replied_at, o.resolve_by, o.callback_by,
            o.callback_done_at) q
    ) x WHERE b IS NOT NULL
    ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket;
    RETURN NULL;
END $$;

CREATE FUNCTION report_mark_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (bucket)
    SELECT DISTINCT q FROM changed o, report_order_quarters(o.service, o.created_at, o.closed_at, o.replied_at, o.resolve_by, o.callback_by,
            o.callback_done_at) q
    ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket;
    RETURN NULL;
END $$;

CREATE FUNCTION report_mark_order_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (bucket)
    SELECT DISTINCT q FROM changed l JOIN work_orders o ON o.id = l.order_id,
        report_order_quarters(o.service, o.created_at, o.closed_at, o.replied_at, o.resolve_by, o.callback_by,
            o.callback_done_at) q
    ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket;
    RETURN NULL;
END $$;

-- A transition table per event (PostgreSQL allows one event per trigger that has one); an
-- update marks both its old and its new rows.
CREATE TRIGGER calls_report_insert AFTER INSERT ON calls REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls();
CREATE TRIGGER calls_report_update_new AFTER UPDATE ON calls REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls();
CREATE TRIGGER calls_report_update_old AFTER UPDATE ON calls REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls();
CREATE TRIGGER calls_report_delete AFTER DELETE ON calls REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls();

CREATE TRIGGER orders_report_insert AFTER INSERT ON work_orders
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_orders();
CREATE TRIGGER orders_report_update_new AFTER UPDATE ON work_orders
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_orders();
CREATE TRIGGER orders_report_update_old AFTER UPDATE ON work_orders
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_orders();
CREATE TRIGGER orders_report_delete AFTER DELETE ON work_orders
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_orders();

CREATE TRIGGER order_calls_report_insert AFTER INSERT ON work_order_calls
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION report_mark_order_calls();
CREATE TRIGGER order_calls_report_update AFTER UPDATE ON work_order_calls
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION report_mark_order_calls();
CREATE TRIGGER order_calls_report_delete AFTER DELETE ON work_order_calls
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION report_mark_order_calls();

-- Agent time: each quarter's closed spans clipped to it, per agent and not-ready reason
-- (reason '' for every other state), in microseconds (a timestamp's own unit: sums exact, so
-- the raw and the rolled-up totals are the same number). An open span is never rolled up:
-- a report reads the open spans (one an agent at most) from the log.
CREATE TABLE report_state_rollup (
    grain        integer NOT NULL CHECK (grain IN (900, 86400)),
    bucket       timestamptz NOT NULL,
    agent_id     text NOT NULL,
    reason       text NOT NULL,
    busy_us      bigint NOT NULL,
    available_us bigint NOT NULL,
    logged_in_us bigint NOT NULL,
    not_ready_us bigint NOT NULL,
    PRIMARY KEY (grain, bucket, agent_id, reason)
);

-- The spans over a period's raw pieces: [started, ended] overlapping (ended at least started,
-- so a bad row cannot fail a write); open spans by themselves.
CREATE INDEX agent_state_log_span ON agent_state_log USING gist (
    tstzrange(started_at, greatest(coalesce(ended_at, 'infinity'), started_at), '[]'));
CREATE INDEX agent_state_log_open ON agent_state_log (started_at) WHERE ended_at IS NULL;

-- The quarters a closed span overlaps (an open one has none: it is not rolled up).
CREATE FUNCTION report_span_quarters(started timestamptz, ended timestamptz)
    RETURNS SETOF timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT generate_series(report_quarter(started), report_quarter(ended), interval '15 minutes')
    WHERE ended IS NOT NULL AND ended >= started
$$;

CREATE FUNCTION report_mark_states() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (bucket)
    SELECT DISTINCT q FROM changed s, report_span_quarters(s.started_at, s.ended_at) q
    ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket;
    RETURN NULL;
END $$;

CREATE TRIGGER states_report_insert AFTER INSERT ON agent_state_log
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_states();
CREATE TRIGGER states_report_update_new AFTER UPDATE ON agent_state_log
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_states();
CREATE TRIGGER states_report_update_old AFTER UPDATE ON agent_state_log
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_states();
CREATE TRIGGER states_report_delete AFTER DELETE ON agent_state_log
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_mark_states();

-- Proactive outage notices (issue #18.6, docs/campaigns.md): a bounded outbound campaign per
-- outage that calls the registered numbers of the outage's area (account_phones of the
-- area's accounts) and speaks the notice; every attempt's result is kept.
CREATE TABLE outage_campaigns (
    id             bigserial PRIMARY KEY,
    outage_id      bigint REFERENCES outages (id) ON DELETE SET NULL,
    area_code      text NOT NULL CHECK (area_code ~ '^[0-9A-Za-z_-]{1,40}$'),
    state          text NOT NULL DEFAULT 'running'
                       CHECK (state IN ('running', 'done', 'cancelled')),
    -- the bounds (hotline/campaigns/model.py Bounds)
    max_numbers    integer NOT NULL CHECK (max_numbers BETWEEN 1 AND 10000),
    max_concurrent integer NOT NULL CHECK (max_concurrent BETWEEN 1 AND 20),
    calls_per_s    double precision NOT NULL CHECK (calls_per_s >= 0.01 AND calls_per_s <= 5),
    retries        integer NOT NULL CHECK (retries BETWEEN 0 AND 5),
    retry_after_s  double precision NOT NULL
                       CHECK (retry_after_s >= 1 AND retry_after_s <= 86400),
    quiet_from_h   smallint NOT NULL CHECK (quiet_from_h BETWEEN 0 AND 23),
    quiet_to_h     smallint NOT NULL CHECK (quiet_to_h BETWEEN 0 AND 23),
    -- what is spoken (built from the outage when the campaign was made)
    text_zh        text NOT NULL CHECK (length(text_zh) BETWEEN 1 AND 1000),
    text_en        text NOT NULL CHECK (length(text_en) BETWEEN 1 AND 1000),
    -- the area had more numbers than max_numbers: the rest are not called
    truncated      boolean NOT NULL DEFAULT false,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    ended_by       text NOT NULL DEFAULT '',
    ended_at       timestamptz
);
CREATE INDEX outage_campaigns_running ON outage_campaigns (id) WHERE state = 'running';

-- One row per number called: 'waiting' (its next attempt at next_at), 'calling' (an attempt
-- in flight, claimed by one process), 'done' (answered), 'unreached' (every attempt failed),
-- 'cancelled' (the campaign was cancelled before it was reached).
CREATE TABLE campaign_numbers (
    campaign_id bigint NOT NULL REFERENCES outage_campaigns (id) ON DELETE CASCADE,
    number      text NOT NULL CHECK (number ~ '^\+?[0-9]{1,32}$'),
    state       text NOT NULL DEFAULT 'waiting'
                    CHECK (state IN ('waiting', 'calling', 'done', 'unreached', 'cancelled')),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    last_result text NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, number)
);
CREATE INDEX campaign_numbers_due ON campaign_numbers (campaign_id, next_at)
    WHERE state = 'waiting';

CREATE TABLE campaign_attempts (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL,
    number      text NOT NULL,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    started_at  timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at    timestamptz,
    result      text NOT NULL DEFAULT 'pending'
                    CHECK (result IN ('pending', 'played', 'hung_up', 'no_answer', 'busy',
                                      'failed')),
    detail      text NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    FOREIGN KEY (campaign_id, number) REFERENCES campaign_numbers (campaign_id, number)
        ON DELETE CASCADE,
    UNIQUE (campaign_id, number, attempt)
);

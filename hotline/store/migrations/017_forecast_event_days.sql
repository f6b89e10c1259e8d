-- Event days of the forecast (#19.1): holidays, heat waves, typhoons... A day's forecast is
-- the normal day's times `factor`, and the day is left out when the forecast learns from the
-- history (hotline/planning/forecast.py). queue '' applies to every queue that has no row of
-- its own for that day. `day` is the centre's local date.
CREATE TABLE forecast_event_days (
    day        date NOT NULL,
    queue      text NOT NULL DEFAULT '',
    kind       text NOT NULL
               CHECK (kind IN ('holiday', 'heat_wave', 'typhoon', 'outage', 'other')),
    factor     double precision NOT NULL CHECK (factor >= 0 AND factor <= 100),
    note       text NOT NULL DEFAULT '',
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (day, queue)
);

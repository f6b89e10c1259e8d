-- Calls an agent answered that have not ended yet, as history would write them now (#15):
-- a controller killed with such calls on the line loses them with its memory, and when they
-- end while it is away nothing tells the next start of them. The next start closes each one
-- that has no ended `calls` row (hotline/history/unfinished.py); the figures checkpoint
-- purges the rows of calls that ended normally.
CREATE TABLE open_calls (
    call_id text PRIMARY KEY,
    at      timestamptz NOT NULL,
    record  jsonb NOT NULL
);

-- The providers' rate limits, shared by every replica (issue 13, item 5): one token bucket per
-- provider, so that two senders together stay within the provider's contract instead of each
-- sending at it. A sender takes a few tokens at a time (service/rate_limit.py) with one UPDATE.
-- The refill is counted on the database's clock: the one clock every replica shares; only the
-- time between two takes is read from it, never compared with the services' clock.
CREATE TABLE rate_buckets (
    provider text PRIMARY KEY,               -- smtp://host:port, kannel://host:port
    tokens   double precision NOT NULL,      -- what may be sent now (a fraction accrues)
    at       timestamptz NOT NULL,           -- when ``tokens`` was counted
    granted  integer NOT NULL DEFAULT 0      -- what the last take got (read by its RETURNING)
);

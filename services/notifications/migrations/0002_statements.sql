-- The merchants' monthly statements that clearing publishes (MonthlyStatementReady), kept as
-- notices to send; sending them arrives with a later issue. One row per statement: a statement
-- redelivered, or re-sent under a new event id, finds its row and changes nothing.
CREATE TABLE statement_notices (
    statement_id      uuid PRIMARY KEY,
    event_id          uuid NOT NULL,  -- the event that brought it, for tracing
    association_id    uuid NOT NULL,
    merchant_id       uuid NOT NULL,
    merchant_name     text NOT NULL,
    period_start      date NOT NULL,
    period_end        date NOT NULL CHECK (period_end >= period_start),
    purchases_count   integer NOT NULL,
    purchases_cents   bigint NOT NULL,
    cagnottages_cents bigint NOT NULL,
    fees_cents        bigint NOT NULL,
    redemptions_count integer NOT NULL,
    redemptions_cents bigint NOT NULL,
    -- > 0: the merchant pays the pivot; < 0: the pivot pays the merchant.
    net_cents         bigint NOT NULL,
    xlsx_path         text NOT NULL,
    csv_path          text NOT NULL,
    status            text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    received_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The back office lists them by merchant or by association, newest first.
CREATE INDEX statement_notices_merchant ON statement_notices (merchant_id, received_at DESC);
CREATE INDEX statement_notices_association ON statement_notices (association_id, received_at DESC);

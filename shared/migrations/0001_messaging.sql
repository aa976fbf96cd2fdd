-- The transactional outbox and the idempotency inbox that every service carries in its schema.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    routing_key text NOT NULL,
    -- json, not jsonb: the relay forwards the text as it was written, with no re-encoding.
    envelope    json NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE inbox (
    event_id    uuid PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Poison events, kept with their reason next to the copy sent to the dead-letter exchange.
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    event_id    text,
    queue       text NOT NULL,
    reason      text NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

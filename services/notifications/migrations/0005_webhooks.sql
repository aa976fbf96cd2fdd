-- Webhooks (issue 14, docs/webhooks.md): subscriptions of an association or a merchant to
-- event types, their signing secrets, one delivery per (subscription, occurrence) and the log
-- of every attempt.

-- The webhooks' queue has its own inbox: it takes events (statement.ready.v1) that the
-- notifications' first queue takes too, under the same event id.
CREATE TABLE webhook_inbox (
    event_id    uuid PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE webhook_subscriptions (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    merchant_id    uuid,  -- NULL: the association's subscription (its whole network)
    url            text NOT NULL,
    event_types    text[] NOT NULL CHECK (cardinality(event_types) > 0),
    description    text,
    created_at     timestamptz NOT NULL,
    deleted_at     timestamptz
);
CREATE INDEX webhook_subscriptions_live ON webhook_subscriptions (association_id)
    WHERE deleted_at IS NULL;

-- A rotation adds a secret and gives the ones before it an end: until then deliveries carry
-- a signature under each (Standard Webhooks), so a receiver can switch without a gap.
CREATE TABLE webhook_secrets (
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    secret          text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    PRIMARY KEY (subscription_id, created_at)
);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,  -- webhook-id: msg_<id without dashes>
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    occurrence_key  text NOT NULL,  -- the event's id (and transaction's): one delivery each
    event_type      text NOT NULL,
    body            text NOT NULL,  -- the JSON signed and sent, byte for byte at every attempt
    status          text NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered',
                                                    'failed')),
    due_at          timestamptz,  -- NULL once delivered or failed
    lease_until     timestamptz,  -- a claim: the job that took it holds it until then
    attempts        integer NOT NULL DEFAULT 0,  -- in all
    round_attempts  integer NOT NULL DEFAULT 0,  -- since the round began (first try, replay)
    round_started_at timestamptz NOT NULL,
    last_status     integer,  -- the last answer's HTTP status (NULL: no answer)
    last_error      text,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    failed_at       timestamptz,
    UNIQUE (subscription_id, occurrence_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_of ON webhook_deliveries (subscription_id, created_at DESC);

CREATE TABLE webhook_attempts (
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL,
    status      integer,  -- the HTTP status answered; NULL: no answer (refused, timed out)
    error       text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

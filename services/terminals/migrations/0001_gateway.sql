CREATE TABLE terminals (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    shop_id        uuid NOT NULL,
    label          text NOT NULL,
    -- The HMAC key shared with the device; kept in clear because verifying needs it.
    secret         text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Single-use request nonces within the signature window (pruned after it).
CREATE TABLE nonces (
    terminal_id uuid NOT NULL,
    nonce       text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (terminal_id, nonce)
);
CREATE INDEX nonces_seen_at ON nonces (seen_at);

-- Every sale, redemption and enrolment a terminal sent, keyed by the id the terminal chose:
-- a retry with the same id and body gets the same answer, never a second booking.
CREATE TABLE requests (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('sale', 'redemption', 'enrolment')),
    terminal_id uuid NOT NULL REFERENCES terminals (id),
    body_sha256 bytea NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'refused')),
    http_status integer,
    outcome     jsonb,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    decided_at  timestamptz
);

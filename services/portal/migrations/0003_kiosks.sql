-- The shop's kiosk (F27, docs/kiosk.md): a screen a manager set up for their shop, the card
-- last presented at it, and the short codes a cardholder's space shows to type at one.
-- Every secret is kept as its SHA-256, never as itself.

-- A kiosk: its page's cookie and its reader's key, each hashed; bound to one merchant.
CREATE TABLE kiosks (
    id              uuid PRIMARY KEY,
    association_id  uuid NOT NULL,
    merchant_id     uuid NOT NULL,
    cookie_hash     bytea NOT NULL UNIQUE,
    key_hash        bytea NOT NULL UNIQUE,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX kiosks_merchant ON kiosks (merchant_id);

-- What the kiosk shows now: one account, until a few seconds after it was presented. A
-- newer card replaces it; the row names the account only while it is shown.
CREATE TABLE kiosk_shown (
    kiosk_id        uuid PRIMARY KEY REFERENCES kiosks (id) ON DELETE CASCADE,
    account_id      uuid NOT NULL,
    shown_at        timestamptz NOT NULL,
    shown_until     timestamptz NOT NULL
);

-- A cardholder's kiosk code: one live code per account (a new one replaces it), single
-- use, minutes long; its hash is bound to the association (a code of A means nothing in B).
CREATE TABLE kiosk_codes (
    account_id      uuid PRIMARY KEY,
    association_id  uuid NOT NULL,
    code_hash       bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX kiosk_codes_hash ON kiosk_codes (code_hash);

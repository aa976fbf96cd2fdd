CREATE TABLE associations (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    rate_mode       text NOT NULL CHECK (rate_mode IN ('network', 'merchant')),
    taux_client_bps integer NOT NULL CHECK (taux_client_bps BETWEEN 0 AND 10000),
    taux_uc_bps     integer NOT NULL CHECK (taux_uc_bps BETWEEN 0 AND 10000),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE merchants (
    id              uuid PRIMARY KEY,
    association_id  uuid NOT NULL REFERENCES associations (id),
    name            text NOT NULL,
    taux_client_bps integer CHECK (taux_client_bps BETWEEN 0 AND 10000),
    taux_uc_bps     integer CHECK (taux_uc_bps BETWEEN 0 AND 10000),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id                 uuid PRIMARY KEY,
    association_id     uuid NOT NULL REFERENCES associations (id),
    phone              text NOT NULL,
    email              text,
    first_name         text,
    last_name          text,
    -- A cache of the sum of the account's entries, updated in the same transaction.
    balance_cents      bigint NOT NULL DEFAULT 0 CHECK (balance_cents >= 0),
    opened_by_merchant uuid NOT NULL,
    opened_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (association_id, phone)
);

-- The cagnotte ledger: append-only; a correction is a new entry.
CREATE TABLE cagnotte_entries (
    id                  bigserial PRIMARY KEY,
    account_id          uuid NOT NULL REFERENCES accounts (id),
    kind                text NOT NULL CHECK (kind IN ('cagnottage', 'decagnottage')),
    -- The sale or redemption: one entry per kind and reference, whatever is redelivered.
    reference_id        uuid NOT NULL,
    amount_cents        bigint NOT NULL,
    balance_after_cents bigint NOT NULL CHECK (balance_after_cents >= 0),
    purchase_cents      bigint,
    product_family      text,
    taux_client_bps     integer,
    merchant_id         uuid NOT NULL,
    shop_id             uuid NOT NULL,
    terminal_id         uuid NOT NULL,
    occurred_at         timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, reference_id)
);
CREATE INDEX cagnotte_entries_account ON cagnotte_entries (account_id, id);

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the cagnotte ledger is append-only: write a correcting entry';
END $$;
CREATE TRIGGER cagnotte_entries_append_only BEFORE UPDATE OR DELETE ON cagnotte_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

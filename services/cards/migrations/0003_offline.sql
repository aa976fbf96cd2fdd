-- Issue 4: chip cards and offline terminals. Forward only.

-- A cloned card (the same transaction counter with other content) is blacklisted like a
-- stolen one, under its own status.
ALTER TABLE cards DROP CONSTRAINT cards_status_check;
ALTER TABLE cards ADD CONSTRAINT cards_status_check
    CHECK (status IN ('active', 'lost', 'stolen', 'replaced', 'cancelled', 'cloned'));

-- Every certified card transaction the cards service accepted: one row per card and counter
-- (ATC). The same (card, atc) again with the same digest is a re-send; with another digest, a
-- clone. The balances after and the deltas chain the rows by ATC: before = after - deltas
-- must be the previous ATC's after, whatever order the terminals synced them in.
CREATE TABLE card_transactions (
    card_number       text NOT NULL,
    atc               bigint NOT NULL,
    digest            bytea NOT NULL,
    transaction_id    uuid NOT NULL,  -- card_transaction_id(terminal, seq)
    terminal_id       uuid NOT NULL,
    seq               bigint NOT NULL,
    chunk_id          uuid NOT NULL,
    merchant_id       uuid NOT NULL,
    account_id        uuid NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('sale', 'redemption')),
    occurred_at       timestamptz NOT NULL,
    available_delta   bigint NOT NULL,
    pending_delta     bigint NOT NULL,
    units_delta       bigint NOT NULL,
    available_after   bigint NOT NULL,
    pending_after     bigint NOT NULL,
    units_after       bigint NOT NULL,
    visits_after      integer NOT NULL,
    window_started_at timestamptz,
    recorded_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (card_number, atc)
);
CREATE INDEX card_transactions_terminal ON card_transactions (terminal_id, seq);

-- What the checks found. A (kind, card, terminal, seq) is reported once, whatever is re-sent.
CREATE TABLE card_anomalies (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN (
        'clone', 'broken_chain', 'atc_gap', 'reward_mismatch', 'bad_certificate', 'unknown_card'
    )),
    card_number    text NOT NULL,
    atc            bigint NOT NULL,
    terminal_id    uuid NOT NULL,
    seq            bigint NOT NULL,
    transaction_id uuid NOT NULL,
    chunk_id       uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    booked         boolean NOT NULL,  -- the transaction was booked all the same
    detail         text NOT NULL,
    detected_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, card_number, terminal_id, seq)
);
CREATE INDEX card_anomalies_card ON card_anomalies (card_number, id);

-- A card's certified transactions are booked as the card made them, in the order they are
-- synced: a redemption at one shop may arrive before the sale at another that funded it, so
-- the running balance of an account may be below zero until the sale arrives. The card never
-- went below zero (it refuses to), and the deltas commute.
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_no_overdraft;
ALTER TABLE cagnotte_entries ADD COLUMN card_atc bigint;
ALTER TABLE cagnotte_entries ADD CONSTRAINT cagnotte_entries_no_overdraft
    CHECK (balance_after_cents >= 0 OR amount_cents >= 0 OR kind = 'adjustment'
           OR card_atc IS NOT NULL);

-- The parameters last published for each merchant's terminals, so that a rules_version
-- that changes nothing for a merchant publishes nothing for it.
CREATE TABLE terminal_parameters (
    merchant_id   uuid PRIMARY KEY,
    rules_version bigint NOT NULL,
    digest        bytea NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE terminal_parameters_checked (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rules_version bigint NOT NULL
);

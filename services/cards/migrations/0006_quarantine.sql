-- Issue 11 (findings 3, 10, 12): offline card transactions that fail a server check are held,
-- not booked. Forward only.

-- One row per journal line held: (terminal, seq) is its identity, as card_transaction_id.
-- The line is kept as the terminal sent it (``line``) with its chunk's context, so that an
-- approval books it through the same path as a chunk, and a rejection records what the card
-- claimed against what the server holds.
CREATE TABLE card_quarantine (
    id               bigserial PRIMARY KEY,
    transaction_id   uuid NOT NULL UNIQUE,  -- card_transaction_id(terminal, seq)
    association_id   uuid NOT NULL,         -- the terminal's (the chunk's)
    merchant_id      uuid NOT NULL,
    shop_id          uuid NOT NULL,
    terminal_id      uuid NOT NULL,
    seq              bigint NOT NULL,
    chunk_id         uuid NOT NULL,
    event_id         uuid NOT NULL,         -- the CardTransactionsSynced that carried it
    params_version   bigint,                -- the parameters the terminal said it used
    card_number      text NOT NULL,
    atc              bigint NOT NULL,
    kind             text NOT NULL,
    amount_cents     bigint NOT NULL,
    occurred_at      text NOT NULL,         -- as sent: a line may be held for its date
    reasons          text[] NOT NULL CHECK (cardinality(reasons) > 0),
    detail           text NOT NULL,
    line             jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'held'
                     CHECK (status IN ('held', 'approved', 'rejected')),
    held_at          timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_by       text,
    decision_reason  text,
    card_blocked     boolean,
    -- At a rejection: what the card claims after this line, and what the server holds.
    card_claims      jsonb,
    server_holds     jsonb,
    CHECK ((status = 'held') = (decided_at IS NULL))
);
CREATE INDEX card_quarantine_association ON card_quarantine (association_id, id);
CREATE INDEX card_quarantine_terminal ON card_quarantine (terminal_id, seq);

-- The anomaly list also names what only a quarantine can say.
ALTER TABLE card_anomalies DROP CONSTRAINT card_anomalies_kind_check;
ALTER TABLE card_anomalies ADD CONSTRAINT card_anomalies_kind_check CHECK (kind IN (
    'clone', 'broken_chain', 'atc_gap', 'reward_mismatch', 'bad_certificate', 'unknown_card',
    'card_of_another_association', 'card_not_accepted', 'card_blocked', 'card_expired',
    'card_dormant', 'occurred_in_future', 'occurred_too_long_ago', 'occurred_before_books_start',
    'unprocessable'
));

-- Every parameters document published, per merchant and rules_version: a terminal's reward is
-- checked against the rules of the version it was using (one that synced before a rate change
-- is not at fault), which is the newest document at or below that version.
CREATE TABLE terminal_parameters_history (
    merchant_id   uuid NOT NULL,
    rules_version bigint NOT NULL,
    document      jsonb NOT NULL,
    PRIMARY KEY (merchant_id, rules_version)
);

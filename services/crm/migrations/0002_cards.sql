-- Issue 3: cancelled sales and the card numbers of a customer. Forward only.

-- A cancelled sale (F16) stays in the history, marked; it no longer counts in the counters.
-- A cancellation that arrives before its sale leaves a placeholder visit, already cancelled,
-- which the sale later fills in without counting it.
ALTER TABLE visits ADD COLUMN cancelled_at timestamptz;

-- The cards of a customer, for the statements' detail lines (F18); a replacement card names
-- the card it replaces.
CREATE TABLE customer_cards (
    card_number text PRIMARY KEY,
    account_id  uuid NOT NULL,
    issued_at   timestamptz NOT NULL,
    replaces    text
);
CREATE INDEX customer_cards_account ON customer_cards (account_id, issued_at);

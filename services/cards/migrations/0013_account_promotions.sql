-- Issue 13, item 4: a promotion of one account (crm's birthday offer: a rate multiplied for N
-- days), asked for by crm with an id it derives (the same id again is a retry). Not part of
-- the rule books (rules_version): a sale's batch reads those of its accounts live at its
-- sales, and the rules engine combines them with the catalogue's promotions.
CREATE TABLE account_promotions (
    id                     uuid PRIMARY KEY,
    account_id             uuid NOT NULL REFERENCES accounts (id),
    -- None: at every merchant where the account's card type earns; else at this one only.
    merchant_id            uuid REFERENCES merchants (id),
    reason                 text NOT NULL CHECK (reason IN ('birthday')),
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    multiplier_numerator   integer NOT NULL,
    multiplier_denominator integer NOT NULL,
    created_at             timestamptz NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (multiplier_numerator > multiplier_denominator AND multiplier_denominator > 0)
);
CREATE INDEX account_promotions_by_account ON account_promotions (account_id, ends_at);

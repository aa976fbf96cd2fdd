-- The compte pivot of each association as a double-entry ledger. Postings are signed cents:
-- positive = debit, negative = credit; the postings of one journal entry sum to zero.
CREATE TABLE ledger_accounts (
    id             bigserial PRIMARY KEY,
    association_id uuid NOT NULL,
    -- merchant: the merchant's position at the pivot (debit balance = the merchant owes);
    -- customer_liability: rewards owed to cardholders; operator_fees: the operator's taux UC.
    kind           text NOT NULL CHECK (kind IN ('merchant', 'customer_liability', 'operator_fees')),
    merchant_id    uuid,
    UNIQUE NULLS NOT DISTINCT (association_id, kind, merchant_id),
    CHECK ((kind = 'merchant') = (merchant_id IS NOT NULL))
);

CREATE TABLE journal_entries (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('accrual', 'redemption')),
    -- The sale or redemption booked: once per kind, whatever is redelivered.
    reference_id   uuid NOT NULL,
    event_id       uuid NOT NULL,
    association_id uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    purchase_cents bigint,
    occurred_at    timestamptz NOT NULL,
    booked_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, reference_id)
);

CREATE TABLE postings (
    id           bigserial PRIMARY KEY,
    entry_id     bigint NOT NULL REFERENCES journal_entries (id),
    account_id   bigint NOT NULL REFERENCES ledger_accounts (id),
    amount_cents bigint NOT NULL CHECK (amount_cents <> 0)
);
CREATE INDEX postings_account ON postings (account_id);
CREATE INDEX postings_entry ON postings (entry_id);

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: book a correcting entry';
END $$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

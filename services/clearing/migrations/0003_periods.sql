-- Issue 5: monthly periods, statements, partnerships and settlements (F17-F19).

-- Partner associations (F19) and the pivot's bank account have accounts of their own.
ALTER TABLE ledger_accounts ADD COLUMN partner_id uuid;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_association_id_kind_merchant_id_key;
ALTER TABLE ledger_accounts
    ADD CONSTRAINT ledger_accounts_key UNIQUE NULLS NOT DISTINCT
        (association_id, kind, merchant_id, partner_id);
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'merchant', 'customer_liability', 'operator_fees', 'customer_funds',
    'forfeited', 'adjustments', 'opening_balances', 'vouchers',
    'partner',  -- what the pivot owes a partner association
    'bank'      -- the pivot's bank account: collections in, transfers out
));
ALTER TABLE ledger_accounts
    ADD CONSTRAINT ledger_accounts_partner CHECK ((kind = 'partner') = (partner_id IS NOT NULL));

ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN (
    'accrual', 'pending_expired', 'redemption', 'stored_value_spend', 'reversal',
    'adjustment', 'opening_balance', 'pending_lost', 'voucher', 'load',
    'donation',             -- a member's rewards given to a partner (reference: the movement)
    'partner_share',        -- a merchant's share of its partner members' purchases (at close)
    'merchant_adjustment',  -- a correction of a closed period (reference: the adjustment)
    'settlement'            -- a collection or a transfer of a settlement file
));

-- Each entry belongs to one monthly period of its association (the month of the Paris date it
-- occurred, or the first open month when that one is closed); the columns after it are what
-- the statements show: the ledger and the detail lines are one table, so they cannot drift.
ALTER TABLE journal_entries
    ADD COLUMN period         date,
    ADD COLUMN event_time     timestamptz,  -- when the source service made the event
    ADD COLUMN account_id     uuid,         -- the cardholder's account
    ADD COLUMN card_number    text,
    ADD COLUMN product_family text,
    ADD COLUMN amount_cents   bigint,       -- spent, returned, loaded, donated, adjusted
    ADD COLUMN reward_cents   bigint,
    ADD COLUMN fee_cents      bigint,
    ADD COLUMN merchant_cents bigint NOT NULL DEFAULT 0,  -- its posting on merchant_id's account
    ADD COLUMN partner_id     uuid,
    ADD COLUMN adjusts_period date,         -- the closed period a merchant_adjustment corrects
    ADD COLUMN note           text;

-- Entries booked before this migration: their period and the merchant's posting, once.
ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only;
UPDATE journal_entries e SET
    period = date_trunc('month', e.occurred_at AT TIME ZONE 'Europe/Paris')::date,
    event_time = e.booked_at,
    merchant_cents = coalesce((
        SELECT sum(p.amount_cents) FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
        WHERE p.entry_id = e.id AND a.kind = 'merchant' AND a.merchant_id = e.merchant_id), 0);
ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only;
ALTER TABLE journal_entries ALTER COLUMN period SET NOT NULL;
ALTER TABLE journal_entries ALTER COLUMN event_time SET NOT NULL;
ALTER TABLE journal_entries
    ADD CONSTRAINT journal_entries_period_is_month CHECK (period = date_trunc('month', period));
CREATE INDEX journal_entries_statement ON journal_entries (association_id, period, merchant_id);
CREATE INDEX journal_entries_details ON journal_entries (merchant_id, period, occurred_at);

-- The books of an association: periods up to closed_through (a month) are frozen.
CREATE TABLE books (
    association_id uuid PRIMARY KEY,
    closed_through date CHECK (closed_through = date_trunc('month', closed_through))
);

-- search_path fixed: the check is the same whoever inserts (a connection of another schema).
CREATE FUNCTION forbid_closed_period() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM books b WHERE b.association_id = NEW.association_id
                                       AND NEW.period <= b.closed_through) THEN
        RAISE EXCEPTION 'period % of association % is closed: book an adjustment',
            NEW.period, NEW.association_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journal_entries_open_period BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_closed_period();

-- What statements show of the merchants (from cards' MerchantRegistered) and of cardholders.
CREATE TABLE merchants (
    id              uuid PRIMARY KEY,
    association_id  uuid NOT NULL,
    name            text NOT NULL,
    taux_client_bps integer NOT NULL,
    taux_uc_bps     integer NOT NULL,
    created_at      timestamptz NOT NULL,
    closed_on       date
);
CREATE INDEX merchants_association ON merchants (association_id);

CREATE TABLE holders (
    account_id     uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    title          text,
    first_name     text,
    last_name      text
);

-- Bank details of the parties of a settlement: a merchant, a partner, the association (the
-- creditor of its direct debits) and the operator (paid its fees).
CREATE TABLE bank_details (
    party_kind        text NOT NULL CHECK (party_kind IN ('merchant', 'partner', 'association', 'operator')),
    party_id          uuid NOT NULL,
    holder            text NOT NULL,
    iban              text NOT NULL,
    bic               text,
    mandate_id        text,        -- a merchant's SEPA direct-debit mandate
    mandate_signed_on date,
    creditor_id       text,        -- the association's SEPA creditor identifier
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (party_kind, party_id)
);

-- F19: partner associations, the merchants' agreements with them, their members.
CREATE TABLE partners (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    name           text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE partnerships (
    merchant_id uuid NOT NULL,
    partner_id  uuid NOT NULL REFERENCES partners (id),
    rate_bps    integer NOT NULL CHECK (rate_bps BETWEEN 1 AND 10000),
    starts_on   date NOT NULL,
    ends_on     date CHECK (ends_on > starts_on),
    PRIMARY KEY (merchant_id, partner_id)
);
CREATE TABLE partner_members (
    partner_id uuid NOT NULL REFERENCES partners (id),
    account_id uuid NOT NULL,
    since      date NOT NULL,
    until      date CHECK (until > since),
    PRIMARY KEY (partner_id, account_id)
);
CREATE INDEX partner_members_account ON partner_members (account_id);

-- A closed period: its statements are frozen here, its settlement files kept.
CREATE TABLE period_closes (
    association_id uuid NOT NULL,
    period         date NOT NULL,
    closed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_by      text NOT NULL,
    PRIMARY KEY (association_id, period)
);
CREATE TABLE statements (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    period         date NOT NULL,
    figures        jsonb NOT NULL,
    net_cents      bigint NOT NULL,
    UNIQUE (merchant_id, period),
    FOREIGN KEY (association_id, period) REFERENCES period_closes (association_id, period)
);
CREATE INDEX statements_period ON statements (association_id, period);
CREATE TABLE settlements (
    id                uuid PRIMARY KEY,
    association_id    uuid NOT NULL,
    period            date NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    status            text NOT NULL CHECK (status IN ('ready', 'no_bank_details', 'nothing_due')),
    collections_count integer NOT NULL DEFAULT 0,
    collections_cents bigint NOT NULL DEFAULT 0,
    transfers_count   integer NOT NULL DEFAULT 0,
    transfers_cents   bigint NOT NULL DEFAULT 0,
    direct_debit      bytea,   -- pain.008
    credit_transfer   bytea,   -- pain.001
    held              jsonb NOT NULL DEFAULT '[]',  -- parties left out, and why
    UNIQUE (association_id, period),
    FOREIGN KEY (association_id, period) REFERENCES period_closes (association_id, period)
);

CREATE TABLE reconciliations (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ok          boolean NOT NULL,
    checks      jsonb NOT NULL
);

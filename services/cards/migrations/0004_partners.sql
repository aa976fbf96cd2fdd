-- Issue 5: merchants for the statements (closed on), partner associations and donations (F19),
-- the liability by association for clearing's reconciliation. Forward only.

-- A closed merchant stays in the books: its statements still show it, with the date.
ALTER TABLE merchants ADD COLUMN closed_on date;

-- What cards last told clearing of each merchant (MerchantRegistered), so that a change that
-- changes none of it publishes nothing, and the merchants admitted before this migration are
-- published once at the next start.
CREATE TABLE merchant_registrations (
    merchant_id     uuid PRIMARY KEY,
    association_id  uuid NOT NULL,
    merchant_name   text NOT NULL,
    taux_client_bps integer NOT NULL,
    taux_uc_bps     integer NOT NULL,
    created_at      timestamptz NOT NULL,
    closed_on       date,
    published_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The partner associations clearing registered (PartnerRegistered): cards takes donations to
-- an active one from the members of its association. No foreign key to associations: the
-- event may come before cards knows the association. updated_at is the event's time, so a
-- late redelivery of an older event does not undo a newer one.
CREATE TABLE partners (
    partner_id     uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    partner_name   text NOT NULL,
    active         boolean NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- F19: a member gives part of the available cagnotte to a partner association.
ALTER TABLE cagnotte_entries ADD COLUMN partner_id uuid;
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_kind_check;
ALTER TABLE cagnotte_entries ADD CONSTRAINT cagnotte_entries_kind_check CHECK (kind IN (
    'cagnottage',          -- a sale's reward (pending or available) or units
    'decagnottage',        -- spent at a merchant
    'threshold_transfer',  -- pending → available at the Nth visit
    'pending_expired',     -- the threshold's maximum period passed
    'pending_lost',        -- a dormant card reactivated
    'conversion',          -- points or stamps → euros
    'reversal',            -- a cancelled sale or a return
    'adjustment',          -- an audited correction
    'opening_balance',     -- a customer file import
    'voucher',             -- a gift voucher validated
    'load',                -- money loaded on a gift, prepaid or e-purse card
    'donation'             -- given to a partner association (partner_id)
));
ALTER TABLE cagnotte_entries ADD CONSTRAINT cagnotte_entries_donation_partner
    CHECK ((kind = 'donation') = (partner_id IS NOT NULL));

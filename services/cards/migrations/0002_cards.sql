-- Issue 3: programs, product families, promotions, card types and cards, blacklist, vouchers,
-- several purses per account. Forward only; 0001 stays as it was applied.

-- Any change to what a sale earns bumps this, in the same transaction: the cards service
-- recompiles its rule books when it sees a new version.
CREATE TABLE rules_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO rules_version VALUES (true, 1);

ALTER TABLE associations DROP CONSTRAINT associations_rate_mode_check;
ALTER TABLE associations ADD CONSTRAINT associations_rate_mode_check
    CHECK (rate_mode IN ('network', 'merchant', 'family'));
ALTER TABLE associations
    -- The first 6 digits of the association's card numbers (shared.rules.codes).
    ADD COLUMN issuer_prefix text UNIQUE CHECK (issuer_prefix ~ '^[0-9]{6}$'),
    -- F4: a card unused this long is treated as lost.
    ADD COLUMN dormant_after_days integer NOT NULL DEFAULT 183 CHECK (dormant_after_days > 0),
    -- The card type of cardless accounts and of cards issued without one: created with the
    -- association (kind 'association', the association's own program).
    ADD COLUMN default_card_type_id uuid;

-- F6 programs: what a card type earns, on which families, when; with the F8 visit threshold.
CREATE TABLE programs (
    id                 uuid PRIMARY KEY,
    association_id     uuid NOT NULL REFERENCES associations (id),
    name               text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('cagnotte', 'points', 'stamps')),
    families           text[],  -- NULL: the whole catalogue
    valid_from         timestamptz,
    valid_until        timestamptz,
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    points_per_euro    integer NOT NULL DEFAULT 0 CHECK (points_per_euro >= 0),
    units_per_reward   integer NOT NULL DEFAULT 0 CHECK (units_per_reward >= 0),
    reward_cents       integer NOT NULL DEFAULT 0 CHECK (reward_cents >= 0),
    threshold_visits   integer NOT NULL DEFAULT 1 CHECK (threshold_visits >= 1),
    threshold_max_days integer CHECK (threshold_max_days > 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from)
);

-- F1 card types. gift, prepaid and epurse cards hold money loaded by customers and earn
-- nothing themselves (program_id NULL); the others earn under their program.
CREATE TABLE card_types (
    id              uuid PRIMARY KEY,
    association_id  uuid NOT NULL REFERENCES associations (id),
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('association', 'generic', 'merchant', 'gift', 'prepaid', 'epurse')),
    program_id      uuid REFERENCES programs (id),
    -- The card type's own network rates; NULL: the association's.
    taux_client_bps integer CHECK (taux_client_bps BETWEEN 0 AND 10000),
    taux_uc_bps     integer CHECK (taux_uc_bps BETWEEN 0 AND 10000),
    merchant_id     uuid REFERENCES merchants (id),  -- a merchant's personal card
    validity_months integer CHECK (validity_months > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'merchant') = (merchant_id IS NOT NULL)),
    CHECK ((kind IN ('gift', 'prepaid', 'epurse')) = (program_id IS NULL))
);

-- A card type's rates at one merchant (F1: "its own rates, settable per merchant").
CREATE TABLE card_type_rates (
    card_type_id    uuid NOT NULL REFERENCES card_types (id),
    merchant_id     uuid NOT NULL REFERENCES merchants (id),
    taux_client_bps integer CHECK (taux_client_bps BETWEEN 0 AND 10000),
    taux_uc_bps     integer CHECK (taux_uc_bps BETWEEN 0 AND 10000),
    PRIMARY KEY (card_type_id, merchant_id)
);

-- Who accepts a card type besides its own association: another association (merchant_id
-- NULL: all its merchants) or one merchant. A works council's card is accepted this way.
CREATE TABLE acceptances (
    card_type_id   uuid NOT NULL REFERENCES card_types (id),
    association_id uuid NOT NULL REFERENCES associations (id),
    merchant_id    uuid REFERENCES merchants (id),
    UNIQUE NULLS NOT DISTINCT (card_type_id, association_id, merchant_id)
);

-- Each merchant's catalogue, with the legal flags of F10.
CREATE TABLE product_families (
    merchant_id     uuid NOT NULL REFERENCES merchants (id),
    code            text NOT NULL CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    label           text NOT NULL,
    taux_client_bps integer CHECK (taux_client_bps BETWEEN 0 AND 10000),
    tobacco         boolean NOT NULL DEFAULT false,
    gambling        boolean NOT NULL DEFAULT false,
    book            boolean NOT NULL DEFAULT false,
    PRIMARY KEY (merchant_id, code)
);

-- F7 promotions: the association's (merchant_id NULL) or a merchant's own.
CREATE TABLE promotions (
    id                     uuid PRIMARY KEY,
    association_id         uuid NOT NULL REFERENCES associations (id),
    merchant_id            uuid REFERENCES merchants (id),
    name                   text NOT NULL,
    families               text[],
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    taux_client_bps        integer CHECK (taux_client_bps BETWEEN 0 AND 10000),
    multiplier_numerator   integer CHECK (multiplier_numerator >= 0),
    multiplier_denominator integer CHECK (multiplier_denominator > 0),
    withdrawn_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK ((taux_client_bps IS NULL) <> (multiplier_numerator IS NULL)),
    CHECK ((multiplier_numerator IS NULL) = (multiplier_denominator IS NULL))
);

-- The associations created before this migration get their default program (a cagnotte on
-- the whole catalogue, what they earned until now) and card type.
INSERT INTO programs (id, association_id, name, kind)
    SELECT gen_random_uuid(), id, 'Cagnotte', 'cagnotte' FROM associations;
INSERT INTO card_types (id, association_id, name, kind, program_id)
    SELECT gen_random_uuid(), p.association_id, 'Carte ' || a.name, 'association', p.id
    FROM programs p JOIN associations a ON a.id = p.association_id;
UPDATE associations a SET default_card_type_id = t.id FROM card_types t WHERE t.association_id = a.id;

-- Accounts: several purses and counters; an account may have no phone (a card-only or a
-- gift card's anonymous account).
ALTER TABLE accounts ALTER COLUMN phone DROP NOT NULL;
ALTER TABLE accounts ALTER COLUMN opened_by_merchant DROP NOT NULL;
-- Only an audited adjustment may take a balance below zero: the rule is on the entries.
ALTER TABLE accounts DROP CONSTRAINT accounts_balance_cents_check;
ALTER TABLE accounts
    ADD COLUMN pending_cents      bigint NOT NULL DEFAULT 0,
    ADD COLUMN units              bigint NOT NULL DEFAULT 0,
    ADD COLUMN visits             integer NOT NULL DEFAULT 0,
    ADD COLUMN window_started_at  timestamptz,
    ADD COLUMN stored_value_cents bigint NOT NULL DEFAULT 0,
    ADD COLUMN title              text,
    ADD COLUMN birth_date         date,
    ADD COLUMN postal_code        text;

-- More identifiers of an account (F2): e-mail addresses and bank-card tokens. Phones are on
-- the account, card numbers on the cards.
CREATE TABLE account_identifiers (
    association_id uuid NOT NULL REFERENCES associations (id),
    kind           text NOT NULL CHECK (kind IN ('email', 'token')),
    value          text NOT NULL,
    account_id     uuid NOT NULL REFERENCES accounts (id),
    linked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (association_id, kind, value)
);
CREATE INDEX account_identifiers_account ON account_identifiers (account_id);

CREATE TABLE card_serials (
    association_id uuid PRIMARY KEY REFERENCES associations (id),
    next_serial    bigint NOT NULL
);

CREATE TABLE card_batches (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL REFERENCES associations (id),
    card_type_id   uuid NOT NULL REFERENCES card_types (id),
    size           integer NOT NULL CHECK (size > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards (
    number             text PRIMARY KEY CHECK (number ~ '^[0-9]{16}$'),
    association_id     uuid NOT NULL REFERENCES associations (id),
    card_type_id       uuid NOT NULL REFERENCES card_types (id),
    account_id         uuid NOT NULL REFERENCES accounts (id),
    status             text NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'lost', 'stolen', 'replaced', 'cancelled')),
    issued_at          timestamptz NOT NULL DEFAULT now(),
    issued_by_merchant uuid REFERENCES merchants (id),
    batch_id           uuid REFERENCES card_batches (id),
    first_name         text,
    last_name          text,
    expires_on         date,
    last_used_at       timestamptz,
    reactivated_at     timestamptz,
    replaced_by        text REFERENCES cards (number),
    status_changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cards_account ON cards (account_id);
CREATE INDEX cards_batch ON cards (batch_id);

-- The versioned blacklist (F4): one row per change, never edited; terminals ask for the
-- changes since the version they hold.
CREATE TABLE blacklist_changes (
    version        bigserial PRIMARY KEY,
    card_number    text NOT NULL REFERENCES cards (number),
    association_id uuid NOT NULL,
    action         text NOT NULL CHECK (action IN ('add', 'remove')),
    reason         text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX blacklist_changes_card ON blacklist_changes (card_number, version);
CREATE TRIGGER blacklist_changes_append_only BEFORE UPDATE OR DELETE ON blacklist_changes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- F11 gift vouchers of the association.
CREATE TABLE voucher_batches (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL REFERENCES associations (id),
    reason         text NOT NULL,
    value_cents    integer NOT NULL CHECK (value_cents > 0),
    expires_at     timestamptz NOT NULL,
    size           integer NOT NULL CHECK (size > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vouchers (
    code                  text PRIMARY KEY,
    batch_id              uuid NOT NULL REFERENCES voucher_batches (id),
    association_id        uuid NOT NULL REFERENCES associations (id),
    value_cents           integer NOT NULL CHECK (value_cents > 0),
    expires_at            timestamptz NOT NULL,
    validated_at          timestamptz,
    validated_by_merchant uuid REFERENCES merchants (id),
    account_id            uuid REFERENCES accounts (id),
    CHECK ((validated_at IS NULL) = (account_id IS NULL))
);
CREATE INDEX vouchers_batch ON vouchers (batch_id);

-- The ledger gains buckets (purses and counters) and new kinds of entry.
ALTER TABLE cagnotte_entries
    ADD COLUMN bucket text NOT NULL DEFAULT 'available'
        CHECK (bucket IN ('available', 'pending', 'units', 'stored_value')),
    -- A reversal names the sale it reverses.
    ADD COLUMN reverses uuid,
    -- The operator's fee of a sale, so that a return reverses it in the same proportion.
    ADD COLUMN fee_cents bigint,
    ADD COLUMN card_number text,
    ADD COLUMN actor text,
    ADD COLUMN note text;
ALTER TABLE cagnotte_entries ALTER COLUMN merchant_id DROP NOT NULL;
ALTER TABLE cagnotte_entries ALTER COLUMN shop_id DROP NOT NULL;
ALTER TABLE cagnotte_entries ALTER COLUMN terminal_id DROP NOT NULL;
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
    'load'                 -- money loaded on a gift, prepaid or e-purse card
));
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_kind_reference_id_key;
ALTER TABLE cagnotte_entries ADD CONSTRAINT cagnotte_entries_reference
    UNIQUE (kind, bucket, reference_id);
-- A debit never ends below zero, except an audited adjustment; a credit may leave a balance
-- still below zero after such an adjustment.
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_balance_after_cents_check;
ALTER TABLE cagnotte_entries ADD CONSTRAINT cagnotte_entries_no_overdraft
    CHECK (balance_after_cents >= 0 OR amount_cents >= 0 OR kind = 'adjustment');
CREATE INDEX cagnotte_entries_reverses ON cagnotte_entries (reverses) WHERE reverses IS NOT NULL;

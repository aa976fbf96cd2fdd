-- Issue 14, item 1: sponsorship (F22). Forward only.

-- Each customer's referral code, drawn once (at enrolment, or the first time it is asked
-- for) and unique within the association.
CREATE TABLE referral_codes (
    account_id     uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    code           text NOT NULL CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{8}$'),
    created_at     timestamptz NOT NULL,
    UNIQUE (association_id, code)
);

-- A programme: the rewards of sponsor and newcomer, per association (merchant_id NULL) or per
-- merchant. Each reward is an amount, a rate of the qualifying purchase, or both added; it is
-- granted at the enrolment or at the newcomer's ``purchase_number``-th purchase (in the
-- association, or at the merchant for a merchant's programme). The sponsor's rewards are
-- capped at ``cap_per_sponsor`` per calendar ``cap_period`` (Paris), the newcomer's never.
CREATE TABLE sponsorship_programmes (
    id                    uuid PRIMARY KEY,
    association_id        uuid NOT NULL,
    merchant_id           uuid,
    enabled               boolean NOT NULL,
    reward_at             text NOT NULL CHECK (reward_at IN ('enrolment', 'purchase')),
    purchase_number       integer NOT NULL CHECK (purchase_number BETWEEN 1 AND 100),
    sponsor_amount_cents  bigint NOT NULL CHECK (sponsor_amount_cents >= 0),
    sponsor_rate_bps      integer NOT NULL CHECK (sponsor_rate_bps BETWEEN 0 AND 10000),
    newcomer_amount_cents bigint NOT NULL CHECK (newcomer_amount_cents >= 0),
    newcomer_rate_bps     integer NOT NULL CHECK (newcomer_rate_bps BETWEEN 0 AND 10000),
    cap_per_sponsor       integer CHECK (cap_per_sponsor >= 0),
    cap_period            text NOT NULL CHECK (cap_period IN ('month', 'year')),
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE UNIQUE INDEX sponsorship_programmes_one_per_scope ON sponsorship_programmes
    (association_id, coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'));

-- A newcomer and their sponsor (one sponsor per newcomer, never changed). ``merchant_id``:
-- where the newcomer enrolled (its programme, if it has one, is the one that applies).
-- ``decided_at``: the rewards decided (granted or capped), so a later sale looks no more.
CREATE TABLE sponsorships (
    newcomer_id    uuid PRIMARY KEY,
    sponsor_id     uuid NOT NULL,
    association_id uuid NOT NULL,
    merchant_id    uuid,
    how            text NOT NULL CHECK (how IN ('till', 'back_office', 'link')),
    linked_at      timestamptz NOT NULL,
    decided_at     timestamptz,
    CHECK (newcomer_id <> sponsor_id)
);
CREATE INDEX sponsorships_sponsor ON sponsorships (sponsor_id);
CREATE INDEX sponsorships_association ON sponsorships (association_id, linked_at);
CREATE INDEX sponsorships_undecided ON sponsorships (newcomer_id) WHERE decided_at IS NULL;

-- The rewards decided, one per sponsorship and role (their id is the cagnotte entry's
-- reference in cards): granted (sent to cards), or capped (the sponsor's cap was reached).
CREATE TABLE sponsorship_rewards (
    id             uuid PRIMARY KEY,
    newcomer_id    uuid NOT NULL REFERENCES sponsorships (newcomer_id),
    role           text NOT NULL CHECK (role IN ('sponsor', 'newcomer')),
    account_id     uuid NOT NULL,
    association_id uuid NOT NULL,
    programme_id   uuid NOT NULL,
    funded_by      uuid,          -- the merchant whose programme it is; NULL: the association
    status         text NOT NULL CHECK (status IN ('granted', 'capped')),
    amount_cents   bigint NOT NULL CHECK (amount_cents >= 0),
    trigger        text NOT NULL CHECK (trigger IN ('enrolment', 'purchase')),
    sale_id        uuid,
    occurred_at    timestamptz NOT NULL,
    cap_period     date NOT NULL,  -- the first day of the cap's period it counts in
    UNIQUE (newcomer_id, role)
);
CREATE INDEX sponsorship_rewards_cap ON sponsorship_rewards (account_id, cap_period)
    WHERE role = 'sponsor' AND status = 'granted';

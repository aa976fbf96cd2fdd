-- Issue 14, item 2: customer status levels. A level is the association's (every merchant) or
-- one merchant's; an account holds at most one level per scope, reviewed once a day from its
-- booked sales (service/levels.py); a change bumps rules_version, so the offline terminals get
-- the cards' levels in their parameters.
CREATE TABLE levels (
    id                     uuid PRIMARY KEY,
    association_id         uuid NOT NULL REFERENCES associations (id),
    merchant_id            uuid REFERENCES merchants (id),
    code                   text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    name                   text NOT NULL,
    -- Higher is better: the account holds the highest level of its scope it qualifies for.
    rank                   integer NOT NULL CHECK (rank BETWEEN 1 AND 100),
    -- Reached by spending this much, or by this many visits, over the last window_months.
    min_spent_cents        bigint CHECK (min_spent_cents > 0),
    min_visits             integer CHECK (min_visits > 0),
    window_months          integer NOT NULL CHECK (window_months BETWEEN 1 AND 36),
    taux_client_bps        integer CHECK (taux_client_bps BETWEEN 0 AND 10000),
    multiplier_numerator   integer CHECK (multiplier_numerator > 0),
    multiplier_denominator integer CHECK (multiplier_denominator > 0),
    -- Below the thresholds for this many days before the level is taken away.
    grace_days             integer NOT NULL CHECK (grace_days BETWEEN 0 AND 366),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CHECK (min_spent_cents IS NOT NULL OR min_visits IS NOT NULL),
    CHECK ((taux_client_bps IS NULL) <> (multiplier_numerator IS NULL)),
    CHECK ((multiplier_numerator IS NULL) = (multiplier_denominator IS NULL)),
    UNIQUE NULLS NOT DISTINCT (association_id, merchant_id, code),
    UNIQUE NULLS NOT DISTINCT (association_id, merchant_id, rank)
);

CREATE TABLE account_levels (
    account_id     uuid NOT NULL REFERENCES accounts (id),
    association_id uuid NOT NULL REFERENCES associations (id),
    merchant_id    uuid REFERENCES merchants (id),  -- the level's scope: None, the association's
    level_id       uuid NOT NULL REFERENCES levels (id),
    since          timestamptz NOT NULL,
    -- The first review day the account was below its level (the grace period runs from it).
    below_since    date,
    UNIQUE NULLS NOT DISTINCT (account_id, merchant_id)
);
CREATE INDEX account_levels_by_level ON account_levels (level_id);
CREATE INDEX account_levels_by_association ON account_levels (association_id);

-- One row per association and day reviewed: a day's review runs once, whatever the replicas
-- or restarts.
CREATE TABLE level_reviews (
    association_id uuid NOT NULL REFERENCES associations (id),
    day            date NOT NULL,
    reviewed_at    timestamptz NOT NULL,
    changes        integer NOT NULL,
    PRIMARY KEY (association_id, day)
);

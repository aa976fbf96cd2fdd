-- Issue 14, items 3 and 6: the statistics (docs/statistics.md), answered from aggregates that
-- crm's statistics consumer (queue crm.statistics) keeps up to date, not from scanning sales.
-- A "day" is a day in Europe/Paris, as the statements; an hour is Paris's hour of the day.

-- The statistics queue's own inbox: it takes events crm's first queue takes too.
CREATE TABLE statistics_inbox (
    event_id    uuid PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Each fact counted once (its kind and id), and the detail lines of the exports: a member's
-- sale, a sale without a member, a return of goods, a cancelled sale, a redemption.
CREATE TABLE statistics_lines (
    kind           text NOT NULL
                   CHECK (kind IN ('sale', 'anonymous_sale', 'return', 'cancellation', 'redemption')),
    id             uuid NOT NULL,
    association_id uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    shop_id        uuid NOT NULL,
    account_id     uuid,           -- NULL: a sale without a member
    occurred_at    timestamptz NOT NULL,
    day            date NOT NULL,  -- occurred_at's day in Paris
    amount_cents   bigint NOT NULL,
    reward_cents   bigint NOT NULL DEFAULT 0,
    product_family text,
    sale_id        uuid,           -- a return's or a cancellation's sale
    PRIMARY KEY (kind, id)
);
CREATE INDEX statistics_lines_shop ON statistics_lines (shop_id, day);
CREATE INDEX statistics_lines_merchant ON statistics_lines (merchant_id, day);
CREATE INDEX statistics_lines_association ON statistics_lines (association_id, day);

-- The sums of a day, per scope: a shop, an association, the network (the nil uuid); a
-- merchant's range sums its shops' rows (merchant_id), an association's or the network's reads
-- its own (at most a row per day), never every shop's. Traffic: the sales (members' and not)
-- of each hour of the day, hour 0 first.
CREATE TABLE statistics_days (
    scope_id                uuid NOT NULL,
    day                     date NOT NULL,
    merchant_id             uuid,           -- a shop's merchant; NULL for the other scopes
    member_sales            bigint NOT NULL DEFAULT 0,
    member_sales_cents      bigint NOT NULL DEFAULT 0,
    anonymous_sales         bigint NOT NULL DEFAULT 0,
    anonymous_sales_cents   bigint NOT NULL DEFAULT 0,
    returns                 bigint NOT NULL DEFAULT 0,
    returned_cents          bigint NOT NULL DEFAULT 0,
    rewards_granted_cents   bigint NOT NULL DEFAULT 0,
    redemptions             bigint NOT NULL DEFAULT 0,
    rewards_spent_cents     bigint NOT NULL DEFAULT 0,
    sales_by_hour           bigint[] NOT NULL CHECK (cardinality(sales_by_hour) = 24),
    PRIMARY KEY (scope_id, day)
);
CREATE INDEX statistics_days_merchant ON statistics_days (merchant_id, day)
    WHERE merchant_id IS NOT NULL;

-- A member's visits and spending at a shop on a day: the customers of a range (distinct),
-- their frequency, the best and the inactive ones.
CREATE TABLE statistics_customer_days (
    shop_id        uuid NOT NULL,
    day            date NOT NULL,
    account_id     uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    association_id uuid NOT NULL,
    visits         bigint NOT NULL DEFAULT 0,
    spent_cents    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day, account_id)
);
-- Covering: a merchant's or an association's members are read from the index alone.
CREATE INDEX statistics_customer_days_merchant ON statistics_customer_days (merchant_id, day)
    INCLUDE (account_id, visits, spent_cents);
CREATE INDEX statistics_customer_days_association ON statistics_customer_days
    (association_id, day) INCLUDE (account_id, visits, spent_cents);

-- Enrolments (accounts opened) per scope and day: the network (the nil uuid), an association,
-- a merchant, or no merchant (uuid ...0001: a card issued by the back office, an import).
CREATE TABLE statistics_enrolments (
    scope_id       uuid NOT NULL,
    day            date NOT NULL,
    enrolments     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scope_id, day)
);

-- Consents in force per channel: counted from the consents, through this index.
CREATE INDEX consents_confirmed ON consents (association_id, merchant_id, channel)
    WHERE status = 'confirmed';

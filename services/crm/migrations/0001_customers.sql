CREATE TABLE customers (
    account_id           uuid PRIMARY KEY,
    association_id       uuid NOT NULL,
    phone                text,
    email                text,
    first_name           text,
    last_name            text,
    enrolled_at          timestamptz,
    enrolled_by_merchant uuid,
    visit_count          integer NOT NULL DEFAULT 0,
    total_spent_cents    bigint NOT NULL DEFAULT 0,
    last_visit_at        timestamptz
);

-- One row per sale: the visit history behind the counters.
CREATE TABLE visits (
    sale_id        uuid PRIMARY KEY,
    account_id     uuid NOT NULL,
    merchant_id    uuid NOT NULL,
    shop_id        uuid NOT NULL,
    amount_cents   bigint NOT NULL,
    product_family text,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX visits_account ON visits (account_id, occurred_at);

-- The customer as seen by one merchant of the network (per-merchant files, F20).
CREATE TABLE merchant_customers (
    account_id        uuid NOT NULL,
    merchant_id       uuid NOT NULL,
    visit_count       integer NOT NULL DEFAULT 0,
    total_spent_cents bigint NOT NULL DEFAULT 0,
    first_visit_at    timestamptz NOT NULL,
    last_visit_at     timestamptz NOT NULL,
    PRIMARY KEY (account_id, merchant_id)
);

-- Issue 13, item 4: the triggers (F23, F24). Forward only.

-- A daily run becomes resumable: each batch of its work is one transaction that locks the
-- day's row and moves ``after_account`` on; the row is ``finished_at`` once the last batch is
-- done. A replica that finds the day taken waits for the lock, then goes on where the other
-- left off (or finds it finished); a run cut short by a crash is taken up at the next check.
ALTER TABLE daily_runs
    ADD COLUMN after_account uuid,
    ADD COLUMN items         bigint NOT NULL DEFAULT 0,
    ADD COLUMN finished_at   timestamptz;
UPDATE daily_runs SET finished_at = done_at;

-- A trigger: an automatic message, configured per association (merchant_id NULL: the network's
-- scope) or per merchant. ``params`` holds what its kind needs (validated at the API).
CREATE TABLE triggers (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    merchant_id    uuid,
    kind           text NOT NULL CHECK (kind IN ('receipt', 'birthday', 'we_miss_you',
                                                 'spacing_out', 'threshold_reached')),
    channel        text NOT NULL CHECK (channel IN ('email', 'sms')),
    enabled        boolean NOT NULL,
    params         jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX triggers_one_per_scope
    ON triggers (association_id, coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'), kind);

-- The frequency cap of an association: at most ``max_messages`` marketing messages per person
-- within ``per_days`` days (every trigger and campaign of the association counts).
CREATE TABLE marketing_caps (
    association_id uuid PRIMARY KEY,
    max_messages   integer NOT NULL CHECK (max_messages >= 0),
    per_days       integer NOT NULL CHECK (per_days BETWEEN 1 AND 366),
    updated_at     timestamptz NOT NULL
);
CREATE INDEX customer_messages_marketing
    ON customer_messages (account_id, requested_at) WHERE category = 'marketing';

-- A customer who wants no digital receipt (seed 003's ticket numérique).
ALTER TABLE customers ADD COLUMN no_receipts boolean NOT NULL DEFAULT false;


-- A campaign: one-off, or a monthly newsletter (sent on ``monthly_day`` of each month by the
-- daily jobs), to a segment of an association's or a merchant's customers (``segment``: the
-- filters, validated at the API). Its messages are marketing: consent and the cap apply.
CREATE TABLE campaigns (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    merchant_id    uuid,
    channel        text NOT NULL CHECK (channel IN ('email', 'sms')),
    template       text NOT NULL,
    variables      jsonb NOT NULL DEFAULT '{}',
    segment        jsonb NOT NULL DEFAULT '{}',
    monthly_day    integer CHECK (monthly_day BETWEEN 1 AND 28),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX visits_family ON visits (account_id, product_family) WHERE cancelled_at IS NULL;
-- The campaign a message belongs to, so its statuses are read per campaign.
ALTER TABLE customer_messages ADD COLUMN campaign_id uuid;
CREATE INDEX customer_messages_campaign ON customer_messages (campaign_id, status)
    WHERE campaign_id IS NOT NULL;

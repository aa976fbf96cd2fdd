-- Issue 14, item 2: the customers' current status levels, as cards tells them
-- (account.level_changed.v1), one row per scope: the association's levels (merchant_id NULL)
-- or a merchant's. ``level_code`` NULL: the customer holds none there now (downgraded).
-- ``changed_at`` is the change's instant: a change delivered late does not undo a newer one.
CREATE TABLE customer_levels (
    account_id     uuid NOT NULL,
    association_id uuid NOT NULL,
    merchant_id    uuid,
    level_code     text,
    level_name     text,
    changed_at     timestamptz NOT NULL,
    UNIQUE NULLS NOT DISTINCT (account_id, merchant_id)
);
CREATE INDEX customer_levels_by_association ON customer_levels (association_id, level_code);

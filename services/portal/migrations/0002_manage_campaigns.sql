-- The back office's campaigns (issue 15, item 3, MANAGER; docs/merchant-back-office.md): crm
-- keeps each campaign (its segment, its text, its sending, its messages); the portal keeps
-- the name the manager gave it and whose it is, so that the back office lists a merchant's
-- campaigns and asks crm for each one's results with the manager's own scope token.
CREATE TABLE manage_campaigns (
    campaign_id     uuid PRIMARY KEY,
    association_id  uuid NOT NULL,
    merchant_id     uuid NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX manage_campaigns_merchant ON manage_campaigns (merchant_id, created_at DESC);

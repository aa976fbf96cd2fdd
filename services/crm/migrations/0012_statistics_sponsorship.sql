-- Issue 14, items 1 and 3: the sponsorship results in the statistics (docs/statistics.md).
-- Links and rewards are counted from crm's own sponsorship tables, through these indexes on
-- their times: one row per sponsored newcomer and two per sponsorship decided, a small
-- fraction of the sales, and written by crm itself (no second copy to keep in step).
CREATE INDEX sponsorships_merchant ON sponsorships (merchant_id, linked_at);
CREATE INDEX sponsorships_linked ON sponsorships (linked_at);
CREATE INDEX sponsorship_rewards_association ON sponsorship_rewards (association_id, occurred_at);
CREATE INDEX sponsorship_rewards_occurred ON sponsorship_rewards (occurred_at);

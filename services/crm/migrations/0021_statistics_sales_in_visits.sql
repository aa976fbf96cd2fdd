-- Issue 14, item 6: a member's sale is written once, as its visit. Its statistics line (0009)
-- repeated the visit's row with two more columns, under four more index entries, in the same
-- transaction: half of what the statistics cost crm.events per sale in bench/ingest
-- (docs/benchmarks.md). The visit now carries those two columns; the statement that writes it
-- names it in statistics_uncounted (kind 'sale', the sale's id), and the roll-up reads the
-- sale from visits. statistics_lines keeps the other facts: sales without a member, returns,
-- cancellations, redemptions.
ALTER TABLE visits
    ADD COLUMN association_id uuid,
    -- the reward the sale granted; NULL on a placeholder a cancellation left (0002) until its
    -- sale comes: the sale is then counted once, when it fills it
    ADD COLUMN reward_cents   bigint;

UPDATE visits v SET association_id = l.association_id, reward_cents = l.reward_cents
FROM statistics_lines l
WHERE l.kind = 'sale' AND l.id = v.sale_id;

-- Visits older than the statistics, and placeholders: their association is their customer's.
-- A sale older than the statistics and cancelled since cannot be told from a placeholder: if
-- it is ever sent again, the statistics count it then, as they would have counted it first.
UPDATE visits v SET association_id = c.association_id
FROM customers c
WHERE v.association_id IS NULL AND c.account_id = v.account_id;
UPDATE visits SET reward_cents = 0 WHERE reward_cents IS NULL AND cancelled_at IS NULL;

DELETE FROM statistics_lines WHERE kind = 'sale';
ALTER TABLE statistics_lines DROP CONSTRAINT statistics_lines_kind_check;
ALTER TABLE statistics_lines ADD CONSTRAINT statistics_lines_kind_check
    CHECK (kind IN ('anonymous_sale', 'return', 'cancellation', 'redemption'));

-- Issue 14, item 1: sponsorship rewards (F22). A reward funded by the association is owed by
-- its ``sponsorships`` account (as its gift vouchers by ``vouchers``); one funded by a
-- merchant's programme, by that merchant (its statement's "Parrainage" lines).
ALTER TABLE pivot_accounts DROP CONSTRAINT pivot_accounts_kind_check;
ALTER TABLE pivot_accounts ADD CONSTRAINT pivot_accounts_kind_check CHECK (kind IN (
    'merchant', 'customer_liability', 'operator_fees', 'customer_funds',
    'forfeited', 'adjustments', 'opening_balances', 'vouchers',
    'partner',       -- what the pivot owes a partner association
    'bank',          -- the pivot's bank account: collections in, transfers out
    'sponsorships'   -- the sponsorship rewards the association funds
));

ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN (
    'accrual', 'pending_expired', 'redemption', 'stored_value_spend', 'reversal',
    'adjustment', 'opening_balance', 'pending_lost', 'voucher', 'load',
    'donation',             -- a member's rewards given to a partner (reference: the movement)
    'partner_share',        -- a merchant's share of its partner members' purchases (at close)
    'merchant_adjustment',  -- a correction of a closed period (reference: the adjustment)
    'settlement',           -- a collection or a transfer of a settlement file
    'sponsorship'           -- a sponsorship reward (reference: the reward)
));

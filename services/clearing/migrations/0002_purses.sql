-- Issue 3: stored value apart from rewards, forfeited rewards, returns and account movements.
-- Forward only; 0001 stays as it was applied.

-- customer_funds: money customers loaded on gift, prepaid and e-purse cards (not rewards);
-- the association's own accounts: forfeited (rewards customers lost), adjustments (audited
-- corrections), opening_balances (a customer file import), vouchers (its gift vouchers).
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'merchant', 'customer_liability', 'operator_fees', 'customer_funds',
    'forfeited', 'adjustments', 'opening_balances', 'vouchers'
));

ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN (
    'accrual',             -- a sale's reward and fee (reference: the sale)
    'pending_expired',     -- pending rewards forfeited at a sale (reference: the sale)
    'redemption',          -- a décagnottage (reference: the redemption)
    'stored_value_spend',  -- stored value spent (reference: the redemption)
    'reversal',            -- a cancelled sale or a return (reference: the return)
    'adjustment',          -- the account movements (reference: the movement)
    'opening_balance',
    'pending_lost',
    'voucher',
    'load'
));

-- An adjustment or an import may come from no merchant.
ALTER TABLE journal_entries ALTER COLUMN merchant_id DROP NOT NULL;

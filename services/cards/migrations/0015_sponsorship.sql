-- Issue 14, item 1: sponsorship (F22). A sponsorship reward crm decided, credited to the
-- available cagnotte of the sponsor or the newcomer (kind ``sponsorship``, its reference the
-- reward's id, derived by crm: the same reward again is written once).
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_kind_check;
ALTER TABLE cagnotte_entries ADD CONSTRAINT cagnotte_entries_kind_check CHECK (kind IN (
    'cagnottage',          -- a sale's reward (pending or available) or units
    'decagnottage',        -- spent at a merchant
    'threshold_transfer',  -- pending → available at the Nth visit
    'pending_expired',     -- the threshold's maximum period passed
    'pending_lost',        -- a dormant card reactivated
    'conversion',          -- points or stamps → euros
    'reversal',            -- a cancelled sale or a return
    'adjustment',          -- an audited correction
    'opening_balance',     -- a customer file import
    'voucher',             -- a gift voucher validated
    'load',                -- money loaded on a gift, prepaid or e-purse card
    'donation',            -- given to a partner association (partner_id)
    'sponsorship'          -- a sponsorship reward, of the sponsor or of the newcomer
));

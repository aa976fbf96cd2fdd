-- The cagnotte's entries name their account: checked once a statement (a COPY of a batch's
-- entries) instead of by a foreign key for each row (shared migration 0004 says why).
-- Accounts are never deleted nor re-numbered: an erasure pseudonymises them.
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_account_id_fkey;
CREATE TRIGGER cagnotte_entries_referenced AFTER INSERT ON cagnotte_entries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION references_present('account_id', 'accounts', 'cagnotte_entries_account_id_fkey');
CREATE TRIGGER accounts_kept BEFORE UPDATE OF id OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION never_deleted('its cagnotte names it');

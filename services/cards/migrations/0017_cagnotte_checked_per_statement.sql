-- The cagnotte's entries name their account: checked once a statement (a COPY of a batch's
-- entries) instead of by a foreign key's query and lock for each row (clearing's migration
-- 0013 says why). Accounts are never deleted nor re-numbered (an erasure pseudonymises them):
-- guarded below, so a reference true when an entry is written stays true.
ALTER TABLE cagnotte_entries DROP CONSTRAINT cagnotte_entries_account_id_fkey;

CREATE FUNCTION cagnotte_entries_referenced() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added n
               WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = n.account_id)) THEN
        RAISE EXCEPTION 'an entry of the cagnotte names no account'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'cagnotte_entries_account_id_fkey';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER cagnotte_entries_referenced AFTER INSERT ON cagnotte_entries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION cagnotte_entries_referenced();

CREATE FUNCTION accounts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an account is never deleted nor re-numbered: its cagnotte names it';
END $$;
CREATE TRIGGER accounts_kept BEFORE UPDATE OF id OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_kept();

-- The journal's rules in the database, checked once a statement instead of once a row.
--
-- Postings are written a batch at a time (COPY, three or so a sale), after their entries, in
-- the transaction that booked them (adapters/journal.py): their two foreign keys, a query and
-- a row lock for each posting, were PostgreSQL's busiest work of a booking. They are checked
-- set-wise now (shared migration 0004). Journal entries are append-only already; pivot
-- accounts get the same guard. The closed-period row trigger goes the same way.

ALTER TABLE postings DROP CONSTRAINT postings_account_id_fkey,
                     DROP CONSTRAINT postings_entry_id_fkey;
CREATE TRIGGER postings_entry_named AFTER INSERT ON postings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION references_present('entry_id', 'journal_entries', 'postings_entry_id_fkey');
CREATE TRIGGER postings_account_named AFTER INSERT ON postings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION references_present('account_id', 'pivot_accounts', 'postings_account_id_fkey');
CREATE TRIGGER pivot_accounts_kept BEFORE UPDATE OF id OR DELETE ON pivot_accounts
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- An entry in a closed period is refused (the writer puts each in its open period, with the
-- books row held FOR SHARE: this is the second wall). Only the rows the statement inserted
-- are checked: a redelivered entry that ON CONFLICT skipped is no longer refused for its
-- period, it is simply not booked twice.
DROP TRIGGER journal_entries_open_period ON journal_entries;
DROP FUNCTION forbid_closed_period();
CREATE FUNCTION open_periods_only() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.period, n.association_id INTO bad
      FROM added n JOIN books b ON b.association_id = n.association_id
     WHERE n.period <= b.closed_through
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'period % of association % is closed: book an adjustment',
            bad.period, bad.association_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER journal_entries_open_period AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION open_periods_only();

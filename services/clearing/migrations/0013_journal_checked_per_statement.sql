-- The journal's rules in the database, checked once a statement instead of once a row.
--
-- A foreign key checks each row it guards with a query of its own and a lock on the row it
-- names; a row trigger runs its query once a row. Postings are written a batch at a time
-- (COPY, three or so a sale), after their entries, in the transaction that booked them
-- (adapters/journal.py), so the per-row checks were PostgreSQL's busiest work of a booking
-- (docs/benchmarks.md, 2026-12-07, "the database's rules once a statement"). The same rules
-- are kept for any writer, checked set-wise over the statement's new rows (a transition
-- table) before it returns: a statement that breaks one fails whole, as before.
--
-- Neither an entry nor a pivot account is ever deleted or re-numbered (journal_entries is
-- append-only; pivot_accounts gets the same guard below), so a reference true when a posting
-- is written stays true: what the keys' locks protected against cannot happen.

ALTER TABLE postings DROP CONSTRAINT postings_account_id_fkey,
                     DROP CONSTRAINT postings_entry_id_fkey;

CREATE FUNCTION postings_referenced() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added p
               WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = p.entry_id)) THEN
        RAISE EXCEPTION 'a posting names no journal entry'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'postings_entry_id_fkey';
    END IF;
    IF EXISTS (SELECT 1 FROM added p
               WHERE NOT EXISTS (SELECT 1 FROM pivot_accounts a WHERE a.id = p.account_id)) THEN
        RAISE EXCEPTION 'a posting names no pivot account'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'postings_account_id_fkey';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_referenced AFTER INSERT ON postings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION postings_referenced();

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

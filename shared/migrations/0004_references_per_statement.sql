-- A reference from the rows a statement adds to another table of the schema, checked once a
-- statement over those rows (a transition table, which COPY fills too) instead of by a foreign
-- key's query and row lock for each row: for the tables written a batch at a time on the sale
-- path (postings, the cagnotte's entries, requests, synced lines; docs/benchmarks.md,
-- 2026-12-07, "the database's rules once a statement"). In each service's schema, like the
-- outbox.
--
--   CREATE TRIGGER … AFTER INSERT ON child REFERENCING NEW TABLE AS added
--       FOR EACH STATEMENT EXECUTE FUNCTION references_present('column', 'table', 'constraint');
--
-- The named table's key is ``id``. A statement with a row naming none fails whole, with a
-- foreign key's SQLSTATE (23503) and the constraint's name. The named rows must never be
-- deleted nor re-numbered (``never_deleted`` below), so a reference true when written stays
-- true: what a foreign key's lock protects against.
CREATE FUNCTION references_present() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    missing boolean;
BEGIN
    EXECUTE format(
        'SELECT EXISTS (SELECT 1 FROM added n WHERE NOT EXISTS (SELECT 1 FROM %I r WHERE r.id = n.%I))',
        TG_ARGV[1], TG_ARGV[0]) INTO missing;
    IF missing THEN
        RAISE EXCEPTION 'a row of % names no row of % (%)', TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[2];
    END IF;
    RETURN NULL;
END $$;

-- BEFORE UPDATE OF id OR DELETE … FOR EACH ROW EXECUTE FUNCTION never_deleted('why'): rows
-- that others name by reference stay, under their id.
CREATE FUNCTION never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never deleted nor re-numbered: %', TG_TABLE_NAME, TG_ARGV[0];
END $$;

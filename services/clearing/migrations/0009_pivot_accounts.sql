-- Issue 12: the glossary's words. The accounts of the compte pivot are the pivot's accounts
-- (they were ledger_accounts), and what refuses to change the journal says "journal".
-- Nothing was deployed: no view or old name is kept.
ALTER TABLE ledger_accounts RENAME TO pivot_accounts;
ALTER SEQUENCE ledger_accounts_id_seq RENAME TO pivot_accounts_id_seq;
ALTER INDEX ledger_accounts_pkey RENAME TO pivot_accounts_pkey;
ALTER TABLE pivot_accounts RENAME CONSTRAINT ledger_accounts_key TO pivot_accounts_key;
ALTER TABLE pivot_accounts RENAME CONSTRAINT ledger_accounts_kind_check TO pivot_accounts_kind_check;
ALTER TABLE pivot_accounts RENAME CONSTRAINT ledger_accounts_check TO pivot_accounts_merchant_check;
ALTER TABLE pivot_accounts RENAME CONSTRAINT ledger_accounts_partner TO pivot_accounts_partner;

CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: book a correcting entry';
END $$;

-- A request's and a synced line's terminal, checked once a statement (a group commit of
-- requests, a chunk of lines) instead of by a foreign key's query and lock for each row
-- (clearing's migration 0013 says why). Terminals are never deleted nor re-numbered (a
-- terminal is revoked, its rows kept): guarded below, so a reference true when a row is
-- written stays true.
ALTER TABLE requests DROP CONSTRAINT requests_terminal_id_fkey;
ALTER TABLE offline_transactions DROP CONSTRAINT offline_transactions_terminal_id_fkey;

CREATE FUNCTION terminal_named() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added n
               WHERE NOT EXISTS (SELECT 1 FROM terminals t WHERE t.id = n.terminal_id)) THEN
        RAISE EXCEPTION 'a row of % names no terminal', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = TG_TABLE_NAME || '_terminal_id_fkey';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_terminal_named AFTER INSERT ON requests
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION terminal_named();
CREATE TRIGGER offline_transactions_terminal_named AFTER INSERT ON offline_transactions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION terminal_named();

CREATE FUNCTION terminals_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a terminal is never deleted nor re-numbered: its requests name it';
END $$;
CREATE TRIGGER terminals_kept BEFORE UPDATE OF id OR DELETE ON terminals
    FOR EACH ROW EXECUTE FUNCTION terminals_kept();

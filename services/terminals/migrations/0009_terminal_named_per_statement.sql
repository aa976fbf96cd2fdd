-- A request's and a synced line's terminal, checked once a statement (a group commit of
-- requests, a chunk of lines) instead of by a foreign key for each row (shared migration 0004
-- says why). Terminals are never deleted nor re-numbered: a terminal is revoked, its rows kept.
ALTER TABLE requests DROP CONSTRAINT requests_terminal_id_fkey;
ALTER TABLE offline_transactions DROP CONSTRAINT offline_transactions_terminal_id_fkey;
CREATE TRIGGER requests_terminal_named AFTER INSERT ON requests
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION references_present('terminal_id', 'terminals', 'requests_terminal_id_fkey');
CREATE TRIGGER offline_transactions_terminal_named AFTER INSERT ON offline_transactions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION references_present('terminal_id', 'terminals',
                                        'offline_transactions_terminal_id_fkey');
CREATE TRIGGER terminals_kept BEFORE UPDATE OF id OR DELETE ON terminals
    FOR EACH ROW EXECUTE FUNCTION never_deleted('its requests and synced lines name it');

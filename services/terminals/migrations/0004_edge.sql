-- Issue 11, the gateway's edge.

-- Finding 11: blacklist changes reach the gateway through its consumer, which handles
-- several broker messages at once, so version 10 can commit after version 11. A terminal
-- that read between them moved its cursor past 10 for good. The gateway now hands the
-- changes out in the order it committed them: ``received`` is drawn under a lock held to
-- the end of the inserting transaction, so rows commit in ``received`` order and one
-- snapshot always sees a prefix of it. It is the cursor terminals page with (their
-- ``blacklist_version``); it equals the cards version when changes arrive in order, and is
-- never below it, so a cursor a terminal already holds keeps its meaning.
ALTER TABLE blacklist ADD COLUMN received bigint;
UPDATE blacklist SET received = version;
ALTER TABLE blacklist ALTER COLUMN received SET NOT NULL;
CREATE UNIQUE INDEX blacklist_received ON blacklist (received);
CREATE INDEX blacklist_association_received ON blacklist (association_id, received);

-- The schema's search_path goes with the function: any session's insert finds the table.
CREATE FUNCTION blacklist_receive() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    -- One writer at a time until its commit: the next one draws after it.
    PERFORM pg_advisory_xact_lock(hashtext('terminals.blacklist.received'));
    NEW.received := GREATEST(
        NEW.version, coalesce((SELECT max(received) FROM blacklist), 0) + 1);
    RETURN NEW;
END $$;
CREATE TRIGGER blacklist_receive BEFORE INSERT ON blacklist
    FOR EACH ROW EXECUTE FUNCTION blacklist_receive();

-- Build item 5: a request whose event a consumer could not process (dead-lettered) ends
-- 'failed' with the reason, instead of staying 'pending' for ever.
ALTER TABLE requests DROP CONSTRAINT requests_status_check;
ALTER TABLE requests ADD CONSTRAINT requests_status_check
    CHECK (status IN ('pending', 'accepted', 'refused', 'failed'));

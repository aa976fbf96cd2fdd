-- Issue 11 (finding 2): the returns of a sale never take back more than the sale.
--
-- The returns handler locks the account before it reads the sale's history; this rule is the
-- second wall, in the database, for any writer: after a reversal entry is written, the sale's
-- reversals together may not exceed its purchase amount, its reward (available and pending)
-- nor its units. The sale's own entry is locked first, so two transactions reversing one sale
-- check one after the other: the second counts the first's committed entries (READ COMMITTED
-- takes a new snapshot for each statement of the function).

-- search_path fixed: the rule is the same whoever inserts (a session of another schema).
CREATE FUNCTION returns_within_sale() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    sale_cents     bigint;
    returned       bigint;
    reward         bigint;
    reversed       bigint;
    units          bigint;
    units_reversed bigint;
BEGIN
    -- The sale's entry carrying the purchase (one per sale, see on_sales).
    SELECT purchase_cents INTO sale_cents FROM cagnotte_entries
     WHERE kind = 'cagnottage' AND reference_id = NEW.reverses AND purchase_cents IS NOT NULL
     ORDER BY id LIMIT 1
       FOR UPDATE;
    IF sale_cents IS NULL THEN
        RAISE EXCEPTION 'reversal of % names no booked sale', NEW.reverses
            USING ERRCODE = 'check_violation', CONSTRAINT = 'returns_within_sale';
    END IF;
    SELECT coalesce(sum(amount_cents) FILTER (WHERE bucket IN ('available', 'pending') AND amount_cents > 0), 0),
           coalesce(sum(amount_cents) FILTER (WHERE bucket = 'units' AND amount_cents > 0), 0)
      INTO reward, units
      FROM cagnotte_entries
     WHERE reference_id = NEW.reverses AND kind IN ('cagnottage', 'conversion');
    SELECT coalesce(sum(purchase_cents), 0),
           coalesce(-sum(amount_cents) FILTER (WHERE bucket IN ('available', 'pending')), 0),
           coalesce(-sum(amount_cents) FILTER (WHERE bucket = 'units'), 0)
      INTO returned, reversed, units_reversed
      FROM cagnotte_entries
     WHERE kind = 'reversal' AND reverses = NEW.reverses;
    IF returned > sale_cents OR reversed > reward OR units_reversed > units THEN
        RAISE EXCEPTION 'the returns of sale % exceed it: % of % cents returned, % of % cents of reward and % of % units reversed',
            NEW.reverses, returned, sale_cents, reversed, reward, units_reversed, units
            USING ERRCODE = 'check_violation', CONSTRAINT = 'returns_within_sale';
    END IF;
    RETURN NULL;
END $$;

-- AFTER ... FOR EACH ROW: fired at the end of the statement (a COPY of several rows), when
-- every row of the return is visible to the sums.
CREATE TRIGGER cagnotte_entries_returns_within_sale
    AFTER INSERT ON cagnotte_entries
    FOR EACH ROW WHEN (NEW.kind = 'reversal')
    EXECUTE FUNCTION returns_within_sale();

-- Issue 13, item 8: the daily triggers over a million customers (bench/messages.py --daily).
-- Each daily trigger finds the customers of its day through an index of its kind and scope,
-- instead of reading its association's customers in account order until a batch is full
-- (4 min 14 s for 108 triggers over 1,000,000 customers before; docs/benchmarks.md).

-- The birthdays a file celebrates (the customer's, the spouse's, each child's) as month * 100 +
-- day: a birthday trigger asks for the files celebrating one of its day's (317 on 17 March;
-- 228 and 229 on a 28 February without a leap day). Immutable, so that it can be indexed.
CREATE FUNCTION celebrated_days(birth date, spouse date, children date[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg((extract(month FROM d) * 100 + extract(day FROM d))::integer),
                          '{}')
          FROM unnest(array_append(array_append(children, birth), spouse)) AS d
          WHERE d IS NOT NULL $$;
CREATE INDEX customers_celebrated ON customers
    USING gin (celebrated_days(birth_date, spouse_birthday, children_birthdays))
    WHERE erased_at IS NULL;

-- Not seen for X months: the last visits of one day, in the network and at a merchant.
CREATE INDEX customers_last_visit ON customers (association_id, last_visit_at)
    WHERE erased_at IS NULL;
CREATE INDEX merchant_customers_last_visit ON merchant_customers (merchant_id, last_visit_at);

-- Visits spacing out: the day an absence passes the usual interval depends on the trigger's
-- factor, so it is computed, but from the index alone (an index-only scan of the scope's
-- regulars in account order, the order the day's batches go in). The merchant's index also
-- serves a page of its file (adapters/people.py's merchant_members).
CREATE INDEX customers_regulars ON customers (association_id, account_id)
    INCLUDE (visit_count, enrolled_at, last_visit_at)
    WHERE erased_at IS NULL AND visit_count >= 3 AND last_visit_at > enrolled_at;
CREATE INDEX merchant_customers_regulars ON merchant_customers (merchant_id, account_id)
    INCLUDE (visit_count, first_visit_at, last_visit_at);

-- The retention job asks for the files without a sign of life since a date, a batch at a time
-- in account order: without statistics on that expression the planner took a third of the
-- customers for inactive and walked the primary key through all of them (3 s over a million
-- customers with none to purge); with them it takes customers_inactive (0.1 ms).
CREATE STATISTICS customers_sign_of_life
    ON (greatest(last_visit_at, enrolled_at, details_updated_at)) FROM customers;
ANALYZE customers;

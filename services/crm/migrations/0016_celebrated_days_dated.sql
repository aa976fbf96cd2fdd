-- The celebrated days' index holds only the files that have a date to celebrate (issues 12
-- item 4 and 13 item 8: the CPU of each sale and each synced line against the code before).
--
-- Every visit updates its customer's counters (last_visit_at, visit_count), columns that the
-- daily triggers' indexes name, so no such update is HOT: each writes an entry in every index
-- of crm.customers. The GIN of celebrated_days had one for every file, the files without any
-- birthday (most of them: a customer enrolled at the till gives a phone, not dates) included,
-- each an empty array that no birthday trigger can ever match: about a fifth of the WAL of an
-- update (877 → 700 bytes, measured on the ingest bench's 4,733 files, none with a date).
-- The birthday query (adapters/triggers.py, birthdays) says the same condition, so that the
-- planner proves this index serves it.
DROP INDEX customers_celebrated;
CREATE INDEX customers_celebrated ON customers
    USING gin (celebrated_days(birth_date, spouse_birthday, children_birthdays))
    WHERE erased_at IS NULL
      AND (birth_date IS NOT NULL OR spouse_birthday IS NOT NULL
           OR cardinality(children_birthdays) > 0);

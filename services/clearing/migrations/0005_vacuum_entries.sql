-- The statements and the close read journal_entries by index-only scans, which skip the table
-- only on pages the visibility map marks all-visible; every entry inserted since the last
-- VACUUM clears its page's bit. Autovacuum's default waits for 20 % of the table to be new
-- rows, a wait that grows with the books (2 million entries at 10 million): a month's tail
-- stayed unvacuumed and a close made ~12,400 heap fetches for the largest association
-- (bench/clearing.py). Vacuum after every 100,000 new entries instead; on an insert-only table
-- it reads only the pages written since.
ALTER TABLE journal_entries SET (
    autovacuum_vacuum_insert_threshold = 100000,
    autovacuum_vacuum_insert_scale_factor = 0
);

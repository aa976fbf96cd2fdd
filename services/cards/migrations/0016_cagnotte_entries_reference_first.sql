-- The entries of an operation are looked up by its reference (a sale's, a return's, a
-- redemption's id) and kind: to book a re-sent operation once (adapters/cagnotte.py,
-- already_booked), to find a sale's reward and its returns, an import's opening balances. The
-- unique key led with kind and bucket, a handful of values each, so the planner had to name
-- every bucket to probe it, and when the table's statistics lagged behind its growth (an
-- ingest bench's first seconds) it walked every entry of the kind instead: 8-36 ms a batch of
-- 160 sales over 21,000 entries, the busiest statement of cards (docs/benchmarks.md, "The
-- statistics' roll-up"). Led by the reference, the same key is a probe per reference whatever
-- the kind, the bucket or the statistics.
ALTER TABLE cagnotte_entries
    DROP CONSTRAINT cagnotte_entries_reference,
    ADD CONSTRAINT cagnotte_entries_reference UNIQUE (reference_id, kind, bucket);

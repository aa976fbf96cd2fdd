-- Issue 14, item 6: an enrolment is written here, a row of its own, in crm.events'
-- transaction; the roll-up (adapters/statistics_roll_up.py) adds these rows to
-- statistics_enrolments and deletes them, in its own transaction, as it does the lines named
-- in statistics_uncounted (0019). Adding to statistics_enrolments in the batch's transaction
-- locked the network's and the association's row of the day until the batch committed: every
-- batch of crm.events that opened an account waited for the one before (1.2 s of waits in a
-- 45 s bench/ingest, docs/benchmarks.md), holding its customers' rows meanwhile.
-- No key and no index: the roll-up takes every row it sees.
CREATE TABLE statistics_enrolments_uncounted (
    scope_id   uuid NOT NULL,
    day        date NOT NULL,
    enrolments bigint NOT NULL
);

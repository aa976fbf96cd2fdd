-- Issue 14, item 6: the facts recorded in statistics_lines and not yet added to the sums.
-- crm.events' transaction for a batch writes its lines and names the new ones here, in one
-- statement; the roll-up (adapters/statistics_roll_up.py: a job every statistics_roll_up_s, and
-- before every reading of the statistics) takes them off and adds them to statistics_days and
-- statistics_customer_days set-wise, in one transaction. Adding each batch's sums in the
-- batch's own transaction made the association's and the network's day rows a lock that
-- every batch of crm.events waited for, and cost Python per line (docs/benchmarks.md).
-- No index: the roll-up takes whatever rows it finds, by their ctid.
CREATE TABLE statistics_uncounted (
    kind text NOT NULL,
    id   uuid NOT NULL
);

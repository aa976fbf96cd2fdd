-- The reconciliation lists every association clearing has heard of, its holders' included
-- (services/clearing/adapters/reconciliation.py): by association, not by a scan of them all.
CREATE INDEX holders_association ON holders (association_id);

-- Issue 11 (finding 5): a reconciliation can be run and read for one association, and the
-- instance's run says which associations are red. Forward only.

-- NULL: a run over the whole instance.
ALTER TABLE reconciliations
    ADD COLUMN association_id uuid,
    -- The associations at least one failing check names.
    ADD COLUMN red_associations uuid[] NOT NULL DEFAULT '{}';
-- The last run of an association, or of the instance (association_id NULL).
CREATE INDEX reconciliations_association ON reconciliations (association_id, id);
-- The per-association checks read an association's entries by journal_entries_statement
-- (association_id first): no new index on the booking path.

-- Issue 13: the names of the statements' detail lines follow crm's changes (F16: a name
-- changed by marriage); an erased holder keeps its lines and amounts under a pseudonym and
-- takes no more names from late events.
ALTER TABLE holders
    ADD COLUMN details_changed_at timestamptz,
    ADD COLUMN erased_at          timestamptz;

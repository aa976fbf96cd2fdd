-- Issue 13: an erased holder keeps its lines and amounts under a pseudonym and takes no more
-- names from late events (the names' own order is holders.names_at, migration 0010).
ALTER TABLE holders ADD COLUMN erased_at timestamptz;

-- Event ids are fresh UUIDs minted by the writer, and consumers deduplicate them in their
-- inbox: the unique index on the outbox cost an index insert and delete per event for no
-- guarantee (measured in docs/benchmarks.md).
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;

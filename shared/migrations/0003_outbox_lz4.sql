-- A synced chunk's events are large (a booked fact of a chunk: ~470 bytes a line, ~1.5 MB for
-- 3,200 lines), and PostgreSQL compresses every envelope over 2 kB when it stores it (TOAST)
-- and decompresses it when the relay reads it. lz4 does both at a fraction of pglz's CPU:
-- measured on such an envelope (insert, read, delete), 5.0 against 8.8 µs of the backend's CPU
-- a line (docs/benchmarks.md). New rows only; a server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE outbox ALTER COLUMN envelope SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not available on this server: the outbox keeps pglz';
END
$$;

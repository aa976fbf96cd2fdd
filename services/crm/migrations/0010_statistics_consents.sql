-- Issue 14, item 6: the consents in force per channel, kept as counters instead of counted at
-- each answer (the network's count read every network consent: 333,000 at bench size).
-- One row per association, merchant (the nil uuid: network-wide consents) and channel, so that
-- the network sums at most a row per association and channel, and no single row is every
-- consent change's. Kept by a trigger on consents, so that no path that changes a consent can
-- forget it (docs/statistics.md); checked against a count in tests/integration.
CREATE TABLE statistics_consents (
    association_id uuid NOT NULL,
    merchant_id    uuid NOT NULL,  -- the nil uuid: the network's consent of a member
    channel        text NOT NULL,
    in_force       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (association_id, merchant_id, channel)
);
CREATE INDEX statistics_consents_merchant ON statistics_consents (merchant_id, channel);

-- search_path FROM CURRENT: the counters are found whatever the path of the session that
-- changes a consent (a test's or an operator's connection to the database).
CREATE FUNCTION statistics_consents_count() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'confirmed' THEN
        UPDATE statistics_consents SET in_force = in_force - 1
        WHERE association_id = OLD.association_id
          AND merchant_id = coalesce(OLD.merchant_id, '00000000-0000-0000-0000-000000000000')
          AND channel = OLD.channel;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'confirmed' THEN
        INSERT INTO statistics_consents AS s (association_id, merchant_id, channel, in_force)
        VALUES (NEW.association_id,
                coalesce(NEW.merchant_id, '00000000-0000-0000-0000-000000000000'),
                NEW.channel, 1)
        ON CONFLICT (association_id, merchant_id, channel)
            DO UPDATE SET in_force = s.in_force + 1;
    END IF;
    RETURN NULL;
END $$;

-- Only when the counted columns change (a confirmed consent's code attempts do not count).
CREATE TRIGGER consents_counted AFTER INSERT OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION statistics_consents_count();
CREATE TRIGGER consents_recounted AFTER UPDATE OF status, association_id, merchant_id, channel
    ON consents FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.association_id IS DISTINCT FROM NEW.association_id
          OR OLD.merchant_id IS DISTINCT FROM NEW.merchant_id
          OR OLD.channel IS DISTINCT FROM NEW.channel)
    EXECUTE FUNCTION statistics_consents_count();

INSERT INTO statistics_consents (association_id, merchant_id, channel, in_force)
SELECT association_id, coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'), channel,
       count(*)
FROM consents WHERE status = 'confirmed'
GROUP BY 1, 2, 3;

-- A truncation (a test's or a bench's reset) fires no row trigger: empty the counters with it.
CREATE FUNCTION statistics_consents_truncated() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM statistics_consents;
    RETURN NULL;
END $$;
CREATE TRIGGER consents_truncated AFTER TRUNCATE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION statistics_consents_truncated();

-- Issue 14, item 4: saved segments (named filters over the customer file and its counters),
-- used by campaigns and exports. Forward only.

-- A segment of an association's customers (merchant_id NULL) or of one merchant's file; its
-- ``filters`` as domain/segments.py's Filters.as_json writes them (validated at the API).
CREATE TABLE segments (
    id             uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    merchant_id    uuid,
    name           text NOT NULL,
    filters        jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX segments_one_name ON segments
    (association_id, coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'), lower(name));

-- A campaign to a saved segment follows it until it is sent; its sending records the
-- segment's filters in ``segment`` (as they were then) and the moment in ``segment_frozen_at``,
-- so that a later edit of the segment does not change who a sent campaign went to.
ALTER TABLE campaigns
    ADD COLUMN segment_id        uuid REFERENCES segments (id),
    ADD COLUMN segment_frozen_at timestamptz;
CREATE INDEX campaigns_segment ON campaigns (segment_id) WHERE segment_id IS NOT NULL;

-- Born in a month (the segments' birth_months): the expression adapters/segments.py uses.
CREATE INDEX customers_birth_month ON customers
    (association_id, ((extract(month FROM birth_date))::integer))
    WHERE erased_at IS NULL AND birth_date IS NOT NULL;

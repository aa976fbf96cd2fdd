-- A one-off campaign scheduled for a chosen instant (issue 15, "campaigns: … schedule"): crm's
-- campaign job asks for its sending once ``send_at`` has passed (service/campaigns.py,
-- ``ask_due``), in the transaction that records its filters, exactly as ``/send`` does; until
-- then it can be re-timed or cancelled (``cancelled_at``: never sent, kept for its history).
ALTER TABLE campaigns
    ADD COLUMN send_at      timestamptz,
    ADD COLUMN cancelled_at timestamptz,
    ADD CONSTRAINT campaigns_send_at_one_off CHECK (send_at IS NULL OR monthly_day IS NULL);
-- What the campaign job looks at on every pass: the scheduled campaigns not yet asked for.
CREATE INDEX campaigns_scheduled ON campaigns (send_at)
    WHERE send_at IS NOT NULL AND segment_frozen_at IS NULL AND cancelled_at IS NULL;

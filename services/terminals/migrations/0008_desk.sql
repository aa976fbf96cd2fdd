-- Issue 15, item 3: the front desk (CARD) books sales, redemptions, returns and enrolments
-- through the gateway like a till, by a terminal of the merchant's own that the gateway
-- registers on first use (one per merchant). Its secret is sealed and never shown: no device
-- signs as it; the back office's scope token authorises its requests.
ALTER TABLE terminals ADD COLUMN desk boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX terminals_one_desk ON terminals (merchant_id) WHERE desk;

-- Who at the desk sent each of its requests (the signed-in person's actor, from the scope
-- token): the first sender of a request id; a retry with the same id adds nothing.
CREATE TABLE desk_requests (
    request_id  uuid PRIMARY KEY REFERENCES requests (id),
    merchant_id uuid NOT NULL,
    actor       text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- The message store (issue 13): one row per requested message, keyed by the id the requester
-- chose, so a request redelivered or re-sent under a new event id finds its row. The table of
-- 0001 was never written (nothing sent): it is replaced.
DROP TABLE messages;

CREATE TABLE messages (
    message_id      uuid PRIMARY KEY,
    event_id        uuid NOT NULL,  -- the request's event, for tracing
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    category        text NOT NULL CHECK (category IN ('transactional', 'marketing')),
    recipient       text NOT NULL,
    language        text NOT NULL CHECK (language IN ('fr', 'en')),
    template        text NOT NULL,
    variables       jsonb NOT NULL,
    association_id  uuid NOT NULL,
    merchant_id     uuid,
    account_id      uuid,
    campaign_id     uuid,
    consent_id      uuid,
    unsubscribe_url text,
    attachments     jsonb NOT NULL DEFAULT '[]',
    status          text NOT NULL CHECK (status IN
                        ('queued', 'deferred', 'sending', 'sent', 'delivered', 'failed')),
    -- When the sending job may take it: the request's not_before, the hours of marketing SMS,
    -- the backoff after a temporary failure. NULL once it is sent or failed.
    due_at          timestamptz,
    -- A claim: the sender that took it holds it until then (a dead sender's claim runs out).
    lease_until     timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    provider_id     text,
    reason          text,
    segments        integer,  -- an SMS's parts
    requested_at    timestamptz NOT NULL,
    sent_at         timestamptz,
    delivered_at    timestamptz,
    updated_at      timestamptz NOT NULL
);

-- The sending job's question: what is due (a partial index: sent messages leave it).
CREATE INDEX messages_due ON messages (due_at) WHERE status IN ('queued', 'deferred');
CREATE INDEX messages_claimed ON messages (lease_until) WHERE status = 'sending';
CREATE INDEX messages_campaign ON messages (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX messages_account ON messages (account_id, requested_at DESC) WHERE account_id IS NOT NULL;
CREATE INDEX messages_recipient ON messages (recipient, requested_at DESC);

-- A statement's notice follows the message that carries it.
ALTER TABLE statement_notices ADD COLUMN message_id uuid;
ALTER TABLE statement_notices ADD COLUMN reason text;

-- The merchants' contacts, kept from cards' MerchantRegistered (the statement's recipient).
CREATE TABLE merchant_contacts (
    merchant_id    uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    name           text NOT NULL,
    email          text,
    language       text NOT NULL DEFAULT 'fr',
    updated_at     timestamptz NOT NULL
);

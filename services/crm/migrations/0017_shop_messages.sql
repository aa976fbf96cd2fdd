-- A cardholder's message to one shop of their network (issue 15, "Cardholder space"): kept
-- here for the shop's people to read in its inbox. The id is the sender's form's: a form sent
-- twice is one message. Erased with the person's file (its text is theirs).
CREATE TABLE shop_messages (
    id              uuid PRIMARY KEY,
    association_id  uuid NOT NULL,
    merchant_id     uuid NOT NULL,
    account_id      uuid NOT NULL,
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    sent_by         text NOT NULL,
    sent_at         timestamptz NOT NULL
);
CREATE INDEX shop_messages_merchant ON shop_messages (merchant_id, sent_at DESC);
CREATE INDEX shop_messages_account ON shop_messages (account_id, sent_at DESC);

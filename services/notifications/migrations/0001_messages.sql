-- Messages to customers (e-mail, SMS); sending arrives with the CRM triggers (F21-F24).
CREATE TABLE messages (
    id         uuid PRIMARY KEY,
    channel    text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient  text NOT NULL,
    subject    text,
    body       text NOT NULL,
    status     text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);

-- Issue 13: the customer file (F20), consent (F21), the GDPR rights. Forward only.

-- The customer file: crm owns the personal data; the other services keep what they need and
-- hear of every change (customer.details_changed.v1) and erasure (customer.erased.v1).
-- ``phone`` is the mobile (E.164), the one SMS are sent to; ``landline`` the other number.
ALTER TABLE customers
    ADD COLUMN title              text,
    ADD COLUMN address            text,
    ADD COLUMN postal_code        text,
    ADD COLUMN town               text,
    ADD COLUMN landline           text,
    ADD COLUMN birth_date         date,
    ADD COLUMN spouse_birthday    date,
    ADD COLUMN children_birthdays date[] NOT NULL DEFAULT '{}',
    ADD COLUMN language           text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    ADD COLUMN notes              text,
    ADD COLUMN details_updated_at timestamptz,
    ADD COLUMN erased_at          timestamptz,
    ADD COLUMN pseudonym          text;
CREATE INDEX customers_phone ON customers (association_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_email ON customers (association_id, email) WHERE email IS NOT NULL;
-- The retention job looks for customers without a sign of life since a date.
CREATE INDEX customers_inactive ON customers (greatest(last_visit_at, enrolled_at, details_updated_at))
    WHERE erased_at IS NULL;

-- A customer in a merchant's file without a visit yet: enrolled there, or added from another
-- shop's file with the member's consent. The counters start at zero, the visit dates empty.
ALTER TABLE merchant_customers
    ALTER COLUMN first_visit_at DROP NOT NULL,
    ALTER COLUMN last_visit_at DROP NOT NULL,
    ADD COLUMN joined_at timestamptz,
    ADD COLUMN joined_how text CHECK (joined_how IN ('visit', 'enrolment', 'import'));

-- A consent per person, channel and scope (the network: merchant_id NULL; one merchant). Its
-- life: pending (double opt-in asked) → confirmed → withdrawn; asked again: pending again.
-- The proof is in consent_proofs, append-only.
CREATE TABLE consents (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL,
    association_id  uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms', 'post')),
    merchant_id     uuid,
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'withdrawn')),
    address         text,          -- the e-mail or mobile the consent was given for
    wording         text NOT NULL, -- the text the person agreed to
    code_sha256     bytea,         -- the SMS code of the double opt-in, hashed
    code_expires_at timestamptz,
    code_attempts   integer NOT NULL DEFAULT 0,
    requested_at    timestamptz NOT NULL,
    confirmed_at    timestamptz,
    withdrawn_at    timestamptz,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX consents_one_per_scope
    ON consents (account_id, channel, coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'));
CREATE INDEX consents_address ON consents (channel, address) WHERE status <> 'withdrawn';

-- What happened to each consent: asked, confirmed, withdrawn; when, how, with which wording.
CREATE TABLE consent_proofs (
    id          bigserial PRIMARY KEY,
    consent_id  uuid NOT NULL REFERENCES consents (id),
    at          timestamptz NOT NULL,
    action      text NOT NULL CHECK (action IN ('requested', 'confirmed', 'withdrawn')),
    how         text NOT NULL,     -- till, back_office, details_form, email_link, sms_code,
                                   -- one_click, sms_stop, bounce, api, erasure
    wording     text NOT NULL,
    detail      text
);
CREATE INDEX consent_proofs_consent ON consent_proofs (consent_id, at);

-- The messages crm asked notifications to send, and what became of them (per person).
CREATE TABLE customer_messages (
    message_id   uuid PRIMARY KEY,
    account_id   uuid NOT NULL,
    channel      text NOT NULL,
    category     text NOT NULL,
    template     text NOT NULL,
    consent_id   uuid,
    status       text NOT NULL DEFAULT 'requested',
    reason       text,
    requested_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX customer_messages_account ON customer_messages (account_id, requested_at);

-- Daily jobs: one row per job and day, taken by the replica that does the day's work (the
-- primary key makes the second one do nothing), so a day runs once whatever the restarts or
-- replicas, and a missed day is caught up at the next start.
CREATE TABLE daily_runs (
    job      text NOT NULL,
    day      date NOT NULL,
    done_at  timestamptz NOT NULL,
    detail   text,
    PRIMARY KEY (job, day)
);

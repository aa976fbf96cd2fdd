-- The portal's identities (issue 15, docs/access.md): people who sign in with a password,
-- the links that set one, sessions, failed sign-ins (the rate limit, shared by replicas),
-- cardholders' one-time codes and machines' API tokens. Every secret is stored as its
-- SHA-256 (a password as its argon2id hash), never as itself.
CREATE TABLE people (
    id              uuid PRIMARY KEY,
    email           text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text NOT NULL
                    CHECK (role IN ('operator', 'association_admin', 'manager', 'staff')),
    association_id  uuid,
    merchant_id     uuid,
    password_hash   text,
    password_set_at timestamptz,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    -- each role carries exactly the ids of its scope (shared/access.py's _check_shape)
    CHECK ((role = 'operator') = (association_id IS NULL)),
    CHECK ((role IN ('manager', 'staff')) = (merchant_id IS NOT NULL))
);
CREATE UNIQUE INDEX people_email ON people (email);
CREATE INDEX people_scope ON people (association_id, merchant_id);

-- A password creation or reset link: single use, expiring.
CREATE TABLE password_links (
    token_hash  bytea PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('create', 'reset')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_links_person ON password_links (person_id);

-- A signed-in browser: a person (password) or a cardholder (one-time code).
CREATE TABLE sessions (
    id_hash         bytea PRIMARY KEY,
    person_id       uuid REFERENCES people (id) ON DELETE CASCADE,
    actor           text NOT NULL,
    role            text NOT NULL,
    association_id  uuid,
    merchant_id     uuid,
    account_id      uuid,
    label           text NOT NULL,
    csrf            text NOT NULL,
    language        text NOT NULL DEFAULT 'fr',
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX sessions_person ON sessions (person_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed sign-ins by key ('account:<sha256 of the e-mail or phone>', 'address:<ip>'),
-- counted over a sliding window.
CREATE TABLE login_failures (
    key     text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

-- A cardholder's one-time code; account_id NULL when nobody has the address given (the
-- answer looks the same, so that the page does not tell who is a cardholder).
CREATE TABLE holder_codes (
    id              uuid PRIMARY KEY,
    code_hash       bytea NOT NULL,
    association_id  uuid NOT NULL,
    account_id      uuid,
    account_key     text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    used_at         timestamptz
);

-- A machine's API token, exchanged at POST /v1/tokens for a scope token.
CREATE TABLE api_tokens (
    id              uuid PRIMARY KEY,
    secret_hash     bytea NOT NULL UNIQUE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text NOT NULL
                    CHECK (role IN ('operator', 'association_admin', 'manager', 'staff')),
    association_id  uuid,
    merchant_id     uuid,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    CHECK ((role = 'operator') = (association_id IS NULL)),
    CHECK ((role IN ('manager', 'staff')) = (merchant_id IS NOT NULL))
);

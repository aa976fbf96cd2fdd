-- Sync sessions of offline terminals (docs/terminal-protocol.md).

-- Every journal line a terminal synced, once: (terminal_id, seq) is the sale's identity
-- (shared.contracts.card_transaction_id). The content hash tells a harmless re-send (same
-- hash, skipped) from a conflicting one (refused). The line itself travels to the cards
-- service in the chunk's CardTransactionsSynced event; what is kept here is what the close
-- and the back office need.
CREATE TABLE offline_transactions (
    terminal_id  uuid NOT NULL REFERENCES terminals (id),
    seq          bigint NOT NULL CHECK (seq > 0),
    content_hash bytea NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('sale', 'redemption')),
    card_number  text NOT NULL,
    atc          bigint NOT NULL,
    amount_cents bigint NOT NULL,
    occurred_at  timestamptz NOT NULL,
    chunk_id     uuid NOT NULL,
    session_id   uuid NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (terminal_id, seq)
);

-- One row per HELLO. A session still 'open' long after its last message was cut off.
CREATE TABLE sync_sessions (
    id                  uuid PRIMARY KEY,
    terminal_id         uuid NOT NULL REFERENCES terminals (id),
    transport           text NOT NULL CHECK (transport IN ('http', 'line')),
    status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'ok', 'mismatch', 'failed')),
    software            text NOT NULL,
    params_version      bigint NOT NULL,
    blacklist_version   bigint NOT NULL,
    pending_count       bigint NOT NULL,
    journal_first_seq   bigint NOT NULL,
    journal_last_seq    bigint NOT NULL,
    start_committed_seq bigint NOT NULL,
    chunks              integer NOT NULL DEFAULT 0,
    inserted            integer NOT NULL DEFAULT 0,
    skipped             integer NOT NULL DEFAULT 0,
    close_count         bigint,
    close_amount_cents  bigint,
    missing             jsonb,
    error_code          text,
    started_at          timestamptz NOT NULL DEFAULT now(),
    last_activity_at    timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz
);
CREATE INDEX sync_sessions_terminal ON sync_sessions (terminal_id, started_at DESC);

-- The registry: one row per terminal that ever said HELLO. Its row is locked by every chunk
-- commit, which serialises two sessions of one terminal without holding up the others.
CREATE TABLE sync_terminals (
    terminal_id                 uuid PRIMARY KEY REFERENCES terminals (id),
    last_committed_seq          bigint NOT NULL DEFAULT 0,
    committed_total             bigint NOT NULL DEFAULT 0,
    software                    text NOT NULL DEFAULT '',
    params_version              bigint NOT NULL DEFAULT 0,
    blacklist_version           bigint NOT NULL DEFAULT 0,
    delivered_params_version    bigint,
    delivered_blacklist_version bigint,
    journal_last_seq            bigint NOT NULL DEFAULT 0,
    pending_count               bigint NOT NULL DEFAULT 0,
    first_seen_at               timestamptz NOT NULL DEFAULT now(),
    last_hello_at               timestamptz NOT NULL DEFAULT now(),
    last_sync_at                timestamptz,
    last_session_id             uuid
);

-- The newest TerminalParametersPublished document per merchant (cards service).
CREATE TABLE terminal_parameters (
    merchant_id    uuid PRIMARY KEY,
    association_id uuid NOT NULL,
    rules_version  bigint NOT NULL,
    document       jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX blacklist_association_version ON blacklist (association_id, version);

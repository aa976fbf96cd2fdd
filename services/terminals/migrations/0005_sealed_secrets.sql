-- Terminals' HMAC secrets sealed at rest (issue 11, finding 7): AES-256-GCM under the
-- gateway's key-encryption key (services/terminals/keyring.py). SQL cannot seal (the key is
-- not in the database): the gateway seals the rows still in clear when it starts, in one
-- transaction, before it answers; `secret` stays only for those rows until then.
ALTER TABLE terminals
    ADD COLUMN secret_sealed bytea,
    ADD COLUMN secret_kek_id text,
    ALTER COLUMN secret DROP NOT NULL;

ALTER TABLE terminals ADD CONSTRAINT terminals_secret_sealed_or_legacy CHECK (
    (secret IS NULL AND secret_sealed IS NOT NULL AND secret_kek_id IS NOT NULL)
    OR (secret IS NOT NULL AND secret_sealed IS NULL AND secret_kek_id IS NULL)
);

COMMENT ON COLUMN terminals.secret IS
    'only in rows of before 0005 not yet sealed by the gateway; NULL once sealed';
COMMENT ON COLUMN terminals.secret_sealed IS
    'nonce (12 bytes) || AES-256-GCM ciphertext and tag of the secret, the terminal id as associated data';
COMMENT ON COLUMN terminals.secret_kek_id IS
    'first 8 bytes (hex) of the SHA-256 of the key-encryption key that sealed secret_sealed';

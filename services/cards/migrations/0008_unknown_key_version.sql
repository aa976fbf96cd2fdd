-- Card master key rotation (issue 12): a line of a key version the cards service's keyring
-- does not hold is held as unknown_key_version, told apart from a certificate that does not
-- verify under a version it holds (bad_certificate).
ALTER TABLE card_anomalies DROP CONSTRAINT card_anomalies_kind_check;
ALTER TABLE card_anomalies ADD CONSTRAINT card_anomalies_kind_check CHECK (kind IN (
    'clone', 'broken_chain', 'atc_gap', 'reward_mismatch', 'bad_certificate', 'unknown_card',
    'card_of_another_association', 'card_not_accepted', 'card_blocked', 'card_expired',
    'card_dormant', 'occurred_in_future', 'occurred_too_long_ago', 'occurred_before_books_start',
    'unprocessable', 'unknown_key_version'
));

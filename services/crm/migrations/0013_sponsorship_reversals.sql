-- Issue 14, item 1 (F22, F16): a cancelled qualifying sale takes its sponsorship rewards back.
-- Forward only.

-- A reward taken back, once (its id derived from the reward's): the qualifying sale was
-- cancelled, or returned whole. Never an edit of the reward: the reward stays as decided and
-- this row says it was taken back. ``status``: ``asked`` (cards takes it back), or
-- ``refused`` (the account no longer held it: the back office settles it by an adjustment).
CREATE TABLE sponsorship_reward_reversals (
    id             uuid PRIMARY KEY,
    reward_id      uuid NOT NULL UNIQUE REFERENCES sponsorship_rewards (id),
    newcomer_id    uuid NOT NULL,
    sale_id        uuid NOT NULL,
    reason         text NOT NULL CHECK (reason IN ('cancelled', 'returned')),
    status         text NOT NULL CHECK (status IN ('asked', 'refused')),
    detail         text,
    occurred_at    timestamptz NOT NULL,
    refused_at     timestamptz
);
CREATE INDEX sponsorship_reward_reversals_newcomer ON sponsorship_reward_reversals (newcomer_id);

-- Once its rewards are taken back, a sponsorship waits again for its qualifying purchase: a
-- newcomer may now have a reward per role for each qualifying sale (one at a time, the others
-- reversed), at most one at the enrolment.
ALTER TABLE sponsorship_rewards DROP CONSTRAINT sponsorship_rewards_newcomer_id_role_key;
CREATE UNIQUE INDEX sponsorship_rewards_one_per_sale ON sponsorship_rewards
    (newcomer_id, role, coalesce(sale_id, '00000000-0000-0000-0000-000000000000'));
CREATE INDEX sponsorship_rewards_sale ON sponsorship_rewards (sale_id) WHERE sale_id IS NOT NULL;

-- Issue 14 (F22): a sponsorship is re-decided only once each reversal of its qualifying sale
-- has its outcome from cards: ``done`` (the reward taken back) or ``refused`` (spent: the
-- holder keeps it, and gets no second one). Before, it was re-decided at once, and a reward
-- whose reversal cards refused later could be granted twice. Forward only. Migration 0013
-- came with the same issue and no release in between: no reversal was asked before this.
ALTER TABLE sponsorship_reward_reversals DROP CONSTRAINT sponsorship_reward_reversals_status_check;
ALTER TABLE sponsorship_reward_reversals
    ADD CONSTRAINT sponsorship_reward_reversals_status_check
    CHECK (status IN ('asked', 'done', 'refused'));
ALTER TABLE sponsorship_reward_reversals ADD COLUMN done_at timestamptz;

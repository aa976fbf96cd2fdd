-- Issue 13: an enrolment's answer, kept for the terminal's retries, names the phone; an
-- erasure (customer.erased.v1) replaces it with the pseudonym, found by the account.
CREATE INDEX requests_enrolled_account ON requests ((outcome ->> 'account_id'))
    WHERE kind = 'enrolment';

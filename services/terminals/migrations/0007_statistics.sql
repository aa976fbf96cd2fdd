-- Issue 14, item 3: a sale recorded at the till without a member (for the statistics' member
-- share), kept as a request like the others for its nonce and its retries.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('sale', 'redemption', 'enrolment', 'return', 'anonymous_sale'));

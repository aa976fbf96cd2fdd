-- Issue 13: a cardless account enrolled by e-mail is found by its address at the till (a sale
-- or redemption whose customer is an e-mail) and an enrolment's address is checked free in
-- the association: both look accounts up by their holder's e-mail, lower-cased.
CREATE INDEX accounts_email ON accounts (association_id, lower(email)) WHERE email IS NOT NULL;

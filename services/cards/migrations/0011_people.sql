-- Issue 13: crm owns the customers' personal data; cards keeps the names on its accounts and
-- card records and the identifiers, as crm's events tell them. A change older than the one
-- applied is ignored (events of one account may arrive out of order); an erased account keeps
-- its amounts under a pseudonym and takes no more details.
ALTER TABLE accounts
    ADD COLUMN details_changed_at timestamptz,
    ADD COLUMN erased_at          timestamptz;

-- A till's returns and cancellations (F16) are requests like the others.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('sale', 'redemption', 'enrolment', 'return'));

-- The gateway's copy of the cards blacklist, fed by blacklist.changed events: what the sync
-- sessions hand to terminals as "changes since your version".
CREATE TABLE blacklist (
    version        bigint PRIMARY KEY,
    card_number    text NOT NULL,
    association_id uuid NOT NULL,
    action         text NOT NULL CHECK (action IN ('add', 'remove')),
    reason         text NOT NULL,
    changed_at     timestamptz NOT NULL
);

-- Issue 12: the glossary's words. A program's visit threshold (F8) is visit_threshold (the
-- visit at which pending rewards become available) and visit_threshold_max_days (the days to
-- reach it). The append-only refusal named "the cagnotte ledger" for the blacklist's changes
-- too: it names the table it guards.
-- Nothing was deployed: no view or old name is kept.
ALTER TABLE programs RENAME COLUMN threshold_visits TO visit_threshold;
ALTER TABLE programs RENAME COLUMN threshold_max_days TO visit_threshold_max_days;
ALTER TABLE programs RENAME CONSTRAINT programs_threshold_visits_check TO programs_visit_threshold_check;
ALTER TABLE programs RENAME CONSTRAINT programs_threshold_max_days_check TO programs_visit_threshold_max_days_check;

CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: write a correcting entry', TG_TABLE_NAME;
END $$;

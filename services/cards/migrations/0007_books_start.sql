-- Dates within reason (issue 11, finding 4): an association's books start on the first day of
-- a month; nothing dated before can be booked (a sale dated year 1 opened a period at
-- -infinity in clearing). By default the month the association was created in (Paris time);
-- an association that brings its history from another system sets an earlier month.
ALTER TABLE associations ADD COLUMN books_start date;
UPDATE associations
   SET books_start = date_trunc('month', created_at AT TIME ZONE 'Europe/Paris')::date;
ALTER TABLE associations
    ALTER COLUMN books_start SET NOT NULL,
    ADD CONSTRAINT associations_books_start_first_of_month
        CHECK (extract(day FROM books_start) = 1);

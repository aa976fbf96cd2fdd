-- Issue 13, item 6: what a treasurer needs on a statement's detail line. The label of the
-- product family (cards' catalogue, as the sale was booked), the rate applied and the rule
-- that set it: a sale's taux client and its source (family, merchant, network, promotion,
-- the 100 % or the books' cap), a partner share's partnership rate ('partnership').
-- Older lines keep NULLs: their statements show no rate, as they did.
ALTER TABLE journal_entries
    ADD COLUMN product_family_label text,
    ADD COLUMN rate_bps integer,
    ADD COLUMN rate_source text;

-- The holder's names as last given: a card issued with names, or the back office's change of
-- the names (F16), overwrites them; the first names an account opens with only fill what is
-- missing. Events of one account may arrive out of order: the later names win.
ALTER TABLE holders ADD COLUMN names_at timestamptz;

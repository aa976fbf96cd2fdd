-- The holder's postal address, written into the SEPA files (PstlAdr). The 2023 SCT and SDD
-- rulebooks require it (town and country at least) for a bank in a SEPA country outside the
-- EEA; the API refuses such details without it (services/clearing/bank.py). Lengths are those
-- of the ISO 20022 elements: StrtNm 70, BldgNb 16, PstCd 16, TwnNm 35.
ALTER TABLE bank_details
    ADD COLUMN address_street          text CHECK (char_length(address_street) BETWEEN 1 AND 70),
    ADD COLUMN address_building_number text CHECK (char_length(address_building_number) BETWEEN 1 AND 16),
    ADD COLUMN address_postcode        text CHECK (char_length(address_postcode) BETWEEN 1 AND 16),
    ADD COLUMN address_town            text CHECK (char_length(address_town) BETWEEN 1 AND 35),
    ADD COLUMN address_country         text CHECK (address_country ~ '^[A-Z]{2}$'),
    -- An address has a town and a country, or is absent altogether.
    ADD CONSTRAINT bank_details_address CHECK (
        (address_town IS NULL) = (address_country IS NULL)
        AND (address_town IS NOT NULL
             OR num_nulls(address_street, address_building_number, address_postcode) = 3)
    );

-- A merchant's e-mail address (issue 13): where notifications sends its monthly statement.
-- Carried in MerchantRegistered, so the registrations last published keep it too.
ALTER TABLE merchants ADD COLUMN email text;
ALTER TABLE merchant_registrations ADD COLUMN email text;

ALTER TABLE urls DROP COLUMN password_hash;

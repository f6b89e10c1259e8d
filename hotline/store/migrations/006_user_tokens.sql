-- Users managed through the API (issue 7): tokens issued before this moment (seconds since
-- the epoch, by the API's clock) stop working; set when an admin changes the user's roles,
-- resets its password or disables it.
ALTER TABLE users
    ADD COLUMN tokens_after double precision NOT NULL DEFAULT 0;

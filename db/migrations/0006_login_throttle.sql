-- Login throttling that an attacker cannot turn against the account holder (issue 9).
--
-- Failed logins are counted per (submitted username, client address) and per client address,
-- never per account: ten wrong passwords from anywhere used to lock the real user out, and an
-- unknown username was never throttled, so usernames could be enumerated. The submitted name
-- is kept as a key (stripped, NFC, casefolded), the same for known and unknown names.
ALTER TABLE login_attempts ADD COLUMN username_key text;
CREATE INDEX login_attempts_name_addr_idx ON login_attempts (username_key, client_addr, at)
    WHERE NOT success;
-- Rows from before this migration have no key; they age out of the 15-minute window.
-- From now on client_addr is '' (not NULL) when a request has no known address: such requests
-- share one bucket, as they would share one address.

-- The per-account ceiling (NIST SP 800-63B: at most 100 consecutive failures). At the ceiling
-- the password alone opens no challenge until a new password is set through a reset link sent
-- to the holder's confirmed address; any new password clears both columns.
ALTER TABLE accounts ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0
    CHECK (consecutive_failures >= 0);
ALTER TABLE accounts ADD COLUMN password_login_blocked_at timestamptz;

-- requestPasswordReset, throttled per client address and per account. One row per request
-- that got past the address limit; sent says whether a mail with a link left for the account.
CREATE TABLE password_reset_requests (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    client_addr text,
    account_id  uuid REFERENCES accounts(id) ON DELETE CASCADE,
    sent        boolean NOT NULL,
    CHECK (NOT sent OR account_id IS NOT NULL)
);
CREATE INDEX password_reset_requests_addr_idx ON password_reset_requests (client_addr, at);
CREATE INDEX password_reset_requests_account_idx ON password_reset_requests (account_id, at)
    WHERE sent;

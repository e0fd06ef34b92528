-- A switch of the login channel (EMAIL, SMS) waits for a code sent over the new channel.
CREATE TABLE login_channel_changes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('EMAIL', 'SMS')),
    code_hash   text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX login_channel_changes_account_idx ON login_channel_changes (account_id, created_at);

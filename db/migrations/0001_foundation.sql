-- Persons, accounts and everything login needs; the outbox; the audit log.

CREATE TABLE service_units (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE persons (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    birth_date      date,
    position        text,
    workplace       text,
    email           text,
    mobile          text,
    phone           text,
    fax             text,
    street          text,
    postcode        text,
    city            text,
    service_unit_id uuid REFERENCES service_units(id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_last_name_idx ON persons (lower(last_name) text_pattern_ops);
CREATE INDEX persons_first_name_idx ON persons (lower(first_name) text_pattern_ops);

CREATE TABLE person_global_roles (
    person_id uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('SYSTEM_ADMIN', 'LOCAL_ADMIN', 'COORDINATING_UNIT', 'REPORTER')),
    PRIMARY KEY (person_id, role)
);

CREATE TABLE accounts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id           uuid NOT NULL UNIQUE REFERENCES persons(id) ON DELETE CASCADE,
    username            text NOT NULL,
    password_hash       text,
    otp_channel         text NOT NULL CHECK (otp_channel IN ('EMAIL', 'SMS', 'APP')),
    totp_secret         text,
    totp_pending_secret text,
    totp_last_counter   bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz
);
CREATE UNIQUE INDEX accounts_username_idx ON accounts (lower(username));

-- A password accepted opens a challenge; its one-time code is stored only as a hash.
CREATE TABLE login_challenges (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    channel     text NOT NULL,
    code_hash   text,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id   uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    client_addr  text
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

-- Password reset and invitation links: single use, stored hashed.
CREATE TABLE account_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('RESET', 'INVITATION')),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

-- Failed and successful login steps, for throttling shared by every gateway process.
CREATE TABLE login_attempts (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    account_id  uuid REFERENCES accounts(id) ON DELETE CASCADE,
    client_addr text,
    success     boolean NOT NULL
);
CREATE INDEX login_attempts_account_idx ON login_attempts (account_id, at) WHERE NOT success;
CREATE INDEX login_attempts_addr_idx ON login_attempts (client_addr, at) WHERE NOT success;

-- Mail and SMS leave only through here, written in the transaction that caused them.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('EMAIL', 'SMS')),
    recipient       text NOT NULL,
    subject         text NOT NULL DEFAULT '',
    body            text NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    uuid,
    action      text NOT NULL,
    target      text,
    client_addr text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

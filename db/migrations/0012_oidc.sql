-- OpenID Connect login (docs/oidc.md).

-- Identities linked to persons. A national identity number (ID-porten's pid, HelseID's) is
-- never stored: only its HMAC under PLANGRUPPE_IDENTITY_HASH_KEY, the same key whichever
-- provider asserts it (provider NULL). A provider's own subject is kept with the provider.
CREATE TABLE oidc_identities (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider      text,
    subject       text,
    national_hmac bytea,
    person_id     uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    linked_at     timestamptz NOT NULL,
    linked_by     uuid REFERENCES persons(id),
    how           text NOT NULL CHECK (how IN ('ADMIN', 'INVITATION')),
    CHECK ((national_hmac IS NOT NULL AND provider IS NULL AND subject IS NULL)
        OR (national_hmac IS NULL AND provider IS NOT NULL AND subject IS NOT NULL))
);
CREATE UNIQUE INDEX oidc_identities_national_idx ON oidc_identities (national_hmac)
    WHERE national_hmac IS NOT NULL;
CREATE UNIQUE INDEX oidc_identities_subject_idx ON oidc_identities (provider, subject)
    WHERE subject IS NOT NULL;
CREATE INDEX oidc_identities_person_idx ON oidc_identities (person_id);

-- A login under way at a provider: state (hashed), nonce and PKCE verifier, single use, and
-- the hash of a cookie given to the browser that started it (no one else's browser may finish
-- it: login CSRF).
CREATE TABLE oidc_logins (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    state_hash       bytea NOT NULL UNIQUE,
    browser_hash     bytea NOT NULL,
    provider         text NOT NULL,
    nonce            text NOT NULL,
    code_verifier    text NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('BROWSER', 'APP')),
    app_redirect     text,
    return_to        text,
    invitation_hash  bytea,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz
);
CREATE INDEX oidc_logins_expires_idx ON oidc_logins (expires_at);

-- A native app's one-time exchange code (hashed): single use, 60 seconds.
CREATE TABLE login_exchange_codes (
    code_hash     bytea PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider      text NOT NULL,
    auth_level    text,
    id_token      text,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX login_exchange_codes_expires_idx ON login_exchange_codes (expires_at);

-- How a session was opened, and for RP-initiated logout the provider and its ID token
-- (sealed with PLANGRUPPE_SECRET_KEY: it holds the national identity number).
ALTER TABLE sessions
    ADD COLUMN auth_method text NOT NULL DEFAULT 'PASSWORD'
        CHECK (auth_method IN ('PASSWORD', 'OIDC')),
    ADD COLUMN auth_level text,
    ADD COLUMN oidc_provider text,
    ADD COLUMN id_token text;

-- Ending and archiving plans, the access log (innsyn i logg), consent-expiry warnings,
-- and API keys for reporting tools.

ALTER TABLE plans ADD COLUMN end_reason text;

-- Immutable snapshots: the canonical JSON document and its PDF rendering, with the SHA-256
-- of the JSON bytes.
CREATE TABLE plan_archives (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id     uuid NOT NULL REFERENCES plans(id),
    archived_at timestamptz NOT NULL,
    archived_by uuid REFERENCES persons(id),
    reason      text,
    document    bytea NOT NULL,
    sha256      text NOT NULL,
    pdf         bytea NOT NULL
);
CREATE INDEX plan_archives_plan_idx ON plan_archives (plan_id, archived_at);
CREATE TRIGGER plan_archives_immutable BEFORE UPDATE OR DELETE ON plan_archives
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER plan_archives_no_truncate BEFORE TRUNCATE ON plan_archives
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Who read what: one row per viewer × plan × section (or person) per request. Append-only.
CREATE TABLE access_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    viewer_id   uuid NOT NULL REFERENCES persons(id),
    plan_id     uuid REFERENCES plans(id),
    subject_id  uuid REFERENCES persons(id),
    what        text NOT NULL,
    client_addr text
);
CREATE INDEX access_log_plan_idx ON access_log (plan_id, at DESC);
CREATE INDEX access_log_subject_idx ON access_log (subject_id, at DESC);
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- A warning is sent once per participant, threshold and expiry date.
CREATE TABLE consent_warnings (
    participant_id uuid NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    threshold_days integer NOT NULL,
    expires_on     date NOT NULL,
    sent_at        timestamptz NOT NULL,
    PRIMARY KEY (participant_id, threshold_days, expires_on)
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    roles        text[] NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    created_by   uuid REFERENCES persons(id),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Plans, consent, participants, person field visibility, visits, notification settings,
-- and the message tables the plan list's "ny melding" column reads.

ALTER TABLE persons ADD COLUMN search_first text NOT NULL DEFAULT '';
ALTER TABLE persons ADD COLUMN search_last text NOT NULL DEFAULT '';
UPDATE persons SET search_first = lower(first_name), search_last = lower(last_name);
CREATE INDEX persons_search_last_idx ON persons (search_last text_pattern_ops);
CREATE INDEX persons_search_first_idx ON persons (search_first text_pattern_ops);
CREATE INDEX persons_identity_idx ON persons (search_first, search_last, birth_date);

CREATE TABLE person_field_visibility (
    person_id  uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    field      text NOT NULL CHECK (field IN ('BIRTH_DATE', 'WORKPLACE', 'EMAIL', 'MOBILE', 'PHONE', 'FAX', 'ADDRESS')),
    visibility text NOT NULL CHECK (visibility IN ('PRIVATE', 'PLAN', 'ALL')),
    PRIMARY KEY (person_id, field)
);

CREATE TABLE plans (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    short_name       text NOT NULL,
    type             text NOT NULL CHECK (type IN ('IP', 'IOP', 'IUP', 'STAFETTLOGG')),
    status           text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ENDED')),
    start_date       date NOT NULL,
    end_date         date,
    revision_date    date,
    service_unit_id  uuid REFERENCES service_units(id),
    consent_id       uuid,
    last_archived_at timestamptz,
    changed_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    created_by       uuid REFERENCES persons(id)
);
CREATE INDEX plans_created_idx ON plans (created_at, id);

CREATE TABLE consents (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id             uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    given_by            uuid NOT NULL REFERENCES persons(id),
    given_by_relation   text NOT NULL CHECK (given_by_relation IN ('SELF', 'PARENT', 'GUARDIAN')),
    given_on            date NOT NULL,
    expires_on          date NOT NULL,
    revoked_on          date,
    scope               text,
    default_grant       jsonb NOT NULL,
    recorded_at         timestamptz NOT NULL,
    recorded_by         uuid REFERENCES persons(id),
    CHECK (expires_on >= given_on)
);
ALTER TABLE plans ADD CONSTRAINT plans_consent_fk FOREIGN KEY (consent_id) REFERENCES consents(id);

CREATE TABLE participants (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id            uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    person_id          uuid NOT NULL REFERENCES persons(id),
    role               text NOT NULL CHECK (role IN ('OWNER', 'COORDINATOR', 'SERVICE_PROVIDER', 'RELATIVE', 'GUARDIAN')),
    responsibility     text,
    rights             jsonb NOT NULL DEFAULT '{}'::jsonb,
    consent_expires_on date,
    joined_on          date NOT NULL,
    left_on            date,
    created_at         timestamptz NOT NULL
);
CREATE UNIQUE INDEX participants_current_idx ON participants (plan_id, person_id) WHERE left_on IS NULL;
CREATE INDEX participants_person_idx ON participants (person_id) WHERE left_on IS NULL;
CREATE UNIQUE INDEX participants_one_owner_idx ON participants (plan_id) WHERE role = 'OWNER' AND left_on IS NULL;

CREATE TABLE plan_visits (
    plan_id    uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    person_id  uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    visited_at timestamptz NOT NULL,
    PRIMARY KEY (plan_id, person_id)
);

CREATE TABLE notification_settings (
    participant_id uuid NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    event          text NOT NULL CHECK (event IN ('MESSAGE_TO_ME', 'GOAL_OR_ACTIVITY', 'COMMENT', 'CALENDAR_ENTRY', 'PARTICIPANT_ADDED')),
    sms            boolean NOT NULL,
    email          boolean NOT NULL,
    PRIMARY KEY (participant_id, event)
);

CREATE TABLE messages (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigserial UNIQUE,
    plan_id     uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    author_id   uuid NOT NULL REFERENCES participants(id),
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    to_all      boolean NOT NULL
);
CREATE INDEX messages_plan_idx ON messages (plan_id, created_at DESC, seq DESC);

CREATE TABLE message_recipients (
    message_id     uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    participant_id uuid NOT NULL REFERENCES participants(id),
    PRIMARY KEY (message_id, participant_id)
);
CREATE INDEX message_recipients_participant_idx ON message_recipients (participant_id);

-- Read state: a participant has read every message of a plan up to read_until.
CREATE TABLE message_reads (
    plan_id    uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    person_id  uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    read_until timestamptz NOT NULL,
    PRIMARY KEY (plan_id, person_id)
);

-- Plan content: goals (hovedmål/delmål), activities (tiltak), comments, calendar, documents;
-- idempotency keys for retried mutations.

CREATE TABLE goals (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id        uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    parent_id      uuid REFERENCES goals(id),
    title          text NOT NULL,
    description    text,
    status         text NOT NULL,
    responsible_id uuid REFERENCES participants(id),
    created_by     uuid NOT NULL REFERENCES participants(id),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX goals_plan_idx ON goals (plan_id, created_at);
CREATE INDEX goals_parent_idx ON goals (parent_id);

CREATE TABLE activities (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id        uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    goal_id        uuid NOT NULL REFERENCES goals(id),
    title          text NOT NULL,
    description    text,
    status         text NOT NULL,
    responsible_id uuid REFERENCES participants(id),
    start_date     date,
    end_date       date,
    created_by     uuid NOT NULL REFERENCES participants(id),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE INDEX activities_goal_idx ON activities (goal_id, created_at);

CREATE TABLE comments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id     uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    goal_id     uuid REFERENCES goals(id),
    activity_id uuid REFERENCES activities(id),
    author_id   uuid NOT NULL REFERENCES participants(id),
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    CHECK ((goal_id IS NULL) <> (activity_id IS NULL))
);
CREATE INDEX comments_goal_idx ON comments (goal_id, created_at);
CREATE INDEX comments_activity_idx ON comments (activity_id, created_at);

CREATE TABLE calendar_entries (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id     uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    title       text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz,
    location    text,
    created_by  uuid NOT NULL REFERENCES participants(id),
    created_at  timestamptz NOT NULL,
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
);
CREATE INDEX calendar_plan_idx ON calendar_entries (plan_id, starts_at);

CREATE TABLE documents (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id      uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    name         text NOT NULL,
    content_type text NOT NULL,
    size_bytes   integer NOT NULL,
    sha256       text NOT NULL,
    uploaded_by  uuid NOT NULL REFERENCES participants(id),
    uploaded_at  timestamptz NOT NULL
);
CREATE INDEX documents_plan_idx ON documents (plan_id, uploaded_at);

CREATE TABLE document_contents (
    document_id uuid PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    content     bytea NOT NULL
);

-- A retried mutation with the same Idempotency-Key answers the first result.
CREATE TABLE idempotency_keys (
    person_id    uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    key          text NOT NULL,
    request_hash text NOT NULL,
    response     text,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (person_id, key)
);

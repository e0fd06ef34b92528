-- The plan as living work (docs/api.md): calendar entries are edited and cancelled (a
-- cancelled entry stays, marked), documents are withdrawn (their bytes kept for the archive
-- duty), and revisions (revidering) are recorded and reminded of.
ALTER TABLE calendar_entries
    ADD COLUMN updated_at timestamptz,
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancel_reason text;

ALTER TABLE documents
    ADD COLUMN withdrawn_at timestamptz,
    ADD COLUMN withdrawn_by uuid REFERENCES participants(id),
    ADD COLUMN withdraw_reason text;

CREATE TABLE revisions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id            uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    revised_on         date NOT NULL,
    next_revision_date date,
    participant_ids    uuid[] NOT NULL,
    note               text,
    recorded_by        uuid NOT NULL REFERENCES participants(id),
    recorded_at        timestamptz NOT NULL
);
CREATE INDEX revisions_plan_idx ON revisions (plan_id, revised_on DESC);

-- Each reminder once: per plan, revision date and threshold (30, 7, 0 days before).
CREATE TABLE revision_reminders (
    plan_id        uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    revision_date  date NOT NULL,
    threshold_days integer NOT NULL,
    sent_at        timestamptz NOT NULL,
    PRIMARY KEY (plan_id, revision_date, threshold_days)
);
CREATE INDEX plans_revision_idx ON plans (revision_date) WHERE status = 'ACTIVE';

-- Consent given by the person in the app (giveConsent) beside consent typed in from paper.
ALTER TABLE consents ADD COLUMN given_through text NOT NULL DEFAULT 'PAPER'
    CHECK (given_through IN ('PAPER', 'APP'));

-- The coordinator proposes a consent and names who gives it; that person gives it.
CREATE TABLE consent_proposals (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id           uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    given_by          uuid NOT NULL REFERENCES persons(id),
    given_by_relation text NOT NULL CHECK (given_by_relation IN ('SELF', 'PARENT', 'GUARDIAN')),
    expires_on        date NOT NULL,
    scope             text,
    default_grant     jsonb NOT NULL,
    proposed_by       uuid NOT NULL REFERENCES participants(id),
    proposed_at       timestamptz NOT NULL,
    closed_at         timestamptz,
    consent_id        uuid REFERENCES consents(id)
);
CREATE UNIQUE INDEX consent_proposals_open_idx ON consent_proposals (plan_id)
    WHERE closed_at IS NULL;

-- The owner's (or representative's) own reminder 30 days before a consent expires, once.
CREATE TABLE consent_owner_reminders (
    consent_id uuid PRIMARY KEY REFERENCES consents(id) ON DELETE CASCADE,
    sent_at    timestamptz NOT NULL
);

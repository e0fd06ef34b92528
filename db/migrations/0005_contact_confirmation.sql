-- Contact data an account holder has confirmed. One-time codes, reset links and notices go only
-- here; persons.email/mobile of an account holder change only after the holder confirms.

ALTER TABLE accounts ADD COLUMN confirmed_email text;
ALTER TABLE accounts ADD COLUMN confirmed_mobile text;
-- Existing accounts: what they have been using so far counts as confirmed.
UPDATE accounts a
   SET confirmed_email = nullif(btrim(p.email), ''),
       confirmed_mobile = nullif(btrim(p.mobile), '')
  FROM persons p
 WHERE p.id = a.person_id;

-- The address an invitation link was sent to: using the link confirms exactly that address,
-- whatever persons.email says by then.
ALTER TABLE account_tokens ADD COLUMN sent_to text;

-- A requested change of a holder's e-mail or mobile, waiting for the holder to confirm it.
-- new_value NULL asks to remove the contact. The token is single-use and stored only as a hash.
CREATE TABLE contact_changes (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id    uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    account_id   uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    field        text NOT NULL CHECK (field IN ('EMAIL', 'MOBILE')),
    new_value    text,
    token_hash   bytea NOT NULL UNIQUE,
    requested_by uuid REFERENCES persons(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    CHECK (expires_at > created_at),
    CHECK (confirmed_at IS NULL OR cancelled_at IS NULL)
);
CREATE INDEX contact_changes_open_idx ON contact_changes (person_id, field)
    WHERE confirmed_at IS NULL AND cancelled_at IS NULL;

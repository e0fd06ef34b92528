-- Secrets at rest (docs/secrets.md). An outbox row that carries a one-time code or a link token
-- is `secret`: its body is sealed with PLANGRUPPE_SECRET_KEY while it waits, it is never sent
-- after `expires_at` (a login code is dropped, not delivered late), and its body is cleared in
-- the transaction that marks it sent, and when it is given up or expires.

ALTER TABLE outbox
    ADD COLUMN secret     boolean NOT NULL DEFAULT false,
    ADD COLUMN expires_at timestamptz,
    ADD CONSTRAINT outbox_secret_expires CHECK (NOT secret OR expires_at IS NOT NULL);

-- Rows written before this migration: login codes, password resets and invitations, known by
-- their texts (resolvers/texts.py as of this version), and anything carrying a link token.
UPDATE outbox
   SET secret = true,
       expires_at = created_at + CASE
           WHEN subject = 'Du er invitert til plangruppe' THEN interval '7 days'
           WHEN subject = 'Engangskode for innlogging i plangruppe'
             OR (channel = 'SMS' AND body LIKE 'Engangskode for plangruppe:%')
               THEN interval '5 minutes'
           ELSE interval '30 minutes'
       END
 WHERE subject IN ('Engangskode for innlogging i plangruppe',
                   'Tilbakestill passordet ditt i plangruppe',
                   'Du er invitert til plangruppe')
    OR (channel = 'SMS' AND body LIKE 'Engangskode for plangruppe:%')
    OR body LIKE '%?token=%';

-- Those already sent, given up or expired lose their body now; the rest wait, sealed by the
-- gateway at its next start, and are cleared by the worker like any new secret.
UPDATE outbox
   SET body = '',
       last_error = CASE WHEN sent_at IS NULL AND failed_at IS NULL
                         THEN 'expired before delivery' ELSE last_error END,
       failed_at = CASE WHEN sent_at IS NULL THEN coalesce(failed_at, now()) END
 WHERE secret AND (sent_at IS NOT NULL OR failed_at IS NOT NULL OR expires_at <= now());

-- The worker's sweep finds the secrets that still hold a body.
CREATE INDEX outbox_secret_body_idx ON outbox (expires_at) WHERE secret AND body <> '';

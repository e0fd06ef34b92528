-- A message can be edited or withdrawn by its author for a short while, before anyone else
-- has read it (PLANGRUPPE_MESSAGE_EDIT_MINUTES). The message shows its latest text, or no
-- text once withdrawn; the texts it had before are kept apart, for the archive duty, and
-- read by no API path.
ALTER TABLE messages
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN withdrawn_at timestamptz,
    -- Each change takes the next number: the live bus catches up on changes by it, as on
    -- new messages by seq.
    ADD COLUMN change_seq bigint;

CREATE SEQUENCE message_change_seq;

CREATE UNIQUE INDEX messages_change_seq ON messages (change_seq) WHERE change_seq IS NOT NULL;

CREATE TABLE message_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    body        text NOT NULL,
    replaced_at timestamptz NOT NULL
);
CREATE INDEX message_versions_message ON message_versions (message_id, id);

-- A message that can no longer be edited is corrected by a new one that names it.
ALTER TABLE messages ADD COLUMN corrects_id uuid REFERENCES messages (id) ON DELETE SET NULL;

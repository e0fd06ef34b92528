-- An ended plan's content goes when its retention has passed (10 years after it ended by
-- default); the plan's header, participants and sealed archives stay. Marked here.
ALTER TABLE plans ADD COLUMN content_purged_at timestamptz;

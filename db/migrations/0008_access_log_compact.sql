-- The access log, compact: one row per request and (plan, what), the persons whose data were
-- read as an array. A plan list used to write one row per owner's birth date (about 43 rows of
-- 210 bytes per view of 50 plans); it now writes one. The information is the same: who read,
-- when, from where, which plan section or which persons' field. Existing rows keep their
-- content, each subject becoming a one-element array (the append-only trigger is lifted for
-- this rewrite only, inside the migration's transaction).
ALTER TABLE access_log ADD COLUMN subject_ids uuid[];
ALTER TABLE access_log DISABLE TRIGGER access_log_append_only;
UPDATE access_log SET subject_ids = ARRAY[subject_id] WHERE subject_id IS NOT NULL;
ALTER TABLE access_log ENABLE TRIGGER access_log_append_only;
DROP INDEX access_log_subject_idx;
ALTER TABLE access_log DROP COLUMN subject_id;
ALTER TABLE access_log ADD CONSTRAINT access_log_subjects_not_empty
    CHECK (subject_ids IS NULL OR cardinality(subject_ids) > 0);
-- myAccessLog finds a person's reads through this index (a GIN index takes an insert into its
-- pending list, which is cheap to write).
CREATE INDEX access_log_subjects_idx ON access_log USING gin (subject_ids);
DROP INDEX access_log_plan_idx;
CREATE INDEX access_log_plan_idx ON access_log (plan_id, at DESC) WHERE plan_id IS NOT NULL;

-- One row per read, as the log was before: for people and tools that read the log directly.
CREATE VIEW access_log_reads AS
    SELECT l.id, l.at, l.viewer_id, l.plan_id, s.subject_id, l.what, l.client_addr
    FROM access_log l
    LEFT JOIN LATERAL unnest(l.subject_ids) AS s(subject_id) ON TRUE;

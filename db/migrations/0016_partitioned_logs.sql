-- The access log (innsyn) and the audit log, partitioned by month of `at`. Both are kept for
-- ten years and are append-only: old months go by dropping whole partitions
-- (`plangruppe drop-log-partitions`), never by UPDATE or DELETE. Rows are moved into the new
-- tables here, in the migration's transaction; ids and their order are kept.

-- Creates the monthly partitions of both logs from `from_month` through `ahead` months past
-- now (the scheduled job calls it so a new month never falls into the default partition).
CREATE FUNCTION log_partitions_ensure(from_month date, ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', from_month)::date;
    last date := (date_trunc('month', now()) + make_interval(months => ahead))::date;
    made integer := 0;
    in_default boolean;
    log_table text;
    part text;
BEGIN
    WHILE month <= last LOOP
        FOREACH log_table IN ARRAY ARRAY['access_log', 'audit_log'] LOOP
            part := format('%s_%s', log_table, to_char(month, 'YYYY_MM'));
            -- A month whose rows already went to the default partition (a clock far ahead)
            -- keeps them there: a new partition would clash with them.
            EXECUTE format(
                'SELECT EXISTS (SELECT 1 FROM %I WHERE at >= %L AND at < %L)',
                log_table || '_default', month::timestamptz,
                (month + interval '1 month')::timestamptz
            ) INTO STRICT in_default;
            IF to_regclass(part) IS NULL AND NOT in_default THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    part, log_table, month::timestamptz,
                    (month + interval '1 month')::timestamptz
                );
                made := made + 1;
            END IF;
        END LOOP;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN made;
END;
$$;

-- access_log -----------------------------------------------------------------------------------
DROP VIEW access_log_reads;
ALTER TABLE access_log RENAME TO access_log_unpartitioned;
ALTER SEQUENCE access_log_id_seq RENAME TO access_log_unpartitioned_id_seq;
CREATE TABLE access_log (
    id          bigint NOT NULL DEFAULT nextval('access_log_unpartitioned_id_seq'),
    at          timestamptz NOT NULL,
    viewer_id   uuid NOT NULL REFERENCES persons(id),
    plan_id     uuid REFERENCES plans(id),
    what        text NOT NULL,
    client_addr text,
    subject_ids uuid[] CHECK (subject_ids IS NULL OR cardinality(subject_ids) > 0),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE access_log_unpartitioned_id_seq RENAME TO access_log_id_seq;
ALTER SEQUENCE access_log_id_seq OWNED BY access_log.id;
CREATE TABLE access_log_default PARTITION OF access_log DEFAULT;

-- audit_log ------------------------------------------------------------------------------------
ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER SEQUENCE audit_log_id_seq RENAME TO audit_log_unpartitioned_id_seq;
CREATE TABLE audit_log (
    id          bigint NOT NULL DEFAULT nextval('audit_log_unpartitioned_id_seq'),
    at          timestamptz NOT NULL,
    actor_id    uuid,
    action      text NOT NULL,
    target      text,
    client_addr text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_log_unpartitioned_id_seq RENAME TO audit_log_id_seq;
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- Monthly partitions for what exists and three months ahead; then the rows move in.
SELECT log_partitions_ensure(
    least(
        coalesce((SELECT min(at) FROM access_log_unpartitioned), now()),
        coalesce((SELECT min(at) FROM audit_log_unpartitioned), now())
    )::date,
    3
);
INSERT INTO access_log (id, at, viewer_id, plan_id, what, client_addr, subject_ids)
    SELECT id, at, viewer_id, plan_id, what, client_addr, subject_ids
    FROM access_log_unpartitioned;
INSERT INTO audit_log (id, at, actor_id, action, target, client_addr, detail)
    SELECT id, at, actor_id, action, target, client_addr, detail FROM audit_log_unpartitioned;
DROP TABLE access_log_unpartitioned;
DROP TABLE audit_log_unpartitioned;

-- The indexes and the append-only triggers, on the partitioned tables (every partition, now
-- and later, gets them).
CREATE INDEX access_log_subjects_idx ON access_log USING gin (subject_ids);
CREATE INDEX access_log_plan_idx ON access_log (plan_id, id DESC) WHERE plan_id IS NOT NULL;
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE VIEW access_log_reads AS
    SELECT l.id, l.at, l.viewer_id, l.plan_id, s.subject_id, l.what, l.client_addr
    FROM access_log l
    LEFT JOIN LATERAL unnest(l.subject_ids) AS s(subject_id) ON TRUE;

-- The plan reports add up cells of all plans (type, status, service unit, start month). At
-- 100,000 plans reading them per request cost 40 ms; they change only when a plan is created,
-- changes one of those columns, or a service unit is renamed. This version moves on every
-- such statement, so a process keeps the cells it read until the version moves.
CREATE TABLE report_versions (
    name    text PRIMARY KEY,
    version bigint NOT NULL
);
INSERT INTO report_versions (name, version) VALUES ('plan_cells', 1);

CREATE FUNCTION bump_plan_cells_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_versions SET version = version + 1 WHERE name = 'plan_cells';
    RETURN NULL;
END $$;

CREATE TRIGGER plans_cells_version
    AFTER INSERT OR DELETE OR UPDATE OF type, status, service_unit_id, start_date ON plans
    FOR EACH STATEMENT EXECUTE FUNCTION bump_plan_cells_version();
CREATE TRIGGER plans_cells_version_truncate AFTER TRUNCATE ON plans
    FOR EACH STATEMENT EXECUTE FUNCTION bump_plan_cells_version();
CREATE TRIGGER service_units_cells_version
    AFTER INSERT OR DELETE OR UPDATE OF name ON service_units
    FOR EACH STATEMENT EXECUTE FUNCTION bump_plan_cells_version();

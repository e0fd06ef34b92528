-- Plan.history reads a plan's entries from the audit log: those about the plan itself
-- (target = the plan's id) and those about its content (detail.plan = the plan's id).
CREATE INDEX audit_log_plan_idx ON audit_log ((coalesce(detail->>'plan', target)), id DESC);

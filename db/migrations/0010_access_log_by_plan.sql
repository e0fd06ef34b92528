-- myAccessLog pages by id, newest first: the reads of an owner's plan come from this index in
-- that order (it was by time, which the page does not sort by).
DROP INDEX access_log_plan_idx;
CREATE INDEX access_log_plan_idx ON access_log (plan_id, id DESC) WHERE plan_id IS NOT NULL;

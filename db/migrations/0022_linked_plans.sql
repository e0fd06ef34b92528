-- Linked plans («fagplaner»): an IP links the plans under it (IOP, IUP, a stafettlogg), one
-- IP above each, both for the same person; a goal of the lower plan can name the IP goal it
-- serves. Who sees a link is decided by the section right linked_plans (a consent or an
-- override without the key gives NONE) and by taking part in the other plan.
CREATE TABLE plan_links (
    lower_plan_id uuid PRIMARY KEY REFERENCES plans(id) ON DELETE CASCADE,
    upper_plan_id uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    linked_at     timestamptz NOT NULL,
    linked_by     uuid REFERENCES persons(id) ON DELETE SET NULL,
    CHECK (lower_plan_id <> upper_plan_id)
);
CREATE INDEX plan_links_upper ON plan_links (upper_plan_id, linked_at, lower_plan_id);

ALTER TABLE goals ADD COLUMN serves_goal_id uuid REFERENCES goals(id) ON DELETE SET NULL;
CREATE INDEX goals_serves ON goals (serves_goal_id) WHERE serves_goal_id IS NOT NULL;

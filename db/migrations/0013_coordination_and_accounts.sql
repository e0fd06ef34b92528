-- Plans that outlive their coordinator, accounts that follow people (docs/api.md).

-- A deactivated account cannot log in or reset its password; the person stays in the plans.
ALTER TABLE accounts ADD COLUMN deactivated_at timestamptz;

-- «Begrens søk»: the person is found by searchPersons only by those who keep the register
-- or share a current plan with them.
ALTER TABLE persons ADD COLUMN search_restricted boolean NOT NULL DEFAULT false;

-- planOverview pages plans of one service unit in creation order.
CREATE INDEX plans_unit_created_idx ON plans (service_unit_id, created_at, id);
-- planOverview finds each plan's current owner and coordinator.
CREATE INDEX participants_plan_role_idx ON participants (plan_id, role) WHERE left_on IS NULL;

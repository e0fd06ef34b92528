"""The access rules: every rule defined once, here, as pure functions over plain facts.

Callers write ``from resolvers import policy`` and ``policy.section_denial(...)``. Each rule
lives in the module named for what it guards (docs/access-model.md, "Where each rule lives"):

- ``facts``: the data the rules decide on (PlanFacts, Participation, ConsentFacts, Grant,
  OwnerFacts) and the names they use (roles, levels, sections, person fields);
- ``reasons``: ``Reason``, why a rule refused (the FORBIDDEN error's ``reason``);
- ``consent``: consent state and expiry, the grant it gives, who represents the owner;
- ``sections``: the effective grant, reading and writing a section, the messages row filter;
- ``plans``: who may know a plan exists, the coordinator's acts on it;
- ``participants``: a participant reached through any field, their ansvar and rights;
- ``records``: archives and print;
- ``persons``: cross-plan field visibility of a person, what only the person may do;
- ``admin``: who may administer persons, accounts, plans, units, keys and reports;
- ``build``: the facts built from loaded rows (imported by itself: it reads the loaders).

Two independent rules decide every field (DESIGN.md, "The access model"): consent-specified
access inside a plan, and cross-plan field visibility of a person. A rule returns ``None``
when the viewer may go ahead, or the ``Reason`` it may not. Rules take today's date as an
argument; nothing here reads a clock or a database (build.py excepted, which loads facts).
"""

from types import ModuleType

from resolvers.policy import (
    accounts,
    admin,
    consent,
    participants,
    persons,
    plans,
    records,
    sections,
)
from resolvers.policy.accounts import login_channel_denial
from resolvers.policy.admin import (
    API_KEY_ROLES,
    account_admin_denial,
    account_manage_denial,
    api_key_admin_denial,
    api_key_request_denial,
    api_key_roles_denial,
    global_roles_denial,
    keeps_person_register,
    person_erasure_denial,
    person_export_denial,
    plan_create_denial,
    reports_denial,
    service_unit_admin_denial,
    unit_scope_denial,
)
from resolvers.policy.consent import (
    age_on,
    consent_denial,
    consent_expiry,
    consent_read_denial,
    give_proposed_consent_denial,
    is_lead,
    may_give_consent,
    represents_owner,
    revoke_consent_denial,
)
from resolvers.policy.expr import Rule
from resolvers.policy.facts import (
    COORDINATING_UNIT,
    COORDINATOR,
    DEFAULT_VISIBILITY,
    FULL,
    GUARDIAN,
    LOCAL_ADMIN,
    NONE,
    NOTHING,
    OWNER,
    PARENT_REPRESENTS_UNTIL_AGE,
    PERSON_FIELDS,
    READ,
    RELATIVE,
    REPORTER,
    SECTIONS,
    SERVICE_PROVIDER,
    SYSTEM_ADMIN,
    VISIBLE_IN_PLAN,
    VISIBLE_TO_ALL,
    WRITE,
    ConsentFacts,
    Grant,
    OwnerFacts,
    Participation,
    PlanFacts,
)
from resolvers.policy.participants import (
    own_participation_denial,
    own_responsibility_denial,
    participant_denial,
    participant_detail_denial,
    participant_rights_denial,
)
from resolvers.policy.persons import (
    contact_confirmation_denial,
    global_roles_read_denial,
    own_account_denial,
    person_edit_denial,
    person_field_denial,
    read_is_logged,
    search_finds,
    shares_for_visibility,
)
from resolvers.policy.plans import (
    coordinator_change_denial,
    coordinator_denial,
    participation_denial,
    plan_edit_denial,
    plan_header_visible,
    plan_overview_denial,
    plan_visible,
)
from resolvers.policy.reasons import Denial, Reason
from resolvers.policy.records import (
    archive_download_denial,
    archives_read_denial,
    history_denial,
    print_denial,
)
from resolvers.policy.sections import (
    SAME_FOR_EVERY_READER,
    effective_grant,
    granted,
    linked_plan_visible,
    live_messages_denial,
    message_read_denial,
    message_visible,
    own_content_denial,
    own_message_change_denial,
    section_denial,
    write_denial,
)

# The modules that define rules, in the order docs/access-rules.md lists them.
RULE_MODULES = (consent, sections, plans, participants, records, persons, admin, accounts)


def rules_by_module() -> list[tuple[ModuleType, list[Rule]]]:
    """The rules each module defines (alone or in a dict per section), in definition order;
    a rule another module imports is listed where it is defined."""
    seen: set[int] = set()
    listed = []
    for module in RULE_MODULES:
        found = []
        for value in vars(module).values():
            for rule in value.values() if isinstance(value, dict) else [value]:
                if isinstance(rule, Rule) and id(rule) not in seen:
                    seen.add(id(rule))
                    found.append(rule)
        listed.append((module, found))
    return listed


def rules() -> list[Rule]:
    """Every rule, each with its one definition (for the agreement test and the docs)."""
    return [rule for _, found in rules_by_module() for rule in found]


__all__ = [
    "API_KEY_ROLES",
    "COORDINATING_UNIT",
    "COORDINATOR",
    "DEFAULT_VISIBILITY",
    "FULL",
    "GUARDIAN",
    "LOCAL_ADMIN",
    "NONE",
    "NOTHING",
    "OWNER",
    "PARENT_REPRESENTS_UNTIL_AGE",
    "PERSON_FIELDS",
    "READ",
    "RELATIVE",
    "REPORTER",
    "RULE_MODULES",
    "SAME_FOR_EVERY_READER",
    "SECTIONS",
    "SERVICE_PROVIDER",
    "SYSTEM_ADMIN",
    "VISIBLE_IN_PLAN",
    "VISIBLE_TO_ALL",
    "WRITE",
    "ConsentFacts",
    "Denial",
    "Grant",
    "OwnerFacts",
    "Participation",
    "PlanFacts",
    "Reason",
    "Rule",
    "account_admin_denial",
    "account_manage_denial",
    "age_on",
    "api_key_admin_denial",
    "api_key_request_denial",
    "api_key_roles_denial",
    "archive_download_denial",
    "archives_read_denial",
    "consent_denial",
    "consent_expiry",
    "consent_read_denial",
    "contact_confirmation_denial",
    "coordinator_change_denial",
    "coordinator_denial",
    "effective_grant",
    "give_proposed_consent_denial",
    "global_roles_denial",
    "global_roles_read_denial",
    "granted",
    "history_denial",
    "is_lead",
    "keeps_person_register",
    "linked_plan_visible",
    "live_messages_denial",
    "login_channel_denial",
    "may_give_consent",
    "message_read_denial",
    "message_visible",
    "own_account_denial",
    "own_content_denial",
    "own_message_change_denial",
    "own_participation_denial",
    "own_responsibility_denial",
    "participant_denial",
    "participant_detail_denial",
    "participant_rights_denial",
    "participation_denial",
    "person_edit_denial",
    "person_erasure_denial",
    "person_export_denial",
    "person_field_denial",
    "plan_create_denial",
    "plan_edit_denial",
    "plan_header_visible",
    "plan_overview_denial",
    "plan_visible",
    "print_denial",
    "read_is_logged",
    "reports_denial",
    "represents_owner",
    "revoke_consent_denial",
    "rules",
    "rules_by_module",
    "search_finds",
    "section_denial",
    "service_unit_admin_denial",
    "shares_for_visibility",
    "unit_scope_denial",
    "write_denial",
]

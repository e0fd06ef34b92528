"""Consent-specified access to a plan's sections: the grant a participant has, the effective
grant (Plan.myAccess), reading and writing a section, and the row filter on messages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Set
from typing import Any

from resolvers.policy.consent import CONSENT_STATE, IS_LEAD
from resolvers.policy.expr import And, Coalesce, Expr, Lit, Member, Not, Or, Rule, case
from resolvers.policy.facts import (
    COORDINATOR,
    NONE,
    READ,
    RIGHTS,
    SECTIONS,
    WRITE,
    ConsentFacts,
    F,
    Grant,
    Participation,
    PlanFacts,
    default_level,
    default_right,
    own_level,
    own_right,
    plan_env,
)
from resolvers.policy.reasons import Denial, Reason


def _granted(section: str) -> Rule:
    return Rule(
        f"granted.{section}",
        "The level the consent gives a participant on a section, before dates and the plan's"
        " state: WRITE for owner and coordinator, else the participant's own level, else the"
        " consent's default, else NONE.",
        case(
            (IS_LEAD.expr, WRITE),
            (Not(F.consent_exists), NONE),
            otherwise=Coalesce(own_level(section), default_level(section), NONE),
        ),
        kind="value",
    )


def _level(section: str) -> Rule:
    granted = GRANTED[section].expr
    return Rule(
        f"level.{section}",
        "The effective level on a section now (Plan.myAccess): NONE without a valid consent,"
        " and never above READ once the plan has ended.",
        case(
            (CONSENT_STATE.expr.is_not_null(), NONE),
            (And(F.plan_ended, granted == WRITE), READ),
            otherwise=granted,
        ),
        kind="value",
    )


def _granted_right(name: str) -> Rule:
    return Rule(
        f"granted.{name}",
        "A right as the consent gives it (editPerson, print), before dates and the plan's state.",
        case(
            (IS_LEAD.expr, True),
            (Not(F.consent_exists), False),
            otherwise=Coalesce(own_right(name), default_right(name), False),
        ),
        kind="bool",
    )


def _right(name: str) -> Rule:
    ended: Expr = F.plan_ended if name == "edit_person" else Lit(False)
    return Rule(
        f"right.{name}",
        "A right of the grant now: none without a valid consent; editPerson also ends with the"
        " plan.",
        case(
            (CONSENT_STATE.expr.is_not_null(), False),
            (ended, False),
            otherwise=GRANTED[name].expr,
        ),
        kind="bool",
    )


def _read(section: str) -> Rule:
    return Rule(
        f"read.{section}",
        "Reading a section needs a current participation, a valid consent and READ or WRITE.",
        Coalesce(CONSENT_STATE.expr, case((LEVEL[section].expr == NONE, Reason.NO_GRANT))),
    )


def _write(section: str) -> Rule:
    return Rule(
        f"write.{section}",
        "Writing needs an active plan, a valid consent and WRITE on the section.",
        case(
            (F.plan_ended, Reason.PLAN_ENDED),
            otherwise=Coalesce(
                CONSENT_STATE.expr, case((LEVEL[section].expr != WRITE, Reason.NO_GRANT))
            ),
        ),
    )


GRANTED = {s: _granted(s) for s in SECTIONS} | {r: _granted_right(r) for r in RIGHTS}
LEVEL = {s: _level(s) for s in SECTIONS} | {r: _right(r) for r in RIGHTS}
SECTION_READ = {s: _read(s) for s in SECTIONS}
SECTION_WRITE = {s: _write(s) for s in SECTIONS}

MESSAGE_VISIBLE = Rule(
    "message_visible",
    "Row filter on messages: to the group, or to chosen recipients who alone see it with its"
    " author, the owner and the coordinator.",
    And(
        F.mine_id.is_not_null(),
        Or(
            F.to_all,
            IS_LEAD.expr,
            F.mine_id == F.author_id,
            Member(F.mine_id, F.recipient_ids),
        ),
    ),
    kind="bool",
)


MESSAGE_READ = Rule(
    "message_read",
    "One message reached by any field: MESSAGES >= READ, and meant for the viewer (else NO_GRANT).",
    Coalesce(
        SECTION_READ["messages"].expr,
        case((Not(MESSAGE_VISIBLE.expr), Reason.NO_GRANT)),
    ),
)

LIVE_MESSAGES = Rule(
    "live_messages",
    "A subscription to a plan's new messages lasts while the subscriber takes part, the plan"
    " is active (an ended plan has no live messages) and MESSAGES >= READ.",
    case(
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (F.plan_ended, Reason.PLAN_ENDED),
        otherwise=SECTION_READ["messages"].expr,
    ),
)


def _grant(rules: Mapping[str, Rule], env: Mapping[str, object]) -> Grant:
    levels: dict[str, Any] = {s: rules[s](env) for s in SECTIONS}
    rights: dict[str, Any] = {r: bool(rules[r](env)) for r in RIGHTS}
    return Grant(**levels, **rights)


def granted(consent: ConsentFacts | None, mine: Participation) -> Grant:
    """The grant the consent gives a participant (no dates or plan state applied)."""
    plan = PlanFacts(plan_id=uuid.UUID(int=0), ended=False, consent=consent, mine=mine)
    return _grant(GRANTED, plan_env(plan, dt.date.min))


def effective_grant(plan: PlanFacts, today: dt.date) -> Grant:
    """What the viewer may read and write here now (Plan.myAccess)."""
    return _grant(LEVEL, plan_env(plan, today))


def section_denial(plan: PlanFacts, section: str, today: dt.date) -> Denial:
    denial: Denial = SECTION_READ[section](plan_env(plan, today))
    return denial


def write_denial(plan: PlanFacts, section: str, today: dt.date) -> Denial:
    denial: Denial = SECTION_WRITE[section](plan_env(plan, today))
    return denial


def message_visible(
    *,
    plan: PlanFacts,
    author_id: uuid.UUID,
    recipient_ids: Set[uuid.UUID] | None,
) -> bool:
    env = {
        "mine_id": plan.mine.participant_id if plan.mine else None,
        "mine_role": plan.mine.role if plan.mine else None,
        "author_id": author_id,
        "to_all": recipient_ids is None,
        "recipient_ids": recipient_ids if recipient_ids is not None else frozenset(),
    }
    return bool(MESSAGE_VISIBLE(env))


# What a live message shows the same to every reader it reaches: once
# the message is admitted (MESSAGES >= READ and message_visible), these fields ask no further
# rule, so the event can be answered once and sent to every such subscriber. By type, each
# field maps to the type of its selection (None: a leaf). Not here: Message.plan (sections
# by grant), recipients (PARTICIPANTS), readByMe (the reader's own), a person's contact
# fields (cross-plan visibility). The author is named with the message whatever the
# reader's PARTICIPANTS grant; a person's name and position are visible to everyone.
SAME_FOR_EVERY_READER: Mapping[str, Mapping[str, str | None]] = {
    "Message": {
        "id": None,
        "body": None,
        "createdAt": None,
        "editedAt": None,
        "withdrawnAt": None,
        "author": "Participant",
    },
    "Participant": {
        "id": None,
        "role": None,
        "joinedOn": None,
        "leftOn": None,
        "person": "Person",
    },
    "Person": {"id": None, "firstName": None, "lastName": None, "position": None},
}


OWN_CONTENT = Rule(
    "own_content",
    "Changing or withdrawing what is already in a plan (editing or cancelling a calendar"
    " entry, withdrawing a document): the participant who made it, or the coordinator; on"
    " top of WRITE in the section, while the plan is active.",
    case(
        (Or(F.mine_id == F.author_id, F.mine_role == COORDINATOR), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)


def own_content_denial(plan: PlanFacts, author_id: uuid.UUID) -> Denial:
    env = {
        "mine_id": plan.mine.participant_id if plan.mine else None,
        "mine_role": plan.mine.role if plan.mine else None,
        "author_id": author_id,
    }
    denial: Denial = OWN_CONTENT(env)
    return denial


OWN_MESSAGE_CHANGE = Rule(
    "own_message_change",
    "Editing or withdrawing a message: only its author, and only while it is recent"
    " (PLANGRUPPE_MESSAGE_EDIT_MINUTES) and nobody it is for has read it; afterwards a"
    " correction is a new message. On top of MESSAGES WRITE, while the plan is active.",
    case(
        (Not(Coalesce(F.mine_id == F.author_id, Lit(False))), Reason.ROLE_REQUIRED),
        (Coalesce(F.message_read_by_others, Lit(True)), Reason.EDIT_WINDOW_CLOSED),
        (Not(Coalesce(F.message_recent, Lit(False))), Reason.EDIT_WINDOW_CLOSED),
    ),
)


LINKED_PLAN_VISIBLE = Rule(
    "linked_plan_visible",
    "Fagplaner: a link shows (Plan.linkedPlans, Goal.serves) to a viewer who may read the"
    " linked_plans section of the plan it is seen from and who takes part in the other plan"
    " now; to anyone else the link does not exist. These are the other plan's facts.",
    F.mine_id.is_not_null(),
    kind="bool",
)


def linked_plan_visible(other: PlanFacts) -> bool:
    """Whether the viewer takes part in the other plan of a link (LINKED_PLAN_VISIBLE)."""
    return bool(LINKED_PLAN_VISIBLE(plan_env(other, dt.date.min)))


def own_message_change_denial(
    plan: PlanFacts, *, author_id: uuid.UUID, recent: bool, read_by_others: bool
) -> Denial:
    env = {
        "mine_id": plan.mine.participant_id if plan.mine else None,
        "author_id": author_id,
        "message_recent": recent,
        "message_read_by_others": read_by_others,
    }
    denial: Denial = OWN_MESSAGE_CHANGE(env)
    return denial


def message_read_denial(
    plan: PlanFacts,
    *,
    author_id: uuid.UUID,
    recipient_ids: Set[uuid.UUID] | None,
    today: dt.date,
) -> Denial:
    env = plan_env(plan, today) | {
        "author_id": author_id,
        "to_all": recipient_ids is None,
        "recipient_ids": recipient_ids if recipient_ids is not None else frozenset(),
    }
    denial: Denial = MESSAGE_READ(env)
    return denial


def live_messages_denial(plan: PlanFacts | None, today: dt.date) -> Denial:
    if plan is None:
        return Reason.NOT_PARTICIPANT
    denial: Denial = LIVE_MESSAGES(plan_env(plan, today))
    return denial

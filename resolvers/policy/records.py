"""The plan's record: its archives (arkiv), its history (endringslogg) and printing it
(utskrift)."""

from __future__ import annotations

import datetime as dt

from resolvers.policy.consent import CONSENT_STATE, OWNER_SIDE, owner_side_denial
from resolvers.policy.expr import Coalesce, Rule, case
from resolvers.policy.facts import OwnerFacts, PlanFacts, plan_env
from resolvers.policy.reasons import Denial, Reason
from resolvers.policy.sections import LEVEL

ARCHIVES = Rule(
    "archives",
    "The list of archives (arkiv) and an archived copy, which is the plan's whole record: the"
    " coordinator, the owner and whoever represents the owner. Everyone else, the print right"
    " or not, prints what they may read now (print.pdf); the resolver answers them NOT_FOUND.",
    OWNER_SIDE.expr,
)

HISTORY = Rule(
    "history",
    "Endringslogg (Plan.history): who changed what and when in the plan, for the same people"
    " as its archives: the coordinator, the owner and whoever represents the owner.",
    OWNER_SIDE.expr,
)

PRINT = Rule(
    "print",
    "Utskrift: participants whose grant has the print right (with a valid consent).",
    Coalesce(CONSENT_STATE.expr, case((LEVEL["print"].expr, None), otherwise=Reason.NO_GRANT)),
)


def archives_read_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    return owner_side_denial(plan, owner, today)


def archive_download_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    return owner_side_denial(plan, owner, today)


def history_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    return owner_side_denial(plan, owner, today)


def print_denial(plan: PlanFacts, today: dt.date) -> Denial:
    denial: Denial = PRINT(plan_env(plan, today))
    return denial

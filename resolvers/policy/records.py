"""The plan's record: its archives (arkiv) and printing it (utskrift)."""

from __future__ import annotations

import datetime as dt

from resolvers.policy.consent import consent_denial, owner_side_denial
from resolvers.policy.facts import OwnerFacts, PlanFacts
from resolvers.policy.reasons import Denial, Reason
from resolvers.policy.sections import effective_grant


def archives_read_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """The list of archives (arkiv): the coordinator, the owner and whoever represents the
    owner."""
    return owner_side_denial(plan, owner, today)


def archive_download_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """An archived copy is the plan's whole record: the coordinator, the owner and whoever
    represents the owner. Everyone else, the print right or not, prints what they may read
    now (print.pdf); the resolver answers them NOT_FOUND."""
    return owner_side_denial(plan, owner, today)


def print_denial(plan: PlanFacts, today: dt.date) -> Denial:
    """Utskrift: participants whose grant has the print right (with a valid consent)."""
    reason = consent_denial(plan, today)
    if reason:
        return reason
    return None if effective_grant(plan, today).print else Reason.NO_GRANT

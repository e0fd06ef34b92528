"""The facts the policy decides on, built from a loaded plan view.

Every area (plans, content, messages, lifecycle, live, notify) asks the policy about a plan
through these facts, computed once per loaded view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db.plans import ParticipantRow, PlanView
from resolvers.context import Context
from resolvers.policy.facts import (
    NOTHING,
    OWNER,
    ConsentFacts,
    Grant,
    OwnerFacts,
    Participation,
    PlanFacts,
)


def grant(data: Mapping[str, Any] | None) -> Grant:
    """A stored grant (a consent's default or a participant's overrides) over NOTHING."""
    return NOTHING.overridden(data or {})


def facts(view: PlanView) -> PlanFacts:
    """The plain facts the policy decides on, computed once per loaded plan view."""
    cached = view.__dict__.get("_facts")
    if cached is None:
        cached = _facts(view)
        object.__setattr__(view, "_facts", cached)  # a per-request cache on a frozen row
    assert isinstance(cached, PlanFacts)
    return cached


def _facts(view: PlanView) -> PlanFacts:
    consent = view.consent
    mine = view.mine
    return PlanFacts(
        plan_id=view.plan.id,
        ended=view.plan.status == "ENDED",
        consent=ConsentFacts(consent.expires_on, consent.revoked_on, grant(consent.default_grant))
        if consent
        else None,
        mine=Participation(mine.id, mine.role, mine.rights, mine.consent_expires_on, mine.person_id)
        if mine
        else None,
    )


async def lead(ctx: Context, view: PlanView, role: str) -> ParticipantRow | None:
    """The plan's owner or coordinator: part of the plan header, seen by all who see the plan."""
    leads = await ctx.loaders.leads_by_plan.load(view.plan.id) or []
    return next((p for p in leads if p.role == role), None)


async def owner_facts(ctx: Context, view: PlanView) -> OwnerFacts:
    """The owner's birth date and the parent named by the plan's consent, for
    policy.represents_owner (loaded with the plan header, batched across plans)."""
    owner = await lead(ctx, view, OWNER)
    person = await ctx.loaders.person_by_id.load(owner.person_id) if owner else None
    consent = view.consent
    parents = (
        frozenset({consent.given_by})
        if consent is not None and consent.given_by_relation == "PARENT"
        else frozenset()
    )
    return OwnerFacts(person.birth_date if person else None, parents)

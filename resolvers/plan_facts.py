"""The facts resolvers/access.py decides on, taken from a loaded plan view.

Every area (plans, content, messages, lifecycle, live, notify) asks access.py about a plan
through these facts, computed once per loaded view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db.plans import ParticipantRow, PlanView
from resolvers import access
from resolvers.context import Context


def grant(data: Mapping[str, Any] | None) -> access.Grant:
    """A stored grant (a consent's default or a participant's overrides) over NOTHING."""
    return access.NOTHING.overridden(data or {})


def facts(view: PlanView) -> access.PlanFacts:
    """The plain facts access.py decides on, computed once per loaded plan view."""
    cached = view.__dict__.get("_facts")
    if cached is None:
        cached = _facts(view)
        object.__setattr__(view, "_facts", cached)  # a per-request cache on a frozen row
    assert isinstance(cached, access.PlanFacts)
    return cached


def _facts(view: PlanView) -> access.PlanFacts:
    consent = view.consent
    mine = view.mine
    return access.PlanFacts(
        plan_id=view.plan.id,
        ended=view.plan.status == "ENDED",
        consent=access.ConsentFacts(
            consent.expires_on, consent.revoked_on, grant(consent.default_grant)
        )
        if consent
        else None,
        mine=access.Participation(
            mine.id, mine.role, mine.rights, mine.consent_expires_on, mine.person_id
        )
        if mine
        else None,
    )


async def lead(ctx: Context, view: PlanView, role: str) -> ParticipantRow | None:
    """The plan's owner or coordinator: part of the plan header, seen by all who see the plan."""
    leads = await ctx.loaders.leads_by_plan.load(view.plan.id) or []
    return next((p for p in leads if p.role == role), None)


async def owner_facts(ctx: Context, view: PlanView) -> access.OwnerFacts:
    """The owner's birth date and the parent named by the plan's consent, for
    access.represents_owner (loaded with the plan header, batched across plans)."""
    owner = await lead(ctx, view, access.OWNER)
    person = await ctx.loaders.person_by_id.load(owner.person_id) if owner else None
    consent = view.consent
    parents = (
        frozenset({consent.given_by})
        if consent is not None and consent.given_by_relation == "PARENT"
        else frozenset()
    )
    return access.OwnerFacts(person.birth_date if person else None, parents)

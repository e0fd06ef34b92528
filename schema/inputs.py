"""Input types (API.md)."""

from __future__ import annotations

import datetime as dt

import strawberry

from schema.enums import Access, ConsentGiver, PlanStatus, PlanType


@strawberry.input(description="Contact details; omit a field to leave it, null to clear it.")
class PersonInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    birth_date: dt.date | None = strawberry.UNSET
    position: str | None = strawberry.UNSET
    workplace: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    fax: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    postcode: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    service_unit_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Tjenesteenhet; a LOCAL_ADMIN's new persons get the admin's own unit.",
    )

    def given(self) -> dict[str, object]:
        """The fields the caller sent, by their GraphQL names."""
        names = {
            "first_name": "firstName",
            "last_name": "lastName",
            "birth_date": "birthDate",
            "service_unit_id": "serviceUnitId",
        }
        return {names.get(k, k): v for k, v in vars(self).items() if v is not strawberry.UNSET}


@strawberry.input(description="A new plan: the owner (planeier) and the coordinator are persons.")
class CreatePlanInput:
    owner_id: strawberry.ID
    short_name: str
    type: PlanType
    start_date: dt.date
    coordinator_id: strawberry.ID
    service_unit_id: strawberry.ID | None = None
    revision_date: dt.date | None = None


@strawberry.input(description="Grants to set; an omitted field keeps its value (or NONE/false).")
class AccessGrantInput:
    participants: Access | None = None
    goals: Access | None = None
    activities: Access | None = None
    messages: Access | None = None
    calendar: Access | None = None
    documents: Access | None = None
    linked_plans: Access | None = None
    edit_person: bool | None = None
    print: bool | None = None

    def overrides(self) -> dict[str, object]:
        return {
            k: (v.value if isinstance(v, Access) else v)
            for k, v in vars(self).items()
            if v is not None
        }


@strawberry.input(description="A consent (samtykke) as given: by whom, when, until when, what.")
class ConsentInput:
    given_by_id: strawberry.ID
    given_by_relation: ConsentGiver
    given_on: dt.date
    expires_on: dt.date
    default_grant: AccessGrantInput
    scope: str | None = None


@strawberry.input(
    description="A consent the coordinator proposes: who gives it and as what, until when, what"
    " every participant gets. Given on the day the person gives it (giveConsent)."
)
class ConsentProposalInput:
    given_by_id: strawberry.ID
    given_by_relation: ConsentGiver
    expires_on: dt.date
    default_grant: AccessGrantInput
    scope: str | None = None


@strawberry.input(description="Narrows my plan list; ended plans only when includeEnded.")
class PlanFilter:
    owner_first_name: str | None = None
    owner_last_name: str | None = None
    include_ended: bool | None = False
    type: PlanType | None = None
    revision_due: bool | None = strawberry.field(
        default=False, description="Only plans whose revision date is today or earlier."
    )


@strawberry.input(
    description="Narrows planOverview; every filter given must hold (AND). Without any: every"
    " plan the caller may oversee."
)
class PlanOverviewFilter:
    status: PlanStatus | None = None
    no_active_coordinator: bool | None = strawberry.field(
        default=False,
        description="Plans without a current coordinator whose account is active.",
    )
    consent_expired: bool | None = strawberry.field(
        default=False, description="No consent, or revoked, or expired before today."
    )
    consent_expiring_within_days: int | None = strawberry.field(
        default=None, description="A current consent that expires within this many days (1-365)."
    )
    revision_overdue: bool | None = strawberry.field(
        default=False, description="Revision date (revideringsdato) before today."
    )
    inactive_for_days: int | None = strawberry.field(
        default=None,
        description="No change in the plan for this many days (1-3650): the last activity is"
        " the plan's latest audited change.",
    )

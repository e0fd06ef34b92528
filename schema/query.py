"""The Query root."""

from __future__ import annotations

import datetime as dt

import strawberry

from db.overview import OverviewFilter
from db.plans import PlanFilter as PlanFilterData
from resolvers import access_log, coordination, guard, persons, plans, reports
from schema.context import Info
from schema.inputs import PlanFilter, PlanOverviewFilter
from schema.types import (
    AccessLogConnection,
    AccessLogEntry,
    PageInfo,
    Person,
    Plan,
    PlanConnection,
    PlanEdge,
    PlanHeader,
    PlanHeaderConnection,
    PlanHeaderEdge,
    Reports,
    ServiceUnit,
)


@strawberry.type
class Query:
    @strawberry.field(
        description="The logged-in person; null when not logged in (no session needed)."
    )
    async def me(self, info: Info) -> Person | None:
        row = await persons.me(info.context)
        return Person(admitted=row) if row else None

    @strawberry.field(description="The plans I take part in (the plan list); anyone logged in.")
    async def plans(
        self,
        info: Info,
        filter: PlanFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> PlanConnection:
        flt = filter or PlanFilter()
        page = await plans.my_plans(
            info.context,
            PlanFilterData(
                owner_first_name=flt.owner_first_name,
                owner_last_name=flt.owner_last_name,
                include_ended=bool(flt.include_ended),
                type=flt.type.value if flt.type else None,
                revision_due_by=info.context.today() if flt.revision_due else None,
            ),
            50 if first is None else first,
            after,
        )
        edges = [PlanEdge(node=Plan(view=v), cursor=plans.encode_cursor(v)) for v in page.views]
        return PlanConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )

    @strawberry.field(
        description="Plan headers for those who look after plans (never a section): every plan"
        " for SYSTEM_ADMIN and the coordinating unit, the plans of their service unit for a"
        " LOCAL_ADMIN; FORBIDDEN (ROLE_REQUIRED) for anyone else. Oldest first. Each header read"
        " is written to the owner's access log."
    )
    async def plan_overview(
        self,
        info: Info,
        filter: PlanOverviewFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> PlanHeaderConnection:
        f = filter or PlanOverviewFilter()
        page = await coordination.plan_overview(
            info.context,
            OverviewFilter(
                status=f.status.value if f.status else None,
                no_active_coordinator=bool(f.no_active_coordinator),
                consent_expired=bool(f.consent_expired),
                consent_expiring_within_days=f.consent_expiring_within_days,
                revision_overdue=bool(f.revision_overdue),
                inactive_for_days=f.inactive_for_days,
            ),
            50 if first is None else first,
            after,
        )
        edges = [
            PlanHeaderEdge(
                node=PlanHeader(row=r, my_plan=r.id in page.taking_part),
                cursor=coordination.header_cursor(r),
            )
            for r in page.rows
        ]
        return PlanHeaderConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(
        description="A plan I take part in, or any plan for SYSTEM_ADMIN and COORDINATING_UNIT;"
        " NOT_FOUND otherwise."
    )
    async def plan(self, info: Info, id: strawberry.ID) -> Plan | None:
        return Plan(view=await guard.visible_plan(info.context, id))

    @strawberry.field(
        description="Find persons by name prefix and birth date (at most 50); anyone logged in."
        " A birth date matches only persons whose birth date I may see."
    )
    async def search_persons(
        self,
        info: Info,
        first_name: str | None = None,
        last_name: str | None = None,
        birth_date: dt.date | None = None,
        first: int | None = 20,
    ) -> list[Person]:
        rows = await persons.search(
            info.context, first_name, last_name, birth_date, 20 if first is None else first
        )
        return [Person(admitted=r) for r in rows]

    @strawberry.field(
        description="A person by id; anyone logged in (name and position; contact fields by"
        " their visibility). NOT_FOUND when there is none."
    )
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        return Person(admitted=await persons.person(info.context, id))

    @strawberry.field(description="Service units (tjenesteenheter); anyone logged in.")
    async def service_units(self, info: Info) -> list[ServiceUnit]:
        return [
            ServiceUnit(id=strawberry.ID(str(i)), name=n)
            for i, n in await persons.service_units(info.context)
        ]

    @strawberry.field(
        description="Aggregate reports: REPORTER or SYSTEM_ADMIN, or a reporting tool's key."
    )
    async def reports(self, info: Info) -> Reports | None:
        reports.require_reporter(info.context)
        return Reports()

    @strawberry.field(
        description="Innsyn i logg: who read my plans and my data, newest first; mine only,"
        " and the plans whose owner I represent (a verge; a parent while the owner is under 16)."
    )
    async def my_access_log(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> AccessLogConnection:
        page = await access_log.my_access_log(info.context, 50 if first is None else first, after)
        return AccessLogConnection(
            edges=[AccessLogEntry(row=r) for r in page.rows],
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=str(page.rows[-1].id) if page.rows else None,
            ),
        )

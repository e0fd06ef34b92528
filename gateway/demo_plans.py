"""The demo municipality's plans, written by its people through the resolver functions.

Each step runs as one demo person with a clock set that many days back, so the plans have a
history: members joined, goals set, messages sent over months. Nothing here bypasses an
access rule: what a person could not do through the API fails here too.

- Emma's plan (active, Helse og omsorg): her father with MESSAGES NONE; a physiotherapist
  whose own consent expired 12 days ago; goals with a sub-goal, activities, messages to all
  and to chosen recipients, a calendar, a PDF document and one archived copy.
- Jonas's plan (active, Barn, unge og familie): the consent, given by his mother, runs out
  in 21 days for all five participants.
- Astrid's plan: ended 60 days ago, and archived by ending it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from db import plans as plan_rows
from gateway.settings import Settings
from resolvers import content, lifecycle, messages, plans
from resolvers.context import OSLO, Context, Viewer
from resolvers.loaders import Loaders

# The plans' days, counted from the seed (negative: before it).
CONSENT_EXPIRES_SOON = 21
PROVIDER_CONSENT_EXPIRED = -12
ENDED = -60


@dataclass(frozen=True)
class Actor:
    """A demo person acting through the resolvers: a viewer like a logged-in session's."""

    person_id: uuid.UUID
    account_id: uuid.UUID | None = None
    roles: frozenset[str] = frozenset()


class Town:
    """The seed's time and connections: a request context for anyone, on any past day."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, now: dt.datetime) -> None:
        self.pool = pool
        self.settings = settings
        self.now = now

    def as_(self, actor: Actor, days_ago: int = 0) -> Context:
        at = self.now - dt.timedelta(days=days_ago)
        return Context(
            pool=self.pool,
            settings=self.settings,
            clock=lambda: at,
            viewer=Viewer(actor.person_id, actor.account_id, None, actor.roles),
            client_addr=None,
            loaders=Loaders(self.pool, actor.person_id),
        )

    def day(self, offset: int) -> dt.date:
        """The Oslo date `offset` days from the seed."""
        return self.now.astimezone(OSLO).date() + dt.timedelta(days=offset)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(self.day(offset), dt.time(hour, minute), OSLO)


@dataclass
class DemoPlan:
    """One plan being written: its participants by the demo's person keys."""

    town: Town
    actors: Mapping[str, Actor]
    id: uuid.UUID
    members: dict[str, uuid.UUID] = field(default_factory=dict)

    def _ctx(self, who: str, days_ago: int) -> Context:
        return self.town.as_(self.actors[who], days_ago)

    async def add(
        self,
        key: str,
        role: str,
        responsibility: str,
        days_ago: int,
        rights: Mapping[str, object] | None = None,
    ) -> None:
        added = await plans.add_participant(
            self._ctx("coordinator", days_ago),
            str(self.id),
            str(self.actors[key].person_id),
            role,
            responsibility,
            rights,
        )
        self.members[key] = added.row.id

    async def consent(
        self, giver: str, relation: str, days_ago: int, expires_in: int, grant: dict[str, object]
    ) -> None:
        given = self.town.day(-days_ago)
        await plans.record_consent(
            self._ctx("coordinator", days_ago),
            str(self.id),
            plans.NewConsent(
                given_by_id=str(self.actors[giver].person_id),
                given_by_relation=relation,
                given_on=given,
                expires_on=self.town.day(expires_in),
                scope="Deling av opplysninger i plangruppa for arbeidet med individuell plan.",
                default_grant=grant,
            ),
        )

    async def participant_consent(self, key: str, expires: int, days_ago: int) -> None:
        await plans.update_participant(
            self._ctx("coordinator", days_ago),
            str(self.members[key]),
            None,
            None,
            self.town.day(expires),
        )

    async def goal(
        self,
        by: str,
        title: str,
        days_ago: int,
        *,
        responsible: str,
        description: str | None = None,
        parent: uuid.UUID | None = None,
    ) -> uuid.UUID:
        goal = await content.add_goal(
            self._ctx(by, days_ago),
            str(self.id),
            title,
            description,
            str(self.members[responsible]),
            str(parent) if parent else None,
        )
        return goal.row.id

    async def activity(
        self,
        by: str,
        goal: uuid.UUID,
        title: str,
        days_ago: int,
        *,
        responsible: str,
        start: int,
        end: int | None = None,
    ) -> uuid.UUID:
        activity = await content.add_activity(
            self._ctx(by, days_ago),
            str(goal),
            title,
            None,
            str(self.members[responsible]),
            self.town.day(start),
            self.town.day(end) if end is not None else None,
        )
        return activity.row.id

    async def goal_status(self, by: str, goal: uuid.UUID, status: str, days_ago: int) -> None:
        await content.update_goal(self._ctx(by, days_ago), str(goal), None, None, status)

    async def activity_status(
        self, by: str, activity: uuid.UUID, status: str, days_ago: int
    ) -> None:
        await content.update_activity(self._ctx(by, days_ago), str(activity), None, None, status)

    async def comment(self, by: str, goal: uuid.UUID, body: str, days_ago: int) -> None:
        await content.add_comment(self._ctx(by, days_ago), str(goal), None, body)

    async def message(
        self, by: str, body: str, days_ago: int, to: tuple[str, ...] | None = None
    ) -> None:
        recipients = [str(self.members[k]) for k in to] if to else None
        await messages.post(self._ctx(by, days_ago), str(self.id), body, recipients)

    async def meeting(
        self, title: str, day: int, hour: int, location: str, days_ago: int, minutes: int = 90
    ) -> None:
        starts = self.town.at(day, hour)
        await content.add_calendar_entry(
            self._ctx("coordinator", days_ago),
            str(self.id),
            title,
            starts,
            starts + dt.timedelta(minutes=minutes),
            location,
        )

    async def document(self, by: str, name: str, data: bytes, days_ago: int) -> None:
        await content.upload_document(
            self._ctx(by, days_ago), str(self.id), content.Upload(name, data)
        )

    async def archive(self, days_ago: int) -> None:
        await lifecycle.archive_plan(self._ctx("coordinator", days_ago), str(self.id))

    async def end(self, reason: str, days_ago: int) -> None:
        await lifecycle.end_plan(
            self._ctx("coordinator", days_ago), str(self.id), self.town.day(-days_ago), reason
        )


async def new_plan(
    town: Town,
    actors: Mapping[str, Actor],
    *,
    owner: str,
    short_name: str,
    unit: uuid.UUID,
    days_ago: int,
    revision_in: int | None = None,
) -> DemoPlan:
    """createPlan by the coordinating unit (koordinerende enhet), Marte as coordinator."""
    plan_id = await plans.create_plan(
        town.as_(actors["unit"], days_ago),
        plans.NewPlan(
            owner_id=str(actors[owner].person_id),
            short_name=short_name,
            type="IP",
            start_date=town.day(-days_ago),
            coordinator_id=str(actors["coordinator"].person_id),
            service_unit_id=str(unit),
            revision_date=town.day(revision_in) if revision_in is not None else None,
        ),
    )
    plan = DemoPlan(town, actors, plan_id)
    async with town.pool.acquire() as conn:
        leads = (await plan_rows.participants_of(conn, [plan_id]))[plan_id]
    by_person = {p.person_id: p.id for p in leads}
    for key in (owner, "coordinator"):
        plan.members[key] = by_person[actors[key].person_id]
    return plan


async def build_plans(
    town: Town, actors: Mapping[str, Actor], units: Mapping[str, uuid.UUID]
) -> None:
    await _emma(town, actors, units["health"])
    await _jonas(town, actors, units["family"])
    await _astrid(town, actors, units["health"])


GRANT_EMMA: dict[str, object] = {
    "participants": "READ",
    "goals": "READ",
    "activities": "READ",
    "messages": "WRITE",
    "calendar": "READ",
    "documents": "READ",
}


async def _emma(town: Town, actors: Mapping[str, Actor], unit: uuid.UUID) -> None:
    plan = await new_plan(
        town,
        actors,
        owner="owner",
        short_name="Emma - bolig og arbeid",
        unit=unit,
        days_ago=420,
        revision_in=60,
    )
    await plan.add(
        "relative", "RELATIVE", "Far. Støtter Emma i hverdagen.", 415, rights={"messages": "NONE"}
    )
    await plan.add(
        "provider",
        "SERVICE_PROVIDER",
        "Fysioterapi og trening",
        415,
        rights={"goals": "WRITE", "activities": "WRITE", "print": True},
    )
    await plan.consent("owner", "SELF", 414, 400, GRANT_EMMA)
    await plan.message(
        "coordinator", "Velkommen til plangruppa! Her deler vi beskjeder om planen.", 413
    )
    home = await plan.goal(
        "coordinator",
        "Bo i egen leilighet",
        410,
        responsible="coordinator",
        description="Emma ønsker å flytte hjemmefra innen sommeren.",
    )
    dinner = await plan.goal(
        "owner", "Lage middag selv tre dager i uka", 405, responsible="owner", parent=home
    )
    await plan.activity(
        "coordinator", home, "Boveiledning hver tirsdag", 400, responsible="coordinator", start=-400
    )
    await plan.activity(
        "owner",
        dinner,
        "Matlagingskurs på Frivilligsentralen",
        400,
        responsible="owner",
        start=-380,
    )
    work = await plan.goal("coordinator", "Komme i arbeid", 300, responsible="coordinator")
    await plan.activity(
        "coordinator",
        work,
        "Arbeidstrening hos Jobbsenteret",
        300,
        responsible="coordinator",
        start=-250,
        end=100,
    )
    fit = await plan.goal("provider", "Bedre fysisk form", 200, responsible="provider")
    await plan.activity(
        "provider",
        fit,
        "Styrketrening to ganger i uka",
        200,
        responsible="provider",
        start=-200,
        end=-14,
    )
    await plan.goal_status("coordinator", home, "IN_PROGRESS", 100)
    await plan.archive(100)
    await plan.message("provider", "Treningen går fint. Vi tar en ny vurdering før jul.", 60)
    await plan.message(
        "coordinator",
        "Kan vi flytte treningen til torsdager? Gi meg beskjed.",
        45,
        to=("owner", "provider"),
    )
    await plan.participant_consent("provider", PROVIDER_CONSENT_EXPIRED, 40)
    await plan.document("coordinator", "Ukeplan.pdf", weekly_plan_pdf(), 30)
    await plan.comment("owner", dinner, "Denne uka laget jeg fiskesuppe og taco!", 20)
    await plan.message(
        "owner", "Jeg vil gjerne snakke om jobbtreningen før møtet.", 5, to=("coordinator",)
    )
    await plan.message("coordinator", "Husk ansvarsgruppemøtet neste uke.", 2)
    await plan.meeting("Ansvarsgruppemøte", 7, 10, "Rådhuset, møterom 3", 2)
    await plan.meeting("Evaluering av planen", 60, 13, "Rådhuset, møterom 1", 2, minutes=60)


async def _jonas(town: Town, actors: Mapping[str, Actor], unit: uuid.UUID) -> None:
    plan = await new_plan(
        town,
        actors,
        owner="jonas",
        short_name="Jonas - skole og fritid",
        unit=unit,
        days_ago=350,
        revision_in=CONSENT_EXPIRES_SOON,
    )
    await plan.add("lena", "RELATIVE", "Mor", 348)
    await plan.add("tor", "RELATIVE", "Far", 348)
    await plan.add("provider", "SERVICE_PROVIDER", "Fysioterapi og svømming", 348)
    await plan.add("siri", "SERVICE_PROVIDER", "Spesialpedagogisk hjelp", 348)
    await plan.add("mona", "SERVICE_PROVIDER", "Helsesykepleier på skolen", 348)
    await plan.consent(
        "lena",
        "PARENT",
        344,
        CONSENT_EXPIRES_SOON,
        {
            "participants": "READ",
            "goals": "WRITE",
            "activities": "WRITE",
            "messages": "WRITE",
            "calendar": "READ",
            "documents": "READ",
            "print": True,
        },
    )
    await plan.message("coordinator", "Velkommen til plangruppa for Jonas!", 340)
    school = await plan.goal("coordinator", "Trives på skolen", 340, responsible="siri")
    await plan.goal(
        "coordinator", "Være med i friminuttene", 340, responsible="siri", parent=school
    )
    await plan.activity(
        "coordinator",
        school,
        "Ukentlig samtale med kontaktlærer",
        339,
        responsible="siri",
        start=-330,
    )
    active = await plan.goal("provider", "Være aktiv på fritida", 300, responsible="provider")
    await plan.activity(
        "provider", active, "Svømming annenhver uke", 300, responsible="provider", start=-290
    )
    await plan.message("coordinator", "Kan du ta med vedtaket fra PPT til møtet?", 20, to=("lena",))
    await plan.message(
        "coordinator", "Kan du skrive en kort status før møtet?", 3, to=("provider",)
    )
    await plan.message("provider", "Status kommer fredag.", 2, to=("coordinator",))
    await plan.message("coordinator", "Samtykket går ut om tre uker. Vi tar det opp på møtet.", 1)
    await plan.meeting("Møte om nytt samtykke", 10, 14, "Haugen skole", 1, minutes=60)


async def _astrid(town: Town, actors: Mapping[str, Actor], unit: uuid.UUID) -> None:
    plan = await new_plan(
        town,
        actors,
        owner="astrid",
        short_name="Astrid - hjemme etter hoftebrudd",
        unit=unit,
        days_ago=700,
    )
    await plan.add("knut", "SERVICE_PROVIDER", "Hjemmesykepleie", 699)
    await plan.consent("astrid", "SELF", 699, 300, dict(GRANT_EMMA))
    home = await plan.goal(
        "coordinator", "Klare seg hjemme etter hoftebruddet", 698, responsible="coordinator"
    )
    training = await plan.activity(
        "coordinator",
        home,
        "Opptrening med hjemmetjenesten",
        698,
        responsible="knut",
        start=-690,
        end=ENDED - 5,
    )
    await plan.meeting("Oppstartsmøte", -690, 11, "Hjemme hos Astrid", 698)
    await plan.activity_status("coordinator", training, "DONE", -ENDED + 1)
    await plan.goal_status("coordinator", home, "ACHIEVED", -ENDED + 1)
    await plan.message("coordinator", "Astrid klarer seg nå selv. Vi avslutter planen.", -ENDED + 1)
    await plan.end("Målene i planen er nådd.", -ENDED)


def weekly_plan_pdf() -> bytes:
    """Emma's week as a one-page PDF (the core fonts cover Latin-1: æ, ø and å)."""
    pdf = FPDF(format="A4")
    pdf.set_title("Ukeplan for Emma")
    pdf.set_author("plangruppe demo")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 10, "Ukeplan for Emma", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=11)
    for line in (
        "Mandag: arbeidstrening hos Jobbsenteret, 09-14",
        "Tirsdag: boveiledning, 17-19",
        "Onsdag: matlagingskurs på Frivilligsentralen, 18-20",
        "Torsdag: styrketrening med fysioterapeut, 16-17",
        "Fredag: fri",
    ):
        pdf.cell(0, 8, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())

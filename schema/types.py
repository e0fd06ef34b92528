"""Object types. They read through resolvers/ and never touch SQL."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from db.access_log import LogRow
from db.apikeys import ApiKeyRow
from db.archives import ArchiveRow
from db.consent_proposals import ProposalRow
from db.contact_changes import ContactChangeRow
from db.content import ActivityRow, CalendarRow, CommentRow, DocumentRow, GoalRow
from db.history import HistoryRow
from db.messages import MessageRow
from db.overview import PlanHeaderRow
from db.persons import PersonRow
from db.plans import ConsentRow, ParticipantRow, PlanView
from db.revisions import RevisionRow
from resolvers import access_log, account_admin, consent_app, contact, content, persons, policy
from resolvers import history as history_resolvers
from resolvers import lifecycle as lifecycle_resolvers
from resolvers import linked_plans as link_resolvers
from resolvers import messages as message_resolvers
from resolvers import plans as plan_resolvers
from resolvers import reports as report_resolvers
from resolvers import revisions as revision_resolvers
from resolvers.errors import forbidden
from resolvers.guard import Admitted
from schema.context import Info
from schema.enums import (
    Access,
    AuthMethod,
    ConsentGiver,
    GivenThrough,
    GlobalRole,
    NotificationEvent,
    OtpChannel,
    PersonField,
    PlanGroupBy,
    PlanRelation,
    PlanStatus,
    PlanType,
    Role,
    Visibility,
)


@strawberry.type(description="A street address: the person's ADDRESS field, by its visibility.")
class Address:
    street: str | None
    postcode: str | None
    city: str | None


@strawberry.type(description="One contact field's visibility; the person themself only.")
class FieldVisibility:
    field: PersonField
    visibility: Visibility


@strawberry.type(
    description="A requested change of my e-mail or mobile, waiting for me to confirm it with"
    " the link sent to the new address (confirmContactChange) while logged in."
)
class ContactChange:
    field: PersonField = strawberry.field(description="EMAIL or MOBILE.")
    new_value: str | None = strawberry.field(description="null: the mobile is to be removed.")
    requested_at: dt.datetime
    expires_at: dt.datetime
    requested_by_me: bool = strawberry.field(
        description="false: someone who may edit me asked for it."
    )

    @classmethod
    def of(cls, row: ContactChangeRow, *, by_me: bool) -> ContactChange:
        return cls(
            field=PersonField(row.field),
            new_value=row.new_value,
            requested_at=row.created_at,
            expires_at=row.expires_at,
            requested_by_me=by_me,
        )


@strawberry.type(
    description="A person in the municipality: planeier, pårørende or tjenesteyter. Anyone"
    " logged in who finds the person reads the name and position; each contact field follows"
    " the person's visibility for it (visibleFields lists those this viewer may read; a hidden"
    " one is null with FORBIDDEN / FIELD_HIDDEN)."
)
class Person:
    admitted: strawberry.Private[Admitted[PersonRow]]

    @property
    def row(self) -> PersonRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def first_name(self) -> str:
        return self.row.first_name

    @strawberry.field
    def last_name(self) -> str:
        return self.row.last_name

    @strawberry.field(description="Stilling: job title, visible to everyone.")
    def position(self) -> str | None:
        return self.row.position

    @strawberry.field(description="Født: birth date, by its visibility.")
    async def birth_date(self, info: Info) -> dt.date | None:
        return await persons.read_field(info.context, self.row, "BIRTH_DATE", self.row.birth_date)  # type: ignore[return-value]

    @strawberry.field(description="Arbeidssted: workplace, by its visibility.")
    async def workplace(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "WORKPLACE", self.row.workplace)  # type: ignore[return-value]

    @strawberry.field(description="E-post: by its visibility.")
    async def email(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "EMAIL", self.row.email)  # type: ignore[return-value]

    @strawberry.field(description="Mobilnummer: by its visibility (skjul mobilnummer: PRIVATE).")
    async def mobile(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "MOBILE", self.row.mobile)  # type: ignore[return-value]

    @strawberry.field(description="Telefon: by its visibility.")
    async def phone(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "PHONE", self.row.phone)  # type: ignore[return-value]

    @strawberry.field(description="Faks: by its visibility.")
    async def fax(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "FAX", self.row.fax)  # type: ignore[return-value]

    @strawberry.field(description="Adresse: by its visibility.")
    async def address(self, info: Info) -> Address | None:
        row = self.row
        address = (
            Address(street=row.street, postcode=row.postcode, city=row.city)
            if row.street or row.postcode or row.city
            else None
        )
        return await persons.read_field(info.context, row, "ADDRESS", address)  # type: ignore[return-value]

    @strawberry.field(
        description="Brukernavn: the person's own, and to those who may manage their account"
        " (SYSTEM_ADMIN, a LOCAL_ADMIN of their unit, a coordinator of all their plans); null"
        " without an account; null with FORBIDDEN for anyone else."
    )
    async def username(self, info: Info) -> str | None:
        return await account_admin.username(info.context, self.row)

    @strawberry.field(
        description="«Begrens søk» is on: for the person and whoever manages their account;"
        " null with FORBIDDEN for anyone else."
    )
    async def search_restricted(self, info: Info) -> bool | None:
        return await persons.search_restricted(info.context, self.row)

    @strawberry.field(description="The contact fields this viewer may read.")
    async def visible_fields(self, info: Info) -> list[PersonField]:
        return [PersonField(f) for f in await persons.visible_fields(info.context, self.row)]

    @strawberry.field(description="Who may see each contact field; the person themself only.")
    async def field_visibility(self, info: Info) -> list[FieldVisibility] | None:
        _own(info, self.row)
        chosen = await persons.visibility_of(info.context, self.row.id)
        return [
            FieldVisibility(field=PersonField(f), visibility=Visibility(v))
            for f, v in chosen.items()
        ]

    @strawberry.field(description="How login codes reach the person; the person themself only.")
    async def otp_channel(self, info: Info) -> OtpChannel | None:
        _own(info, self.row)
        channel = await info.context.loaders.otp_channel_by_person.load(self.row.id)
        return OtpChannel(channel) if channel else None

    @strawberry.field(
        description="Changes of my e-mail or mobile waiting for my confirmation; the person"
        " themself only, so nobody else learns a pending address."
    )
    async def pending_contact_changes(self, info: Info) -> list[ContactChange] | None:
        rows = await contact.pending_for(info.context, self.row)
        return [ContactChange.of(r, by_me=r.requested_by == self.row.id) for r in rows]

    @strawberry.field(description="Global roles; the person themself and administrators only.")
    async def global_roles(self, info: Info) -> list[GlobalRole] | None:
        viewer = info.context.viewer
        denial = policy.global_roles_read_denial(
            viewer.person_id if viewer else None,
            self.row.id,
            viewer.global_roles if viewer else frozenset(),
        )
        if denial:
            raise forbidden(denial)
        roles = await info.context.loaders.global_roles_by_person.load(self.row.id)
        return [GlobalRole(r) for r in roles or []]


def _own(info: Info, row: PersonRow) -> None:
    viewer = info.context.viewer
    denial = policy.own_account_denial(viewer.person_id if viewer else None, row.id)
    if denial:
        raise forbidden(denial)


@strawberry.type(
    description="A password accepted: a one-time code (engangskode) is on its way. The answer"
    " to login, which needs no session."
)
class LoginChallenge:
    challenge_id: strawberry.ID
    channel: OtpChannel
    masked_destination: str


@strawberry.type(
    description="A logged-in session; send the token as Authorization: Bearer. Only in"
    " verifyLoginCode's and exchangeLoginCode's answers, to the person who logged in."
)
class Session:
    token: str
    expires_at: dt.datetime
    person: Person
    auth_method: AuthMethod = strawberry.field(
        default=AuthMethod.PASSWORD, description="How this session was opened."
    )
    auth_level: str | None = strawberry.field(
        default=None, description="OIDC: the provider's level (acr), e.g. idporten-loa-high."
    )
    identity_provider: str | None = strawberry.field(
        default=None, description="OIDC: the provider's name (PLANGRUPPE_OIDC_PROVIDERS)."
    )


@strawberry.type(description="The end of a session (endSession).")
class EndedSession:
    ended: bool
    provider_logout_url: str | None = strawberry.field(
        description="OIDC: send the browser here to end the provider's session too"
        " (RP-initiated logout); null for a password session or a provider without it."
    )


@strawberry.type(description="Setting up an authenticator app for my own account.")
class AuthenticatorSetup:
    provisioning_uri: str = strawberry.field(description="otpauth:// URI for an authenticator app.")


@strawberry.type(
    description="A service unit (tjenesteenhet): NAV, fysioterapi, barnevern …; anyone logged in."
)
class ServiceUnit:
    id: strawberry.ID
    name: str


@strawberry.type(
    description="Access per plan section, and the two rights. As Plan.myAccess: my own, for"
    " everyone who sees the plan; as Participant.rights: that participant, the owner and the"
    " coordinator; as Consent.defaultGrant: who may read the consent."
)
class AccessGrant:
    participants: Access = strawberry.field(description="Plangruppa: the participants.")
    goals: Access = strawberry.field(description="Mål: goals and sub-goals.")
    activities: Access = strawberry.field(description="Aktiviteter/tiltak.")
    messages: Access = strawberry.field(description="Meldinger.")
    calendar: Access = strawberry.field(description="Kalender.")
    documents: Access = strawberry.field(description="Dokumenter.")
    linked_plans: Access = strawberry.field(
        description="Fagplaner: the plans linked above or below this one (IP ↔ IOP, IUP …)."
    )
    edit_person: bool = strawberry.field(description="May edit the person's contact details.")
    print: bool = strawberry.field(description="Utskrift: may print or export the plan.")

    @classmethod
    def of(cls, grant: policy.Grant) -> AccessGrant:
        return cls(
            participants=Access(grant.participants),
            goals=Access(grant.goals),
            activities=Access(grant.activities),
            messages=Access(grant.messages),
            calendar=Access(grant.calendar),
            documents=Access(grant.documents),
            linked_plans=Access(grant.linked_plans),
            edit_person=grant.edit_person,
            print=grant.print,
        )


@strawberry.type(
    description="Varsling: whether an event reaches the participant by SMS and e-mail; that"
    " participant only."
)
class NotificationSetting:
    event: NotificationEvent
    sms: bool
    email: bool


@strawberry.type(
    description="Samtykke: the consent to interdisciplinary collaboration on the plan. The"
    " coordinator, the owner and whoever represents the owner (a verge; a parent while the owner"
    " is under 16) read it."
)
class Consent:
    row: strawberry.Private[ConsentRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Who gave the consent; read under the consent's own rule.")
    async def given_by(self, info: Info) -> Person:
        return Person(admitted=await plan_resolvers.consent_giver(info.context, self.row))

    @strawberry.field
    def given_by_relation(self) -> ConsentGiver:
        return ConsentGiver(self.row.given_by_relation)

    @strawberry.field
    def given_on(self) -> dt.date:
        return self.row.given_on

    @strawberry.field
    def expires_on(self) -> dt.date:
        return self.row.expires_on

    @strawberry.field
    def revoked_on(self) -> dt.date | None:
        return self.row.revoked_on

    @strawberry.field(description="Free text of what was consented to.")
    def scope(self) -> str | None:
        return self.row.scope

    @strawberry.field(description="What every participant gets unless overridden for them.")
    def default_grant(self) -> AccessGrant:
        return AccessGrant.of(policy.NOTHING.overridden(self.row.default_grant))

    @strawberry.field(description="PAPER (recordConsent) or APP (giveConsent).")
    def given_through(self) -> GivenThrough:
        return GivenThrough(self.row.given_through)


@strawberry.type(
    description="A consent the coordinator proposed, waiting for the person it names to give"
    " it (giveConsent)."
)
class ConsentProposal:
    row: strawberry.Private[ProposalRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="The person who is to give it (a person id).")
    def given_by_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.given_by))

    @strawberry.field
    def given_by_relation(self) -> ConsentGiver:
        return ConsentGiver(self.row.given_by_relation)

    @strawberry.field
    def expires_on(self) -> dt.date:
        return self.row.expires_on

    @strawberry.field
    def scope(self) -> str | None:
        return self.row.scope

    @strawberry.field
    def default_grant(self) -> AccessGrant:
        return AccessGrant.of(policy.NOTHING.overridden(self.row.default_grant))

    @strawberry.field
    def proposed_at(self) -> dt.datetime:
        return self.row.proposed_at


@strawberry.type(
    description="Plandeltaker: a person's membership of one plan. Read with PARTICIPANTS >= READ;"
    " also without it: the owner and the coordinator (the plan header), myParticipation, and"
    " the participant named as author, responsible, createdBy or uploadedBy of content I read."
)
class Participant:
    admitted: strawberry.Private[Admitted[ParticipantRow]]

    @property
    def row(self) -> ParticipantRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    async def plan(self, info: Info) -> Plan:
        return Plan(view=await plan_resolvers.participant_plan(info.context, self.row))

    @strawberry.field(description="Name and position always; contact fields by their visibility.")
    async def person(self, info: Info) -> Person:
        return Person(admitted=await plan_resolvers.participant_person(info.context, self.admitted))

    @strawberry.field
    def role(self) -> Role:
        return Role(self.row.role)

    @strawberry.field(
        description="Ansvar: what this person does in this plan; plan-only. The participant,"
        " the owner, the coordinator and PARTICIPANTS >= READ."
    )
    async def responsibility(self, info: Info) -> str | None:
        return await plan_resolvers.responsibility(info.context, self.row)

    @strawberry.field(
        description="This participant's consent expiry in the plan: the participant, the owner"
        " and the coordinator."
    )
    async def consent_expires_on(self, info: Info) -> dt.date | None:
        return await plan_resolvers.participant_consent_expiry(info.context, self.row)

    @strawberry.field(description="Visible to this participant, the owner and the coordinator.")
    async def rights(self, info: Info) -> AccessGrant | None:
        return AccessGrant.of(await plan_resolvers.participant_rights(info.context, self.row))

    @strawberry.field(description="This participant's notification choices; theirs alone.")
    async def notifications(self, info: Info) -> list[NotificationSetting] | None:
        return [
            NotificationSetting(event=NotificationEvent(e), sms=sms, email=email)
            for e, sms, email in await plan_resolvers.notifications(info.context, self.row)
        ]

    @strawberry.field
    def joined_on(self) -> dt.date:
        return self.row.joined_on

    @strawberry.field
    def left_on(self) -> dt.date | None:
        return self.row.left_on


@strawberry.type(
    description="An individuell plan (or IOP/IUP/stafettlogg) as this viewer sees it. Its"
    " current participants see the header fields; SYSTEM_ADMIN and COORDINATING_UNIT see the"
    " plan without taking part; anyone else gets NOT_FOUND. Sections need their grant."
)
class Plan:
    view: strawberry.Private[PlanView]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.view.plan.id))

    @strawberry.field(description="Kortnavn.")
    def short_name(self) -> str:
        return self.view.plan.short_name

    @strawberry.field
    def type(self) -> PlanType:
        return PlanType(self.view.plan.type)

    @strawberry.field
    def status(self) -> PlanStatus:
        return PlanStatus(self.view.plan.status)

    @strawberry.field(description="Start dato.")
    def start_date(self) -> dt.date:
        return self.view.plan.start_date

    @strawberry.field(description="Slutt dato.")
    def end_date(self) -> dt.date | None:
        return self.view.plan.end_date

    @strawberry.field(description="When the plan is next to be revised.")
    def revision_date(self) -> dt.date | None:
        return self.view.plan.revision_date

    @strawberry.field(
        description="Endringslogg: who changed what and when in this plan, newest first; for"
        " the coordinator, the owner and whoever represents the owner (FORBIDDEN for others)."
        " Entries name the object, the fields and the actor, never values."
    )
    async def history(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> HistoryConnection | None:
        page = await history_resolvers.plan_history(
            info.context, self.view, 20 if first is None else first, after
        )
        edges = [HistoryEntry(row=r) for r in page.rows]
        return HistoryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=str(page.rows[-1].id) if page.rows else None,
            ),
        )

    @strawberry.field(
        description="Revisjoner: the recorded revisions, newest first, with the plan group"
        " (PARTICIPANTS >= READ)."
    )
    async def revisions(self, info: Info) -> list[Revision] | None:
        rows = await revision_resolvers.plan_revisions(info.context, self.view)
        return [Revision(row=r) for r in rows]

    @strawberry.field(
        description="Fagplaner: the plans linked above or below this one (linkedPlans >= READ),"
        " each only for a viewer who takes part in it; others are left out."
    )
    async def linked_plans(self, info: Info) -> list[LinkedPlan] | None:
        found = await link_resolvers.linked_plans(info.context, self.view)
        return [LinkedPlan(link=link) for link in found]

    @strawberry.field(description="Sist arkivert.")
    def last_archived_at(self) -> dt.datetime | None:
        return self.view.plan.last_archived_at

    @strawberry.field(description="Planeier: the person the plan is for.")
    async def owner(self, info: Info) -> Participant:
        owner = await plan_resolvers.lead_participant(info.context, self.view, policy.OWNER)
        assert owner is not None
        return Participant(admitted=owner)

    @strawberry.field(description="Koordinator.")
    async def coordinator(self, info: Info) -> Participant | None:
        row = await plan_resolvers.lead_participant(info.context, self.view, policy.COORDINATOR)
        return Participant(admitted=row) if row else None

    @strawberry.field(description="Plan endret: something changed since I last visited.")
    async def changed_since_my_last_visit(self, info: Info) -> bool:
        return await plan_resolvers.changed_since_my_last_visit(info.context, self.view)

    @strawberry.field(description="Ny melding: a message I may read is unread.")
    async def has_unread_messages(self, info: Info) -> bool:
        return await plan_resolvers.has_unread_messages(info.context, self.view)

    @strawberry.field(description="Samtykke utgår: my consent's expiry in this plan.")
    def consent_expires_on(self) -> dt.date | None:
        return plan_resolvers.consent_expires_on(self.view)

    @strawberry.field
    def consent_expires_in_days(self, info: Info) -> int | None:
        return plan_resolvers.consent_expires_in_days(info.context, self.view)

    @strawberry.field(description="Null only for an administrator who does not take part.")
    def my_participation(self, info: Info) -> Participant | None:
        mine = plan_resolvers.my_participation(info.context, self.view)
        return Participant(admitted=mine) if mine else None

    @strawberry.field(
        description="What I may read and write here now (expiry and ended state applied)."
    )
    def my_access(self, info: Info) -> AccessGrant:
        return AccessGrant.of(plan_resolvers.my_access(info.context, self.view))

    @strawberry.field(description="Plangruppa: needs PARTICIPANTS >= READ.")
    async def participants(self, info: Info) -> list[Participant] | None:
        return [
            Participant(admitted=r)
            for r in await plan_resolvers.participants(info.context, self.view)
        ]

    @strawberry.field(description="Hovedmål, with delmål under them: needs GOALS >= READ.")
    async def goals(self, info: Info) -> list[Goal] | None:
        return [Goal(admitted=g) for g in await content.goals(info.context, self.view)]

    @strawberry.field(
        description="Meldinger, newest first: MESSAGES >= READ, row-filtered by recipients."
    )
    async def messages(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> MessageConnection | None:
        page = await message_resolvers.page(
            info.context, self.view, 20 if first is None else first, after
        )
        edges = [
            MessageEdge(node=Message(admitted=r), cursor=message_resolvers.cursor(r.row))
            for r in page.rows
        ]
        return MessageConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(description="Kalender: CALENDAR >= READ; entries overlapping [from, to].")
    async def calendar(
        self,
        info: Info,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> list[CalendarEntry] | None:
        rows = await content.calendar(info.context, self.view, from_, to)
        return [CalendarEntry(admitted=r) for r in rows]

    @strawberry.field(description="Dokumenter: DOCUMENTS >= READ.")
    async def documents(self, info: Info) -> list[Document] | None:
        return [Document(admitted=d) for d in await content.documents(info.context, self.view)]

    @strawberry.field(
        description="Arkiv: the plan's archived snapshots; the coordinator, the owner and"
        " whoever represents the owner (a verge; a parent while the owner is under 16)."
    )
    async def archives(self, info: Info) -> list[PlanArchive] | None:
        rows = await lifecycle_resolvers.plan_archives(info.context, self.view.plan.id)
        return [PlanArchive(row=r) for r in rows]

    @strawberry.field(
        description="The consent: the coordinator, the owner and whoever represents the owner"
        " (a verge; a parent while the owner is under 16)."
    )
    async def consent(self, info: Info) -> Consent | None:
        row = await plan_resolvers.consent(info.context, self.view)
        return Consent(row=row) if row else None

    @strawberry.field(
        description="A consent waiting to be given: for the coordinator, the owner, whoever"
        " represents the owner, and the person it names as giver; null when there is none."
    )
    async def consent_proposal(self, info: Info) -> ConsentProposal | None:
        row = await consent_app.open_proposal(info.context, self.view)
        return ConsentProposal(row=row) if row else None


@strawberry.type(description="Cursor paging: pass endCursor as `after` for the next page.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="One plan of my plan list.")
class PlanEdge:
    node: Plan
    cursor: str


@strawberry.type(description="A page of my plan list (Query.plans).")
class PlanConnection:
    edges: list[PlanEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(
    description="Kommentar on a goal or an activity: read with its section (GOALS or ACTIVITIES"
    " >= READ)."
)
class Comment:
    admitted: strawberry.Private[Admitted[CommentRow]]

    @property
    def row(self) -> CommentRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Seen with the comment (its goal's or activity's section).")
    async def author(self, info: Info) -> Participant:
        return Participant(admitted=await content.comment_author(info.context, self.row))

    @strawberry.field
    def body(self) -> str:
        return self.row.body

    @strawberry.field
    def created_at(self) -> dt.datetime:
        return self.row.created_at


@strawberry.type(description="Mål: a hovedmål, or a delmål under one. GOALS >= READ.")
class Goal:
    admitted: strawberry.Private[Admitted[GoalRow]]

    @property
    def row(self) -> GoalRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    def description(self) -> str | None:
        return self.row.description

    @strawberry.field(description="NOT_STARTED, IN_PROGRESS, ACHIEVED or CANCELLED.")
    def status(self) -> str:
        return self.row.status

    @strawberry.field(description="Seen with the goal (GOALS >= READ).")
    async def responsible(self, info: Info) -> Participant | None:
        row = await content.goal_responsible(info.context, self.row)
        return Participant(admitted=row) if row else None

    @strawberry.field(description="The hovedmål of a delmål: needs GOALS >= READ.")
    async def parent(self, info: Info) -> Goal | None:
        row = await content.parent_goal(info.context, self.row)
        return Goal(admitted=row) if row else None

    @strawberry.field(description="Delmål: needs GOALS >= READ.")
    async def sub_goals(self, info: Info) -> list[Goal]:
        return [Goal(admitted=g) for g in await content.sub_goals(info.context, self.row)]

    @strawberry.field(description="Tiltak: needs ACTIVITIES >= READ.")
    async def activities(self, info: Info) -> list[Activity] | None:
        rows = await content.goal_activities(info.context, self.row)
        return [Activity(admitted=a) for a in rows]

    @strawberry.field
    async def comments(self, info: Info) -> list[Comment] | None:
        return [Comment(admitted=c) for c in await content.goal_comments(info.context, self.row)]

    @strawberry.field
    def created_at(self) -> dt.datetime:
        return self.row.created_at

    @strawberry.field(description="When the goal was closed (closeGoal).")
    def closed_on(self) -> dt.date | None:
        return self.row.closed_on

    @strawberry.field(description="Evaluering: how it went, written when the goal was closed.")
    def evaluation(self) -> str | None:
        return self.row.evaluation

    @strawberry.field(
        description="The goal of the IP above that this goal serves (setGoalServes): with"
        " linkedPlans >= READ here, taking part in the IP (else null, as if none) and GOALS >="
        " READ there."
    )
    async def serves(self, info: Info) -> Goal | None:
        found = await link_resolvers.served_goal(info.context, self.row)
        return Goal(admitted=found) if found is not None else None


@strawberry.type(description="Aktivitet/tiltak serving a goal. ACTIVITIES >= READ.")
class Activity:
    admitted: strawberry.Private[Admitted[ActivityRow]]

    @property
    def row(self) -> ActivityRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="The goal served: needs GOALS >= READ.")
    async def goal(self, info: Info) -> Goal:
        return Goal(admitted=await content.activity_goal(info.context, self.row))

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    def description(self) -> str | None:
        return self.row.description

    @strawberry.field(description="PLANNED, IN_PROGRESS, DONE or CANCELLED.")
    def status(self) -> str:
        return self.row.status

    @strawberry.field(description="Seen with the activity (ACTIVITIES >= READ).")
    async def responsible(self, info: Info) -> Participant | None:
        row = await content.activity_responsible(info.context, self.row)
        return Participant(admitted=row) if row else None

    @strawberry.field
    def start_date(self) -> dt.date | None:
        return self.row.start_date

    @strawberry.field
    def end_date(self) -> dt.date | None:
        return self.row.end_date

    @strawberry.field
    async def comments(self, info: Info) -> list[Comment] | None:
        rows = await content.activity_comments(info.context, self.row)
        return [Comment(admitted=c) for c in rows]


@strawberry.type(description="An entry in the plan group's calendar (kalender). CALENDAR >= READ.")
class CalendarEntry:
    admitted: strawberry.Private[Admitted[CalendarRow]]

    @property
    def row(self) -> CalendarRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    def starts_at(self) -> dt.datetime:
        return self.row.starts_at

    @strawberry.field
    def ends_at(self) -> dt.datetime | None:
        return self.row.ends_at

    @strawberry.field
    def location(self) -> str | None:
        return self.row.location

    @strawberry.field(description="Seen with the entry (CALENDAR >= READ).")
    async def created_by(self, info: Info) -> Participant:
        return Participant(admitted=await content.calendar_creator(info.context, self.row))

    @strawberry.field(description="When the entry was last changed (updateCalendarEntry).")
    def updated_at(self) -> dt.datetime | None:
        return self.row.updated_at

    @strawberry.field(description="Avlyst: a cancelled entry stays in the calendar, marked.")
    def cancelled_at(self) -> dt.datetime | None:
        return self.row.cancelled_at

    @strawberry.field
    def cancel_reason(self) -> str | None:
        return self.row.cancel_reason


@strawberry.type(
    description="A document of the plan; GET downloadUrl with the same bearer token."
    " DOCUMENTS >= READ."
)
class Document:
    admitted: strawberry.Private[Admitted[DocumentRow]]

    @property
    def row(self) -> DocumentRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Sniffed from the bytes, never taken from the client.")
    def content_type(self) -> str:
        return self.row.content_type

    @strawberry.field
    def size_bytes(self) -> int:
        return self.row.size_bytes

    @strawberry.field(description="Seen with the document (DOCUMENTS >= READ).")
    async def uploaded_by(self, info: Info) -> Participant:
        return Participant(admitted=await content.document_uploader(info.context, self.row))

    @strawberry.field
    def uploaded_at(self) -> dt.datetime:
        return self.row.uploaded_at

    @strawberry.field
    def download_url(self, info: Info) -> str:
        base = info.context.settings.public_url
        return f"{base}/plans/{self.row.plan_id}/documents/{self.row.id}"


@strawberry.type(
    description="Melding: to the whole plan group, or to chosen participants. MESSAGES >= READ,"
    " and meant for me: to the whole group, written by me or sent to me (the owner and the"
    " coordinator read all)."
)
class Message:
    admitted: strawberry.Private[Admitted[MessageRow]]

    @property
    def row(self) -> MessageRow:
        return self.admitted.row

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    async def plan(self, info: Info) -> Plan:
        return Plan(view=await message_resolvers.message_plan(info.context, self.row))

    @strawberry.field(description="Seen with the message (MESSAGES >= READ and meant for me).")
    async def author(self, info: Info) -> Participant:
        return Participant(admitted=await message_resolvers.author(info.context, self.row))

    @strawberry.field(description="Empty once the message is withdrawn.")
    def body(self) -> str:
        return self.row.body

    @strawberry.field
    def created_at(self) -> dt.datetime:
        return self.row.created_at

    @strawberry.field(description="When its author last edited it (editMessage).")
    def edited_at(self) -> dt.datetime | None:
        return self.row.edited_at

    @strawberry.field(
        description="When its author withdrew it (withdrawMessage): it stays in the list,"
        " marked, without its text."
    )
    def withdrawn_at(self) -> dt.datetime | None:
        return self.row.withdrawn_at

    @strawberry.field(
        description="The earlier message this one corrects (postMessage correctsId), as any"
        " message: FORBIDDEN when it was not meant for me."
    )
    async def corrects(self, info: Info) -> Message | None:
        found = await message_resolvers.corrected(info.context, self.row)
        return Message(admitted=found) if found is not None else None

    @strawberry.field(
        description="Null: the whole plan group. Chosen recipients need PARTICIPANTS >= READ"
        " unless each is me, the owner or the coordinator."
    )
    async def recipients(self, info: Info) -> list[Participant] | None:
        rows = await message_resolvers.recipients(info.context, self.row)
        return None if rows is None else [Participant(admitted=r) for r in rows]

    @strawberry.field
    async def read_by_me(self, info: Info) -> bool:
        return await message_resolvers.read_by_me(info.context, self.row)


@strawberry.type(description="One message of a plan's message list.")
class MessageEdge:
    node: Message
    cursor: str


@strawberry.type(description="A page of a plan's messages (Plan.messages), newest first.")
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo


@strawberry.type(
    description="Arkiv: an immutable snapshot of the whole plan (JSON and PDF). The"
    " coordinator, the owner and whoever represents the owner; NOT_FOUND for others."
)
class PlanArchive:
    row: strawberry.Private[ArchiveRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def archived_at(self) -> dt.datetime:
        return self.row.archived_at

    @strawberry.field(description="SHA-256 of the canonical JSON document.")
    def sha256(self) -> str:
        return self.row.sha256

    @strawberry.field
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="GET with the bearer token: the canonical JSON document.")
    def json_url(self, info: Info) -> str:
        base = info.context.settings.public_url
        return f"{base}/plans/{self.row.plan_id}/archives/{self.row.id}.json"

    @strawberry.field(description="GET with the bearer token: the PDF rendering.")
    def pdf_url(self, info: Info) -> str:
        base = info.context.settings.public_url
        return f"{base}/plans/{self.row.plan_id}/archives/{self.row.id}.pdf"


@strawberry.type(
    description="Innsyn i logg: someone read my plan or my data. Only in my own log (myAccessLog)."
)
class AccessLogEntry:
    row: strawberry.Private[LogRow]

    @strawberry.field
    def at(self) -> dt.datetime:
        return self.row.at

    @strawberry.field
    async def viewer(self, info: Info) -> Person:
        return Person(admitted=await access_log.entry_viewer(info.context, self.row))

    @strawberry.field
    async def plan(self, info: Info) -> Plan | None:
        if self.row.plan_id is None:
            return None
        view = await info.context.loaders.plan_view_by_id.load(self.row.plan_id)
        return Plan(view=view) if view is not None and view.mine is not None else None

    @strawberry.field(description="What was read: a plan section, person:FIELD, print, archive …")
    def what(self) -> str:
        return self.row.what


@strawberry.type(description="A page of my access log (innsyn i logg), newest first.")
class AccessLogConnection:
    edges: list[AccessLogEntry]
    page_info: PageInfo


@strawberry.type(description="One group of Reports.planCounts: REPORTER or SYSTEM_ADMIN.")
class PlanCount:
    type: PlanType | None
    status: PlanStatus | None
    service_unit: str | None
    start_month: str | None
    count: int | None = strawberry.field(
        description="Null when below 5, or when another allowed query's count minus this one"
        " would be 1-4 (small-cell suppression, prikking)."
    )


@strawberry.type(description="One row of Reports.coordinatorCaseload: REPORTER or SYSTEM_ADMIN.")
class CaseloadBucket:
    plans_per_coordinator: str
    coordinators: int | None = strawberry.field(description="Null when below 5.")


@strawberry.type(
    description="Aggregates only; a count below 5, or one that subtracting two answers would"
    " reveal, is null. REPORTER or SYSTEM_ADMIN."
)
class Reports:
    @strawberry.field(description="Plans by start date, counted per group; whole months only.")
    async def plan_counts(
        self,
        info: Info,
        group_by: list[PlanGroupBy],
        from_: Annotated[
            dt.date | None,
            strawberry.argument(name="from", description="The first day of a month, or null."),
        ] = None,
        to: Annotated[
            dt.date | None,
            strawberry.argument(description="The last day of a month, or null."),
        ] = None,
    ) -> list[PlanCount]:
        rows = await report_resolvers.plan_counts(
            info.context, [g.value for g in group_by], from_, to
        )
        return [
            PlanCount(
                type=PlanType(r.type) if r.type else None,
                status=PlanStatus(r.status) if r.status else None,
                service_unit=r.service_unit,
                start_month=r.start_month,
                count=r.count,
            )
            for r in rows
        ]

    @strawberry.field(description="Participants whose consent runs out within the days given.")
    async def consents_expiring(
        self,
        info: Info,
        within_days: Annotated[
            int, strawberry.argument(description="One of 7, 14, 30, 60, 90, 180, 365.")
        ],
    ) -> int | None:
        return await report_resolvers.consents_expiring(info.context, within_days)

    @strawberry.field(
        description="Active plans whose revision date has passed; null below the smallest"
        " count that may be shown (5)."
    )
    async def revisions_overdue(self, info: Info) -> int | None:
        return await report_resolvers.revisions_overdue(info.context)

    @strawberry.field(description="How many coordinators have how many active plans.")
    async def coordinator_caseload(self, info: Info) -> list[CaseloadBucket]:
        return [
            CaseloadBucket(plans_per_coordinator=label, coordinators=n)
            for label, n in await report_resolvers.coordinator_caseload(info.context)
        ]


@strawberry.type(
    description="A reporting tool's key; the secret is only in createApiKey's answer."
    " SYSTEM_ADMIN only."
)
class ApiKey:
    row: strawberry.Private[ApiKeyRow]
    secret: str | None = None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def roles(self) -> list[GlobalRole]:
        return [GlobalRole(r) for r in self.row.roles]

    @strawberry.field
    def created_at(self) -> dt.datetime:
        return self.row.created_at

    @strawberry.field
    def last_used_at(self) -> dt.datetime | None:
        return self.row.last_used_at

    @strawberry.field
    def revoked_at(self) -> dt.datetime | None:
        return self.row.revoked_at


@strawberry.type(
    description="A plan's header in planOverview: who, what, and how it is looked after; never"
    " a section. Reading it is written to the owner's access log."
)
class PlanHeader:
    row: strawberry.Private[PlanHeaderRow]
    my_plan: strawberry.Private[bool] = False

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def short_name(self) -> str:
        return self.row.short_name

    @strawberry.field
    def type(self) -> PlanType:
        return PlanType(self.row.type)

    @strawberry.field
    def status(self) -> PlanStatus:
        return PlanStatus(self.row.status)

    @strawberry.field(description="Planeier: first and last name.")
    def owner_name(self) -> str | None:
        r = self.row
        return f"{r.owner_first_name} {r.owner_last_name}" if r.owner_first_name else None

    @strawberry.field(description="Koordinator: first and last name, if there is one.")
    def coordinator_name(self) -> str | None:
        r = self.row
        return (
            f"{r.coordinator_first_name} {r.coordinator_last_name}"
            if r.coordinator_first_name
            else None
        )

    @strawberry.field(description="A current coordinator whose account is active.")
    def has_active_coordinator(self) -> bool:
        return self.row.coordinator_active

    @strawberry.field
    def consent_expires_on(self) -> dt.date | None:
        return self.row.consent_expires_on

    @strawberry.field(description="The consent was revoked.")
    def consent_revoked(self) -> bool:
        return self.row.consent_revoked_on is not None

    @strawberry.field
    def revision_date(self) -> dt.date | None:
        return self.row.revision_date

    @strawberry.field(description="The plan's latest audited change.")
    def last_activity(self) -> dt.datetime:
        return self.row.changed_at

    @strawberry.field(description="Whether I take part in the plan (then plan(id) opens it).")
    def taking_part(self) -> bool:
        return self.my_plan


@strawberry.type(description="One plan header of planOverview.")
class PlanHeaderEdge:
    node: PlanHeader
    cursor: str


@strawberry.type(description="A page of planOverview, oldest plan first.")
class PlanHeaderConnection:
    edges: list[PlanHeaderEdge]
    page_info: PageInfo


@strawberry.type(description="A linked plan (fagplan), seen from the plan that lists it.")
class LinkedPlan:
    link: strawberry.Private[link_resolvers.Link]

    @strawberry.field(description="The linked plan, as I see it (I take part in it).")
    def plan(self) -> Plan:
        return Plan(view=self.link.other)

    @strawberry.field
    def relation(self) -> PlanRelation:
        return PlanRelation(self.link.relation)

    @strawberry.field
    def linked_at(self) -> dt.datetime:
        return self.link.linked_at


@strawberry.type(description="Revisjon: a revision of the plan, recorded by its coordinator.")
class Revision:
    row: strawberry.Private[RevisionRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def revised_on(self) -> dt.date:
        return self.row.revised_on

    @strawberry.field
    def next_revision_date(self) -> dt.date | None:
        return self.row.next_revision_date

    @strawberry.field(description="The participants (ids) who took part in the revision.")
    def participant_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(str(p)) for p in self.row.participant_ids]

    @strawberry.field
    def note(self) -> str | None:
        return self.row.note

    @strawberry.field
    def recorded_at(self) -> dt.datetime:
        return self.row.recorded_at


@strawberry.type(description="One change in a plan's history (endringslogg).")
class HistoryEntry:
    row: strawberry.Private[HistoryRow]

    @strawberry.field
    def at(self) -> dt.datetime:
        return self.row.at

    @strawberry.field(description="What happened, e.g. goal.updated, participant.added.")
    def action(self) -> str:
        return self.row.action

    @strawberry.field(description="The kind of object: plan, participant, consent, goal, …")
    def object(self) -> str:
        return history_resolvers.object_of(self.row)[0]

    @strawberry.field
    def object_id(self) -> strawberry.ID | None:
        found = history_resolvers.object_of(self.row)[1]
        return strawberry.ID(found) if found else None

    @strawberry.field(description="The fields changed, where the change names them.")
    def fields(self) -> list[str]:
        return history_resolvers.fields_of(self.row)

    @strawberry.field(description="Who did it (first and last name); null for the system.")
    def actor(self) -> str | None:
        r = self.row
        return f"{r.actor_first_name} {r.actor_last_name}" if r.actor_first_name else None


@strawberry.type(description="A page of a plan's history, newest first.")
class HistoryConnection:
    edges: list[HistoryEntry]
    page_info: PageInfo

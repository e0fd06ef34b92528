"""The Mutation root: thin wrappers that hand validated arguments to resolvers/."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from resolvers import (
    account_admin,
    admin,
    auth,
    consent_app,
    contact,
    content,
    coordination,
    guard,
    lifecycle,
    oidc,
    person_data,
    persons,
    plans,
    revisions,
)
from resolvers import linked_plans as link_resolvers
from resolvers import messages as message_resolvers
from resolvers.auth import NewSession
from schema.context import Info
from schema.enums import (
    AuthMethod,
    GlobalRole,
    NotificationEvent,
    OtpChannel,
    PersonField,
    PlanType,
    Role,
    Visibility,
)
from schema.inputs import (
    AccessGrantInput,
    ConsentInput,
    ConsentProposalInput,
    CreatePlanInput,
    PersonInput,
)
from schema.types import (
    Activity,
    ApiKey,
    AuthenticatorSetup,
    CalendarEntry,
    Comment,
    Consent,
    ConsentProposal,
    Document,
    EndedSession,
    Goal,
    LinkedPlan,
    LoginChallenge,
    Message,
    Participant,
    Person,
    Plan,
    PlanArchive,
    PlanHeader,
    Revision,
    ServiceUnit,
    Session,
)

_MAY_CREATE = (
    " SYSTEM_ADMIN, LOCAL_ADMIN (their own unit), COORDINATING_UNIT, or a plan's coordinator."
)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Step one of login: the password. A one-time code follows. No session needed."
    )
    async def login(self, info: Info, username: str, password: str) -> LoginChallenge:
        c = await auth.login(info.context, username, password)
        return _challenge(c)

    @strawberry.mutation(
        description="Switch my login channel to EMAIL or SMS (among those allowed): a code goes"
        " to my confirmed address or number on that channel; confirmLoginChannelChange with it"
        " makes the switch. APP: setupAuthenticatorApp. At most 5 an hour."
    )
    async def request_login_channel_change(self, info: Info, channel: OtpChannel) -> LoginChallenge:
        c = await auth.request_login_channel_change(info.context, channel.value)
        return _challenge(c)

    @strawberry.mutation(
        description="The code from the new channel (once, ten minutes, five tries): from now on"
        " login codes go there. A change notice goes to my confirmed e-mail."
    )
    async def confirm_login_channel_change(
        self, info: Info, change_id: strawberry.ID, code: str
    ) -> bool:
        return await auth.confirm_login_channel_change(info.context, change_id, code)

    @strawberry.mutation(
        description="Step two of login: the one-time code (engangskode). No session needed."
    )
    async def verify_login_code(
        self, info: Info, challenge_id: strawberry.ID, code: str
    ) -> Session:
        s = await auth.verify_login_code(info.context, challenge_id, code)
        return _session(info, s, Person(admitted=await auth.session_person(info.context, s)))

    @strawberry.mutation(description="End this session (the one whose token is sent).")
    async def logout(self, info: Info) -> bool:
        return await auth.logout(info.context)

    @strawberry.mutation(
        description="A native app's one-time exchange code (from the OIDC callback, single use,"
        " 60 seconds) for a session. No session needed; CODE_EXPIRED when used or expired."
    )
    async def exchange_login_code(self, info: Info, code: str) -> Session:
        s = await auth.exchange_login_code(info.context, code)
        return _session(info, s, Person(admitted=await auth.session_person(info.context, s)))

    @strawberry.mutation(
        description="End this session, and give the provider's logout URL where the session came"
        " from an identity provider. A browser's session cookies are cleared."
    )
    async def end_session(
        self, info: Info, post_logout_redirect_uri: str | None = None
    ) -> EndedSession:
        url = await auth.end_session(info.context, post_logout_redirect_uri)
        return EndedSession(ended=True, provider_logout_url=url)

    @strawberry.mutation(
        description="Hand the plan to a new coordinator (a person with an active account): the"
        " coordinating unit, SYSTEM_ADMIN, a LOCAL_ADMIN of the plan's service unit, or the"
        " current coordinator. The former one stays as a service provider with the consent's"
        " default grant, or leaves (formerStays: false). Everyone in the plan is told."
    )
    async def change_coordinator(
        self,
        info: Info,
        plan_id: strawberry.ID,
        person_id: strawberry.ID,
        former_stays: bool = True,
    ) -> PlanHeader:
        row = await coordination.change_coordinator(info.context, plan_id, person_id, former_stays)
        return PlanHeader(row=row)

    @strawberry.mutation(
        description="Deactivate a person's account: every session and subscription ends at"
        " once; it can neither log in nor reset its password; the person stays in the plans."
        " SYSTEM_ADMIN, a LOCAL_ADMIN of the person's unit, or a coordinator of all the"
        " person's plans."
    )
    async def deactivate_account(self, info: Info, person_id: strawberry.ID) -> bool:
        return await account_admin.set_active(info.context, person_id, active=False)

    @strawberry.mutation(description="Reactivate a deactivated account (as deactivateAccount).")
    async def reactivate_account(self, info: Info, person_id: strawberry.ID) -> bool:
        return await account_admin.set_active(info.context, person_id, active=True)

    @strawberry.mutation(
        description="Send the invitation again, to the address it first went to; earlier links"
        " stop working. Only before it was used. Who: as deactivateAccount."
    )
    async def resend_invitation(self, info: Info, person_id: strawberry.ID) -> bool:
        return await account_admin.resend_invitation(info.context, person_id)

    @strawberry.mutation(
        description="Send a password reset link to the person's confirmed e-mail (never to the"
        " one who asks). Who: as deactivateAccount."
    )
    async def start_password_reset(self, info: Info, person_id: strawberry.ID) -> bool:
        return await account_admin.start_password_reset(info.context, person_id)

    @strawberry.mutation(
        description="Erase a person (GDPR Art. 17): SYSTEM_ADMIN, for a person who takes part in"
        " no plan and whom no kept record (access log, audit log, a plan they created) names;"
        " their account, sessions and settings go with them. BAD_USER_INPUT otherwise, with"
        " nothing erased. Their data first: GET /persons/{id}/export.json."
    )
    async def erase_person(self, info: Info, person_id: strawberry.ID) -> bool:
        return await person_data.erase(info.context, person_id)

    @strawberry.mutation(
        description="Link a login identity (a national identity number for ID-porten/HelseID,"
        " or the provider's subject) to a person with an account; who: as deactivateAccount."
        " The number is stored only as an HMAC and never shown."
    )
    async def link_identity(
        self, info: Info, person_id: strawberry.ID, provider: str, identity: str
    ) -> bool:
        return await oidc.link_identity(info.context, person_id, provider, identity)

    @strawberry.mutation(description="Change my password; every other session ends.")
    async def change_password(self, info: Info, current_password: str, new_password: str) -> bool:
        return await auth.change_password(info.context, current_password, new_password)

    @strawberry.mutation(
        description="Send a reset link if the account exists; always true. No session needed."
    )
    async def request_password_reset(self, info: Info, username_or_email: str) -> bool:
        return await auth.request_password_reset(info.context, username_or_email)

    @strawberry.mutation(
        description="Set a new password with the token from a reset or invitation link. No"
        " session needed."
    )
    async def reset_password(self, info: Info, token: str, new_password: str) -> bool:
        return await auth.reset_password(info.context, token, new_password)

    @strawberry.mutation(
        description="Start using an authenticator app for my own login; confirm with its"
        " first code."
    )
    async def setup_authenticator_app(self, info: Info) -> AuthenticatorSetup:
        return AuthenticatorSetup(provisioning_uri=await auth.setup_authenticator_app(info.context))

    @strawberry.mutation(description="Confirm my authenticator app with a code it shows.")
    async def confirm_authenticator_app(self, info: Info, code: str) -> bool:
        return await auth.confirm_authenticator_app(info.context, code)

    @strawberry.mutation(
        description="Create an account for a person; sends an invitation link." + _MAY_CREATE
    )
    async def create_account(
        self, info: Info, person_id: strawberry.ID, username: str, otp_channel: OtpChannel
    ) -> bool:
        return await auth.create_account(info.context, person_id, username, otp_channel.value)

    # --- persons and accounts ---

    @strawberry.mutation(
        description="Create a person. DUPLICATE_PERSON (with existingId) when the same names"
        " and birth date exist and I may know that birth date; POSSIBLE_DUPLICATE when a person"
        " of the same names has a birth date hidden from me." + _MAY_CREATE
    )
    async def create_person(
        self,
        info: Info,
        input: PersonInput,
        confirm_new: Annotated[
            bool | None,
            strawberry.argument(description="true: create past POSSIBLE_DUPLICATE."),
        ] = False,
    ) -> Person:
        row = await persons.create_person(
            info.context, input.given(), confirm_new=bool(confirm_new)
        )
        return Person(admitted=row)

    @strawberry.mutation(
        description="Change a person's details (omitted fields are kept): the person,"
        " SYSTEM_ADMIN, or a co-participant with editPerson in an active shared plan. A change of"
        " an account holder's e-mail or mobile waits for the holder's confirmation."
    )
    async def update_person(self, info: Info, id: strawberry.ID, input: PersonInput) -> Person:
        return Person(admitted=await persons.update_person(info.context, id, input.given()))

    @strawberry.mutation(
        description="Confirm a change of my e-mail or mobile with the token from the link sent"
        " to the new address; only in my own session (CODE_EXPIRED when used, expired or"
        " opened by someone else before)."
    )
    async def confirm_contact_change(self, info: Info, token: str) -> Person:
        return Person(admitted=await contact.confirm(info.context, token))

    @strawberry.mutation(
        description="Who may see one of my contact fields (skjul mobilnummer …). With personId:"
        " for a person without an account, by whoever may manage accounts for them (an"
        " administrator, their coordinator), as the person could themselves."
    )
    async def set_field_visibility(
        self,
        info: Info,
        field: PersonField,
        visibility: Visibility,
        person_id: strawberry.ID | None = None,
    ) -> Person:
        row = await persons.set_field_visibility(
            info.context, field.value, visibility.value, person_id
        )
        return Person(admitted=row)

    @strawberry.mutation(
        description="«Begrens søk»: searchPersons then finds me only for SYSTEM_ADMIN, the"
        " coordinating unit, a LOCAL_ADMIN of my unit and people in a current plan with me."
        " With personId: as setFieldVisibility."
    )
    async def set_search_restricted(
        self, info: Info, restricted: bool, person_id: strawberry.ID | None = None
    ) -> Person:
        row = await persons.set_search_restricted(info.context, restricted, person_id)
        return Person(admitted=row)

    @strawberry.mutation(description="Set a person's global roles (SYSTEM_ADMIN only).")
    async def set_global_roles(
        self, info: Info, person_id: strawberry.ID, roles: list[GlobalRole]
    ) -> Person:
        row = await persons.set_global_roles(info.context, person_id, [r.value for r in roles])
        return Person(admitted=row)

    # --- plans, consent, participants ---

    @strawberry.mutation(
        description="Create a plan; owner and coordinator become participants. SYSTEM_ADMIN or"
        " COORDINATING_UNIT."
    )
    async def create_plan(self, info: Info, input: CreatePlanInput) -> Plan:
        plan_id = await plans.create_plan(
            info.context,
            plans.NewPlan(
                owner_id=input.owner_id,
                short_name=input.short_name,
                type=input.type.value,
                start_date=input.start_date,
                coordinator_id=input.coordinator_id,
                service_unit_id=input.service_unit_id,
                revision_date=input.revision_date,
            ),
        )
        return Plan(view=await guard.visible_plan(info.context, plan_id))

    @strawberry.mutation(description="Change the plan header (coordinator).")
    async def update_plan(
        self,
        info: Info,
        id: strawberry.ID,
        short_name: str | None = None,
        type: PlanType | None = None,
        revision_date: dt.date | None = None,
    ) -> Plan:
        plan_id = await plans.update_plan(
            info.context, id, short_name, type.value if type else None, revision_date
        )
        return Plan(view=await guard.visible_plan(info.context, plan_id))

    @strawberry.mutation(
        description="Record the plan's consent (coordinator); replaces the last one."
    )
    async def record_consent(
        self, info: Info, plan_id: strawberry.ID, input: ConsentInput
    ) -> Consent:
        row = await plans.record_consent(
            info.context,
            plan_id,
            plans.NewConsent(
                given_by_id=input.given_by_id,
                given_by_relation=input.given_by_relation.value,
                given_on=input.given_on,
                expires_on=input.expires_on,
                scope=input.scope,
                default_grant=input.default_grant.overrides(),
            ),
        )
        return Consent(row=row)

    @strawberry.mutation(
        description="Propose a consent for the person it names to give in the app (the plan's"
        " coordinator; the giver as for recordConsent). Replaces an open proposal; the giver is"
        " told by e-mail, without content."
    )
    async def propose_consent(
        self, info: Info, plan_id: strawberry.ID, input: ConsentProposalInput
    ) -> ConsentProposal:
        row = await consent_app.propose_consent(
            info.context,
            plan_id,
            input.given_by_id,
            input.given_by_relation.value,
            input.expires_on,
            input.scope,
            input.default_grant.overrides(),
        )
        return ConsentProposal(row=row)

    @strawberry.mutation(
        description="Give a proposed consent: only the person it names, while the plan is"
        " active. It becomes the plan's consent, given today through the app (givenThrough"
        " APP); the coordinator is told. Revoke with revokeConsent."
    )
    async def give_consent(self, info: Info, proposal_id: strawberry.ID) -> Consent:
        return Consent(row=await consent_app.give_consent(info.context, proposal_id))

    @strawberry.mutation(
        description="Revoke the consent (coordinator, owner, or who represents the owner)."
    )
    async def revoke_consent(self, info: Info, plan_id: strawberry.ID) -> Consent:
        return Consent(row=await plans.revoke_consent(info.context, plan_id))

    @strawberry.mutation(description="Add a person to the plan group (coordinator).")
    async def add_participant(
        self,
        info: Info,
        plan_id: strawberry.ID,
        person_id: strawberry.ID,
        role: Role,
        responsibility: str | None = None,
        rights: AccessGrantInput | None = None,
    ) -> Participant:
        row = await plans.add_participant(
            info.context,
            plan_id,
            person_id,
            role.value,
            responsibility,
            rights.overrides() if rights else None,
        )
        return Participant(admitted=row)

    @strawberry.mutation(
        description="Change a participant's responsibility, rights or consent expiry: the"
        " coordinator; the responsibility («ansvar») alone also the participant themself."
    )
    async def update_participant(
        self,
        info: Info,
        id: strawberry.ID,
        responsibility: str | None = None,
        rights: AccessGrantInput | None = None,
        consent_expires_on: dt.date | None = None,
    ) -> Participant:
        row = await plans.update_participant(
            info.context,
            id,
            responsibility,
            rights.overrides() if rights else None,
            consent_expires_on,
        )
        return Participant(admitted=row)

    @strawberry.mutation(
        description="Change a participant's role (SERVICE_PROVIDER, RELATIVE, GUARDIAN): the"
        " coordinator. Never to or from OWNER; COORDINATOR only through changeCoordinator."
    )
    async def change_participant_role(
        self, info: Info, id: strawberry.ID, role: Role
    ) -> Participant:
        row = await plans.change_participant_role(info.context, id, role.value)
        return Participant(admitted=row)

    @strawberry.mutation(description="Remove a participant from the plan group (coordinator).")
    async def remove_participant(self, info: Info, id: strawberry.ID) -> Participant:
        return Participant(admitted=await plans.remove_participant(info.context, id))

    @strawberry.mutation(
        description="My notification choice for one event in one plan; my own participation only."
    )
    async def set_notification(
        self,
        info: Info,
        participant_id: strawberry.ID,
        event: NotificationEvent,
        sms: bool,
        email: bool,
    ) -> Participant:
        row = await plans.set_notification(info.context, participant_id, event.value, sms, email)
        return Participant(admitted=row)

    @strawberry.mutation(
        description="I have looked at the plan now (resets changedSinceMyLastVisit);"
        " participants only."
    )
    async def mark_plan_visited(self, info: Info, id: strawberry.ID) -> Plan:
        plan_id = await plans.mark_plan_visited(info.context, id)
        return Plan(view=await guard.visible_plan(info.context, plan_id))

    # --- content ---

    @strawberry.mutation(
        description="Add a goal (hovedmål), or a delmål under parentId (GOALS WRITE)."
    )
    async def add_goal(
        self,
        info: Info,
        plan_id: strawberry.ID,
        title: str,
        description: str | None = None,
        responsible_id: strawberry.ID | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> Goal:
        row = await content.add_goal(
            info.context, plan_id, title, description, responsible_id, parent_id
        )
        return Goal(admitted=row)

    @strawberry.mutation(
        description="Change a goal (GOALS WRITE); responsibleId: a current participant."
    )
    async def update_goal(
        self,
        info: Info,
        id: strawberry.ID,
        title: str | None = None,
        description: str | None = None,
        status: str | None = None,
        responsible_id: strawberry.ID | None = None,
    ) -> Goal:
        row = await content.update_goal(
            info.context, id, title, description, status, responsible_id
        )
        return Goal(admitted=row)

    @strawberry.mutation(
        description="Name the goal of the IP above that this goal serves (null: none): GOALS"
        " WRITE here, linkedPlans >= READ here, and a goal of the linked IP, in which I take"
        " part, with GOALS >= READ there."
    )
    async def set_goal_serves(
        self, info: Info, goal_id: strawberry.ID, serves_goal_id: strawberry.ID | None = None
    ) -> Goal:
        return Goal(admitted=await content.set_goal_serves(info.context, goal_id, serves_goal_id))

    @strawberry.mutation(
        description="Link a plan (IOP, IUP, stafettlogg) under an IP (planId), both for the same"
        " person, each plan with at most one IP above it: linkedPlans WRITE in both plans,"
        " while both are active."
    )
    async def link_plan(
        self, info: Info, plan_id: strawberry.ID, linked_plan_id: strawberry.ID
    ) -> LinkedPlan:
        return LinkedPlan(link=await link_resolvers.link(info.context, plan_id, linked_plan_id))

    @strawberry.mutation(
        description="Remove a link made by linkPlan (as linkPlan); the lower plan's goals stop"
        " naming goals of the IP."
    )
    async def unlink_plan(
        self, info: Info, plan_id: strawberry.ID, linked_plan_id: strawberry.ID
    ) -> bool:
        return await link_resolvers.unlink(info.context, plan_id, linked_plan_id)

    @strawberry.mutation(
        description="Close a goal (GOALS WRITE): ACHIEVED or CANCELLED, the date (today or"
        " earlier) and an evaluation (evaluering); once."
    )
    async def close_goal(
        self, info: Info, id: strawberry.ID, status: str, closed_on: dt.date, evaluation: str
    ) -> Goal:
        return Goal(
            admitted=await content.close_goal(info.context, id, status, closed_on, evaluation)
        )

    @strawberry.mutation(description="Add an activity (tiltak) to a goal (ACTIVITIES WRITE).")
    async def add_activity(
        self,
        info: Info,
        goal_id: strawberry.ID,
        title: str,
        description: str | None = None,
        responsible_id: strawberry.ID | None = None,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
    ) -> Activity:
        row = await content.add_activity(
            info.context, goal_id, title, description, responsible_id, start_date, end_date
        )
        return Activity(admitted=row)

    @strawberry.mutation(
        description="Change an activity (ACTIVITIES WRITE): its text, status, responsible"
        " person (a current participant) and dates."
    )
    async def update_activity(
        self,
        info: Info,
        id: strawberry.ID,
        title: str | None = None,
        description: str | None = None,
        status: str | None = None,
        responsible_id: strawberry.ID | None = None,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
    ) -> Activity:
        row = await content.update_activity(
            info.context, id, title, description, status, responsible_id, start_date, end_date
        )
        return Activity(admitted=row)

    @strawberry.mutation(
        description="Comment on a goal (GOALS WRITE) or an activity (ACTIVITIES WRITE)."
    )
    async def add_comment(
        self,
        info: Info,
        body: str,
        goal_id: strawberry.ID | None = None,
        activity_id: strawberry.ID | None = None,
    ) -> Comment:
        return Comment(admitted=await content.add_comment(info.context, goal_id, activity_id, body))

    @strawberry.mutation(
        description="A message to the plan group, or only to recipientIds (MESSAGES WRITE)."
        " correctsId: one of my own messages here that this corrects (rettelse); without"
        " recipientIds the correction goes to that message's readers who still take part."
    )
    async def post_message(
        self,
        info: Info,
        plan_id: strawberry.ID,
        body: str,
        recipient_ids: list[strawberry.ID] | None = None,
        corrects_id: strawberry.ID | None = None,
    ) -> Message:
        row = await message_resolvers.post(
            info.context,
            plan_id,
            body,
            list(recipient_ids) if recipient_ids is not None else None,
            corrects_id,
        )
        return Message(admitted=row)

    @strawberry.mutation(
        description="Edit my own message: within PLANGRUPPE_MESSAGE_EDIT_MINUTES (15) of"
        " posting and before anyone else has read it (else FORBIDDEN EDIT_WINDOW_CLOSED: post"
        " a correction), with MESSAGES WRITE while the plan is active. Live clients get it"
        " through messageChanged."
    )
    async def edit_message(self, info: Info, id: strawberry.ID, body: str) -> Message:
        return Message(admitted=await message_resolvers.edit(info.context, id, body))

    @strawberry.mutation(
        description="Withdraw my own message: who and when as editMessage. It stays in the"
        " list with withdrawnAt and an empty body."
    )
    async def withdraw_message(self, info: Info, id: strawberry.ID) -> Message:
        return Message(admitted=await message_resolvers.withdraw(info.context, id))

    @strawberry.mutation(
        description="Mark every message of the plan read; returns how many (MESSAGES >= READ)."
    )
    async def mark_messages_read(self, info: Info, plan_id: strawberry.ID) -> int:
        return await message_resolvers.mark_read(info.context, plan_id)

    @strawberry.mutation(description="Add an entry to the plan's calendar (CALENDAR WRITE).")
    async def add_calendar_entry(
        self,
        info: Info,
        plan_id: strawberry.ID,
        title: str,
        starts_at: dt.datetime,
        ends_at: dt.datetime | None = None,
        location: str | None = None,
    ) -> CalendarEntry:
        row = await content.add_calendar_entry(
            info.context, plan_id, title, starts_at, ends_at, location
        )
        return CalendarEntry(admitted=row)

    @strawberry.mutation(
        description="Record a revision (revidering): the plan's coordinator; the date (today or"
        " earlier), who took part (current participants), a note, and the next revision date,"
        " which becomes the plan's revisionDate."
    )
    async def record_revision(
        self,
        info: Info,
        plan_id: strawberry.ID,
        revised_on: dt.date,
        participant_ids: list[strawberry.ID],
        next_revision_date: dt.date | None = None,
        note: str | None = None,
    ) -> Revision:
        _view, row = await revisions.record_revision(
            info.context, plan_id, revised_on, next_revision_date, list(participant_ids), note
        )
        return Revision(row=row)

    @strawberry.mutation(
        description="Change a calendar entry (omitted fields are kept): its maker or the"
        " coordinator, with CALENDAR WRITE, while the plan is active. Those who follow the"
        " calendar are told, without content."
    )
    async def update_calendar_entry(
        self,
        info: Info,
        id: strawberry.ID,
        title: str | None = None,
        starts_at: dt.datetime | None = None,
        ends_at: dt.datetime | None = None,
        location: str | None = None,
    ) -> CalendarEntry:
        row = await content.update_calendar_entry(
            info.context, id, title, starts_at, ends_at, location
        )
        return CalendarEntry(admitted=row)

    @strawberry.mutation(
        description="Cancel (avlyse) a calendar entry: it stays, marked cancelled. Who: as"
        " updateCalendarEntry."
    )
    async def cancel_calendar_entry(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> CalendarEntry:
        return CalendarEntry(admitted=await content.cancel_calendar_entry(info.context, id, reason))

    @strawberry.mutation(
        description="Withdraw a document: it leaves Plan.documents and its download answers"
        " 404; the audit log keeps who and why; the bytes are kept for the archive duty. Its"
        " uploader or the coordinator, with DOCUMENTS WRITE, while the plan is active."
    )
    async def withdraw_document(self, info: Info, id: strawberry.ID, reason: str) -> bool:
        return await content.withdraw_document(info.context, id, reason)

    @strawberry.mutation(
        description="Upload a document (multipart; ≤ 20 MiB; PDF, images, office files);"
        " DOCUMENTS WRITE."
    )
    async def upload_document(self, info: Info, plan_id: strawberry.ID, file: Upload) -> Document:
        data = await file.read()  # type: ignore[attr-defined]
        name = getattr(file, "filename", None) or "dokument"
        row = await content.upload_document(info.context, plan_id, content.Upload(name, data))
        return Document(admitted=row)

    # --- ending, archiving, administration ---

    @strawberry.mutation(
        description="End the plan (coordinator): read-only from then on, and archived."
    )
    async def end_plan(self, info: Info, id: strawberry.ID, end_date: dt.date, reason: str) -> Plan:
        plan_id = await lifecycle.end_plan(info.context, id, end_date, reason)
        return Plan(view=await guard.visible_plan(info.context, plan_id))

    @strawberry.mutation(description="Archive the plan now (coordinator).")
    async def archive_plan(self, info: Info, id: strawberry.ID) -> PlanArchive:
        return PlanArchive(row=await lifecycle.archive_plan(info.context, id))

    @strawberry.mutation(
        description="An API key for a reporting tool (SYSTEM_ADMIN); secret shown once."
    )
    async def create_api_key(self, info: Info, name: str, roles: list[GlobalRole]) -> ApiKey:
        row, secret = await admin.create_api_key(info.context, name, [r.value for r in roles])
        return ApiKey(row=row, secret=secret)

    @strawberry.mutation(description="Revoke an API key at once (SYSTEM_ADMIN).")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> bool:
        return await admin.revoke_api_key(info.context, id)

    @strawberry.mutation(description="Create a service unit (SYSTEM_ADMIN).")
    async def create_service_unit(self, info: Info, name: str) -> ServiceUnit:
        unit_id, label = await admin.create_service_unit(info.context, name)
        return ServiceUnit(id=strawberry.ID(str(unit_id)), name=label)


def _session(info: Info, s: NewSession, person: Person) -> Session:
    return Session(
        token=s.token,
        expires_at=s.expires_at,
        person=person,
        auth_method=AuthMethod(s.auth_method),
        auth_level=s.auth_level,
        identity_provider=s.identity_provider,
    )


def _challenge(c: auth.Challenge) -> LoginChallenge:
    return LoginChallenge(
        challenge_id=strawberry.ID(str(c.challenge_id)),
        channel=OtpChannel(c.channel),
        masked_destination=c.masked_destination,
    )

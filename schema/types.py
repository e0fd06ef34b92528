"""Object types. They read through resolvers/ and never touch SQL."""

from __future__ import annotations

import datetime as dt

import strawberry

from db.persons import PersonRow
from resolvers import access, persons
from resolvers.errors import forbidden
from schema.context import Info
from schema.enums import GlobalRole, OtpChannel, PersonField, Visibility


@strawberry.type(description="A street address.")
class Address:
    street: str | None
    postcode: str | None
    city: str | None


@strawberry.type
class FieldVisibility:
    field: PersonField
    visibility: Visibility


@strawberry.type(description="A person in the municipality: planeier, pårørende or tjenesteyter.")
class Person:
    row: strawberry.Private[PersonRow]

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

    @strawberry.field(description="Født: birth date.")
    async def birth_date(self, info: Info) -> dt.date | None:
        return await persons.read_field(info.context, self.row, "BIRTH_DATE", self.row.birth_date)  # type: ignore[return-value]

    @strawberry.field(description="Arbeidssted.")
    async def workplace(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "WORKPLACE", self.row.workplace)  # type: ignore[return-value]

    @strawberry.field
    async def email(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "EMAIL", self.row.email)  # type: ignore[return-value]

    @strawberry.field
    async def mobile(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "MOBILE", self.row.mobile)  # type: ignore[return-value]

    @strawberry.field
    async def phone(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "PHONE", self.row.phone)  # type: ignore[return-value]

    @strawberry.field
    async def fax(self, info: Info) -> str | None:
        return await persons.read_field(info.context, self.row, "FAX", self.row.fax)  # type: ignore[return-value]

    @strawberry.field
    async def address(self, info: Info) -> Address | None:
        row = self.row
        await persons.read_field(info.context, row, "ADDRESS", None)
        if not (row.street or row.postcode or row.city):
            return None
        return Address(street=row.street, postcode=row.postcode, city=row.city)

    @strawberry.field(description="The contact fields this viewer may read.")
    async def visible_fields(self, info: Info) -> list[PersonField]:
        return [PersonField(f) for f in await persons.visible_fields(info.context, self.row)]

    @strawberry.field(description="Who may see each contact field; the person themself only.")
    async def field_visibility(self, info: Info) -> list[FieldVisibility] | None:
        _own(info, self.row)
        return [
            FieldVisibility(field=PersonField(f), visibility=Visibility(access.DEFAULT_VISIBILITY))
            for f in access.PERSON_FIELDS
        ]

    @strawberry.field(description="How login codes reach the person; the person themself only.")
    async def otp_channel(self, info: Info) -> OtpChannel | None:
        _own(info, self.row)
        channel = await info.context.loaders.otp_channel_by_person.load(self.row.id)
        return OtpChannel(channel) if channel else None

    @strawberry.field(description="Global roles; the person themself and administrators only.")
    async def global_roles(self, info: Info) -> list[GlobalRole] | None:
        viewer = info.context.viewer
        denial = access.global_roles_read_denial(
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
    denial = access.own_account_denial(viewer.person_id if viewer else None, row.id)
    if denial:
        raise forbidden(denial)


@strawberry.type(description="A password accepted: a one-time code is on its way.")
class LoginChallenge:
    challenge_id: strawberry.ID
    channel: OtpChannel
    masked_destination: str


@strawberry.type(description="A logged-in session; send the token as Authorization: Bearer.")
class Session:
    token: str
    expires_at: dt.datetime
    person: Person


@strawberry.type
class AuthenticatorSetup:
    provisioning_uri: str = strawberry.field(description="otpauth:// URI for an authenticator app.")

"""The Mutation root: thin wrappers that hand validated arguments to resolvers/."""

from __future__ import annotations

import strawberry

from resolvers import auth
from resolvers.errors import unauthenticated
from schema.context import Info
from schema.enums import OtpChannel
from schema.types import AuthenticatorSetup, LoginChallenge, Person, Session


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Step one of login: the password. A one-time code follows.")
    async def login(self, info: Info, username: str, password: str) -> LoginChallenge:
        c = await auth.login(info.context, username, password)
        return LoginChallenge(
            challenge_id=strawberry.ID(str(c.challenge_id)),
            channel=OtpChannel(c.channel),
            masked_destination=c.masked_destination,
        )

    @strawberry.mutation(description="Step two of login: the one-time code (engangskode).")
    async def verify_login_code(
        self, info: Info, challenge_id: strawberry.ID, code: str
    ) -> Session:
        s = await auth.verify_login_code(info.context, challenge_id, code)
        person = await info.context.loaders.person_by_id.load(s.person_id)
        if person is None:
            raise unauthenticated()
        return Session(token=s.token, expires_at=s.expires_at, person=Person(row=person))

    @strawberry.mutation(description="End this session.")
    async def logout(self, info: Info) -> bool:
        return await auth.logout(info.context)

    @strawberry.mutation(description="Change my password; every other session ends.")
    async def change_password(self, info: Info, current_password: str, new_password: str) -> bool:
        return await auth.change_password(info.context, current_password, new_password)

    @strawberry.mutation(description="Send a reset link if the account exists; always true.")
    async def request_password_reset(self, info: Info, username_or_email: str) -> bool:
        return await auth.request_password_reset(info.context, username_or_email)

    @strawberry.mutation(
        description="Set a new password with the token from a reset or invitation link."
    )
    async def reset_password(self, info: Info, token: str, new_password: str) -> bool:
        return await auth.reset_password(info.context, token, new_password)

    @strawberry.mutation(
        description="Start using an authenticator app; confirm with its first code."
    )
    async def setup_authenticator_app(self, info: Info) -> AuthenticatorSetup:
        return AuthenticatorSetup(provisioning_uri=await auth.setup_authenticator_app(info.context))

    @strawberry.mutation(description="Confirm the authenticator app with a code it shows.")
    async def confirm_authenticator_app(self, info: Info, code: str) -> bool:
        return await auth.confirm_authenticator_app(info.context, code)

    @strawberry.mutation(description="Create an account for a person; sends an invitation link.")
    async def create_account(
        self, info: Info, person_id: strawberry.ID, username: str, otp_channel: OtpChannel
    ) -> bool:
        return await auth.create_account(info.context, person_id, username, otp_channel.value)

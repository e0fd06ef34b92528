"""Accounts that follow people: deactivate and reactivate, resend an invitation, start a
password reset for someone, and who sees a username (policy.account_manage_denial).

Every act is audited; links go only to the person's own address (the confirmed e-mail, or
for an invitation the address it was first sent to), never to the one who asked."""

from __future__ import annotations

import uuid

from db import accounts, overview, persons
from db.bus import notify_access_changed
from db.pool import Conn
from resolvers import policy, texts, validation
from resolvers.audit_trail import audited
from resolvers.auth import mail_link
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found, unauthenticated


async def manage_denial(conn: Conn, ctx: Context, person: persons.PersonRow) -> policy.Denial:
    """Why the viewer may not manage this person's account (None: they may)."""
    viewer = ctx.viewer
    assert viewer is not None
    me = await persons.by_id(conn, viewer.person_id)
    roles = await persons.global_roles(conn, [person.id])
    return policy.account_manage_denial(
        viewer.global_roles,
        viewer_unit=me.service_unit_id if me else None,
        person_unit=person.service_unit_id,
        person_has_global_role=bool(roles[person.id]),
        coordinates_all_plans_of_person=await overview.coordinates_all_plans_of(
            conn, viewer.person_id, person.id, ctx.today()
        ),
    )


async def managed_person(conn: Conn, ctx: Context, pid: uuid.UUID) -> persons.PersonRow:
    """A person whose account (or, without one, whose settings) the viewer manages:
    NOT_FOUND for no such person, FORBIDDEN with the rule's reason otherwise."""
    person = await persons.by_id(conn, pid)
    if person is None:
        raise not_found("person")
    denial = await manage_denial(conn, ctx, person)
    if denial:
        raise forbidden(denial)
    return person


async def _managed(
    conn: Conn, ctx: Context, person_id: str
) -> tuple[persons.PersonRow, accounts.AccountRow]:
    if ctx.viewer is None:
        raise unauthenticated()
    pid = validation.identifier("personId", person_id)
    person = await managed_person(conn, ctx, pid)
    account = await accounts.by_person(conn, pid)
    if account is None:
        raise bad_input("personId", "The person has no account.")
    return person, account


async def set_active(ctx: Context, person_id: str, active: bool) -> bool:
    """Deactivate: every session ends at once (open subscriptions too, by NOTIFY), and the
    account can neither log in nor reset. Reactivate: it can again. The person stays in
    the plans either way."""
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        person, account = await _managed(conn, ctx, person_id)
        assert ctx.viewer is not None
        if person.id == ctx.viewer.person_id:
            raise bad_input("personId", "You cannot deactivate or reactivate your own account.")
        if (account.deactivated_at is None) == active:
            return True  # already so: nothing changes, nothing is audited twice
        await accounts.set_deactivated(conn, account.id, None if active else now)
        if not active:
            await accounts.revoke_sessions(conn, account.id, now)
            await notify_access_changed(conn, f"account:{account.id}")
        action = "account.reactivated" if active else "account.deactivated"
        await audited(conn, ctx, action, target=person.id, at=now)
    return True


async def resend_invitation(ctx: Context, person_id: str) -> bool:
    """A new invitation link to the address the first one went to; the old links stop
    working. Only while the invitation has not been used (no password yet)."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        person, account = await _managed(conn, ctx, person_id)
        if account.password_hash is not None:
            raise bad_input(
                "personId", "The invitation was already used; start a password reset instead."
            )
        if account.deactivated_at is not None:
            raise bad_input("personId", "The account is deactivated.")
        address = await accounts.invitation_sent_to(conn, account.id)
        if address is None:
            raise bad_input("personId", "The account was never invited by e-mail.")
        await accounts.withdraw_tokens(conn, account.id, "INVITATION", ctx.now())
        await mail_link(
            conn,
            ctx,
            account.id,
            "INVITATION",
            address,
            lambda link: texts.invitation(link, account.username),
            sent_to=address,
        )
        await audited(conn, ctx, "account.invitation_resent", target=person.id)
    return True


async def start_password_reset(ctx: Context, person_id: str) -> bool:
    """A reset link to the person's confirmed e-mail (never to the one who asked)."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        person, account = await _managed(conn, ctx, person_id)
        if account.deactivated_at is not None:
            raise bad_input("personId", "The account is deactivated.")
        if not account.confirmed_email:
            raise bad_input("personId", "The person has no confirmed e-mail to send a link to.")
        await accounts.withdraw_tokens(conn, account.id, "RESET", ctx.now())
        await mail_link(
            conn, ctx, account.id, "RESET", account.confirmed_email, texts.password_reset
        )
        await audited(conn, ctx, "account.reset_started", target=person.id)
    return True


async def username(ctx: Context, person: persons.PersonRow) -> str | None:
    """Person.username: the person's own, or one the viewer may manage; null without an
    account; null and FORBIDDEN for anyone else."""
    viewer = ctx.viewer
    if viewer is None:
        raise unauthenticated()
    async with ctx.pool.acquire() as conn:
        account = await accounts.by_person(conn, person.id)
        if account is None:
            return None
        if person.id != viewer.person_id:
            denial = await manage_denial(conn, ctx, person)
            if denial:
                raise forbidden(denial)
    return account.username

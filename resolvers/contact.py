"""Contact data of account holders: a change of e-mail or mobile waits for the holder.

One-time codes, reset links and notices go only to the e-mail and mobile the holder has
confirmed (``accounts.confirmed_email``/``confirmed_mobile``). Anyone who may edit a person
(updatePerson) may ask for a new e-mail or mobile on an account holder, the holder included;
the change takes effect only when the holder opens the link sent to the new address while
logged in as themselves. The old confirmed address and number are told of every request.
docs/accounts-and-contact-data.md has the whole story.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from graphql import GraphQLError

from db import accounts, contact_changes, persons
from db.accounts import AccountRow
from db.contact_changes import ContactChangeRow
from db.persons import PersonRow
from db.pool import Conn
from resolvers import notify, policy, texts
from resolvers.audit_trail import audited
from resolvers.context import Context, Viewer
from resolvers.errors import bad_input, code_expired, forbidden, unauthenticated
from resolvers.guard import Admitted, admit_person

CONFIRM_TTL = dt.timedelta(days=7)
CONFIRM_PAGE = "confirm-contact"
FIELD_OF_COLUMN = {"email": "EMAIL", "mobile": "MOBILE"}
COLUMN_OF_FIELD = {"EMAIL": "email", "MOBILE": "mobile"}


def _token_hash(token: str) -> bytes:
    # Stored like reset and invitation tokens: only the SHA-256 of a 256-bit random token.
    return hashlib.sha256(token.encode()).digest()


def confirmed(account: AccountRow, field: str) -> str | None:
    """What the holder has confirmed for EMAIL or MOBILE."""
    return account.confirmed_email if field == "EMAIL" else account.confirmed_mobile


def split_off(values: dict[str, object]) -> dict[str, str | None]:
    """Take e-mail and mobile out of cleaned person values: for an account holder they do
    not go straight into persons."""
    wanted: dict[str, str | None] = {}
    for column in FIELD_OF_COLUMN:
        if column in values:
            value = values.pop(column)
            assert value is None or isinstance(value, str)
            wanted[column] = value
    return wanted


def check_holder_input(wanted: dict[str, str | None]) -> None:
    """An account holder keeps an e-mail address: invitations, reset links and change
    notices go there."""
    if "email" in wanted and wanted["email"] is None:
        raise bad_input("email", "A person with an account needs an e-mail address.")


async def request_changes(
    conn: Conn,
    ctx: Context,
    requested_by: uuid.UUID,
    person: PersonRow,
    account: AccountRow,
    wanted: dict[str, str | None],
) -> None:
    """Record the wanted e-mail/mobile of an account holder as changes waiting for the holder,
    in the caller's transaction.

    The value the person has now changes nothing (a form saved unchanged sends nothing),
    except that the holder may ask again for a link to confirm a value they have not
    confirmed yet (a mobile typed by whoever created the account). Going back to the
    confirmed value takes effect at once: nothing new receives anything."""
    now = ctx.now()
    for column, new in wanted.items():
        field = FIELD_OF_COLUMN[column]
        current, proven = getattr(person, column), confirmed(account, field)
        if new == current:
            if new is not None and new != proven and requested_by == person.id:
                await open_change(conn, ctx, requested_by, person, account, field, new, now)
        elif new == proven:
            await persons.update(conn, person.id, {column: new})
            await contact_changes.cancel_open(conn, person.id, field, now)
        else:
            await open_change(conn, ctx, requested_by, person, account, field, new, now)


async def open_change(
    conn: Conn,
    ctx: Context,
    requested_by: uuid.UUID,
    person: PersonRow,
    account: AccountRow,
    field: str,
    new: str | None,
    now: dt.datetime,
) -> None:
    """A change of one field waiting for the holder: a link to the new address (to the
    confirmed e-mail when the mobile is to be removed) and a notice to the confirmed ones.
    A requester's newer request replaces their own older one; requests by others stay, so
    nobody can quietly withdraw what the holder asked for."""
    await contact_changes.cancel_open(conn, person.id, field, now, requested_by=requested_by)
    token = secrets.token_urlsafe(32)
    expires_at = now + CONFIRM_TTL
    change = await contact_changes.insert(
        conn,
        person_id=person.id,
        account_id=account.id,
        field=field,
        new_value=new,
        token_hash=_token_hash(token),
        requested_by=requested_by,
        now=now,
        expires_at=expires_at,
    )
    link = f"{ctx.settings.public_url}/{CONFIRM_PAGE}?token={token}"
    if new is None:
        # Removing the confirmed mobile: no new number to prove, so the link goes to the
        # holder's confirmed e-mail, and that mail is the notice too.
        if account.confirmed_email:
            text = texts.contact_removal_confirmation(link)
            await _queue_link(conn, ctx, "EMAIL", account.confirmed_email, text, expires_at)
    else:
        text = (
            texts.contact_confirmation_email(link)
            if field == "EMAIL"
            else texts.contact_confirmation_sms(link)
        )
        await _queue_link(conn, ctx, field, new, text, expires_at)
        if account.confirmed_email:
            notice = texts.contact_change_requested(field)
            await notify.queue_email(conn, account.confirmed_email, notice, now)
    if account.confirmed_mobile:
        await notify.queue_sms(
            conn, account.confirmed_mobile, texts.contact_change_requested_sms(field), now
        )
    await audited(
        conn,
        ctx,
        "contact.change_requested",
        actor_id=requested_by,
        at=now,
        target=person.id,
        detail={"field": field, "newValue": new, "changeId": str(change.id)},
    )


async def _queue_link(
    conn: Conn,
    ctx: Context,
    channel: str,
    to: str,
    text: texts.Text,
    expires_at: dt.datetime,
) -> None:
    """A confirmation link is a secret in the outbox: sealed at rest, never sent late."""
    queue = notify.queue_email if channel == "EMAIL" else notify.queue_sms
    await queue(
        conn, to, text, ctx.now(), secret_expires_at=expires_at, box=ctx.settings.secret_box
    )


async def confirm(ctx: Context, token: str) -> Admitted[PersonRow]:
    """confirmContactChange: the holder, logged in as themselves, makes a requested change of
    their e-mail or mobile take effect."""
    viewer = ctx.viewer
    if viewer is None:
        raise unauthenticated()
    if not 0 < len(token) <= 256:
        raise bad_input("token", "token is malformed.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        result = await _confirm(conn, ctx, viewer, token)
    # Raised after the commit: a link opened by someone else stays cancelled.
    if isinstance(result, GraphQLError):
        raise result
    ctx.loaders.person_by_id.clear_all()
    ctx.loaders.person_by_id.prime(result.id, result)
    return admit_person(ctx, result)


async def _confirm(
    conn: Conn, ctx: Context, viewer: Viewer, token: str
) -> PersonRow | GraphQLError:
    now = ctx.now()
    change = await contact_changes.for_update(conn, _token_hash(token))
    if (
        change is None
        or change.confirmed_at is not None
        or change.cancelled_at is not None
        or change.expires_at <= now
    ):
        return code_expired("The link is invalid, expired or already used.")
    denial = policy.contact_confirmation_denial(viewer.account_id, change.account_id)
    if denial:
        # The link reached someone other than the holder: it is dead from now on.
        await contact_changes.cancel(conn, change.id, now)
        await audited(
            conn,
            ctx,
            "contact.confirm_refused",
            at=now,
            target=change.person_id,
            detail={"field": change.field, "changeId": str(change.id)},
        )
        return forbidden(
            denial, "Only the account holder, logged in as themselves, can confirm this."
        )
    return await _apply(conn, ctx, change, now)


async def _apply(conn: Conn, ctx: Context, change: ContactChangeRow, now: dt.datetime) -> PersonRow:
    account = await accounts.by_id(conn, change.account_id)
    assert account is not None
    row = await persons.update(
        conn, change.person_id, {COLUMN_OF_FIELD[change.field]: change.new_value}
    )
    await accounts.set_confirmed_contact(conn, account.id, change.field, change.new_value)
    await contact_changes.mark_confirmed(conn, change.id, now)
    await contact_changes.cancel_open(conn, change.person_id, change.field, now)
    # The change notice goes to the e-mail confirmed until now: if it was not the holder
    # after all, that is where they still read.
    if account.confirmed_email:
        await notify.queue_email(
            conn, account.confirmed_email, texts.change_notice(change.field), now
        )
    await audited(
        conn,
        ctx,
        "contact.confirmed",
        actor_id=change.person_id,
        at=now,
        target=change.person_id,
        detail={"field": change.field, "newValue": change.new_value, "changeId": str(change.id)},
    )
    return row


async def pending_for(ctx: Context, person: PersonRow) -> list[ContactChangeRow]:
    """Person.pendingContactChanges: the person themself only; nobody else learns of a
    pending address."""
    viewer = ctx.viewer
    denial = policy.own_account_denial(viewer.person_id if viewer else None, person.id)
    if denial:
        raise forbidden(denial)
    async with ctx.pool.acquire() as conn:
        return await contact_changes.open_for_person(conn, person.id, ctx.now())

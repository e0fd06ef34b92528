"""Login by password and one-time code (engangskode), sessions, resets and invitations."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
from graphql import GraphQLError

from db import accounts, persons, plans
from db import oidc as oidc_db
from db.bus import notify_access_changed
from db.persons import PersonRow
from db.pool import Conn
from resolvers import contact, notify, passwords, policy, session_cookies, texts, validation
from resolvers.audit_trail import audited
from resolvers.context import Context, Viewer
from resolvers.errors import (
    app_error,
    bad_input,
    code_expired,
    forbidden,
    invalid_credentials,
    not_found,
    rate_limited,
    unauthenticated,
)
from resolvers.guard import Admitted, admit_own_person
from resolvers.loaders import Loaders

CODE_TTL = dt.timedelta(minutes=5)
MAX_CODE_TRIES = 5
SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_MAX = dt.timedelta(hours=12)
RESET_TTL = dt.timedelta(minutes=30)
INVITATION_TTL = dt.timedelta(days=7)
# Throttling (DESIGN.md, docs/login-security.md): failures are counted per (submitted username,
# client address) and per client address, never per account, so that no one else's attempts
# lock the holder out; the account has only a ceiling of consecutive failures.
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_NAME_FAILURES = 10  # per (submitted username, client address) in the window
MAX_ADDRESS_FAILURES = 50  # per client address in the window
MAX_CONSECUTIVE_FAILURES = 100  # per account (NIST SP 800-63B), until a new password is set
RESET_ADDRESS_WINDOW = dt.timedelta(minutes=15)
MAX_RESET_REQUESTS = 10  # requestPasswordReset per client address in RESET_ADDRESS_WINDOW
# Per account, in a window as long as a reset link lives: whenever the quota refuses a mail,
# the holder has a link from the last 30 minutes that still works.
MAX_RESET_MAILS = 3
TOTP_ISSUER = "plangruppe"


@dataclass(frozen=True)
class Challenge:
    challenge_id: uuid.UUID
    channel: str
    masked_destination: str


@dataclass(frozen=True)
class NewSession:
    token: str
    expires_at: dt.datetime
    person_id: uuid.UUID
    auth_method: str = "PASSWORD"
    auth_level: str | None = None  # the provider's acr, for OIDC
    identity_provider: str | None = None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _code_hash(challenge_id: uuid.UUID, code: str) -> str:
    return hmac.new(challenge_id.bytes, code.encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    # pyotp's secrets come from the CSPRNG; one random secret yields one 6-digit code.
    return str(pyotp.TOTP(pyotp.random_base32()).now())


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_mobile(number: str) -> str:
    return f"{number[:3]} *** ** {number[-3:]}"


def username_key(username: str) -> str:
    """The submitted username as throttling counts it: stripped, NFC, casefolded. Known and
    unknown names get the same key and the same treatment."""
    folded = unicodedata.normalize("NFC", username.strip()).casefold()
    return unicodedata.normalize("NFC", folded)


def _addr(ctx: Context) -> str:
    """The client address for throttling; requests without one share a single bucket."""
    return ctx.client_addr or ""


async def _throttle(conn: Conn, ctx: Context, name_key: str) -> GraphQLError | None:
    """At most 10 failures per (submitted username, client address) and 50 per client address
    in any 15 minutes. Takes the address's lock for the rest of the transaction, so that
    attempts sent at once are counted one after the other."""
    now = ctx.now()
    addr = _addr(ctx)
    await accounts.lock_client_addr(conn, "login", addr)
    full = await accounts.full_since(
        conn,
        username_key=name_key,
        client_addr=addr,
        since=now - THROTTLE_WINDOW,
        name_limit=MAX_NAME_FAILURES,
        addr_limit=MAX_ADDRESS_FAILURES,
    )
    latest = max((at for at in full if at is not None), default=None)
    if latest is None:
        return None
    return rate_limited((latest + THROTTLE_WINDOW - now).total_seconds())


async def _fail(
    conn: Conn,
    ctx: Context,
    account_id: uuid.UUID | None,
    action: str,
    error: GraphQLError,
    person_id: uuid.UUID | None = None,
    *,
    name_key: str | None = None,
    consecutive: bool = False,
) -> GraphQLError:
    """Record a failed step for throttling (keyed on ``name_key``, by default the account's own
    username) and in the audit log; ``consecutive`` counts it against the account's ceiling."""
    now = ctx.now()
    if name_key is None:
        account = await accounts.by_id(conn, account_id) if account_id else None
        assert account is not None, "a failure without a submitted name needs an account"
        name_key = username_key(account.username)
    await accounts.record_attempt(
        conn,
        username_key=name_key,
        account_id=account_id,
        client_addr=_addr(ctx),
        success=False,
        now=now,
    )
    await audited(conn, ctx, action, actor_id=person_id, at=now)
    if consecutive and account_id is not None:
        reached = await accounts.count_consecutive_failure(
            conn, account_id, ceiling=MAX_CONSECUTIVE_FAILURES, now=now
        )
        if reached:
            await _block_password_login(conn, ctx, account_id)
    return error


async def _block_password_login(conn: Conn, ctx: Context, account_id: uuid.UUID) -> None:
    """The ceiling was reached: from now on the password alone opens no challenge. The holder
    gets one mail, to their confirmed address, with a reset link that lifts the block."""
    now = ctx.now()
    account = await accounts.by_id(conn, account_id)
    assert account is not None
    if account.confirmed_email:
        await mail_link(
            conn,
            ctx,
            account.id,
            "RESET",
            account.confirmed_email,
            lambda link: texts.password_login_blocked(link, MAX_CONSECUTIVE_FAILURES),
        )
    await audited(
        conn,
        ctx,
        "login.password_blocked",
        actor_id=account.person_id,
        at=now,
        detail={"failures": MAX_CONSECUTIVE_FAILURES, "mailed": bool(account.confirmed_email)},
    )


def _no_control_characters(field: str, value: str) -> None:
    """No username or e-mail address has them; PostgreSQL refuses NUL in text (was INTERNAL)."""
    if any(ord(c) < 32 for c in value):
        raise bad_input(field, f"{field} contains control characters.")


async def login(ctx: Context, username: str, password: str) -> Challenge:
    """Step one: a correct password opens a challenge and sends a one-time code."""
    if not 0 < len(username) <= 254:
        raise bad_input("username", "username must be 1-254 characters.")
    if not 0 < len(password) <= 1024:
        raise bad_input("password", "password must be 1-1024 characters.")
    _no_control_characters("username", username.strip())
    async with ctx.pool.acquire() as conn, conn.transaction():
        result = await _login(conn, ctx, username.strip(), password)
    if isinstance(result, GraphQLError):
        raise result
    return result


async def _login(
    conn: Conn, ctx: Context, username: str, password: str
) -> Challenge | GraphQLError:
    now = ctx.now()
    # Known and unknown names take the same path: the same throttle rows keyed on the name as
    # submitted, an argon2 check (against a dummy hash when there is no account), the same answer.
    name_key = username_key(username)
    account = await accounts.by_username(conn, username)
    throttled = await _throttle(conn, ctx, name_key)
    if throttled:
        actor_id = account.person_id if account else None
        await audited(conn, ctx, "login.throttled", actor_id=actor_id, at=now)
        return throttled
    ok = await passwords.verify(account.password_hash if account else None, password)
    if (
        account is None
        or not ok
        or account.password_login_blocked_at is not None
        or account.deactivated_at is not None
    ):
        # At the ceiling even the right password answers like a wrong one (and is no new
        # failure of the holder's); only a new password set through a reset link lifts it.
        # A deactivated account answers the same: nothing tells it exists.
        blocked = account is not None and ok
        return await _fail(
            conn,
            ctx,
            account.id if account else None,
            "login.password_blocked_account" if blocked else "login.password_failed",
            invalid_credentials(),
            account.person_id if account else None,
            name_key=name_key,
            consecutive=not blocked,
        )
    assert account.password_hash is not None
    required = await _oidc_required(conn, ctx, account.person_id)
    if required:
        await audited(
            conn,
            ctx,
            "login.password_refused_oidc_required",
            actor_id=account.person_id,
            at=now,
            detail={"role": required},
        )
        return app_error(
            "OIDC_REQUIRED",
            "Your role requires login with an identity provider (ID-porten, HelseID or your"
            " municipality's): use that instead of a password.",
            providers=[p.name for p in ctx.settings.oidc_providers],
        )
    if passwords.needs_rehash(account.password_hash):
        await accounts.rehash_password(conn, account.id, await passwords.hash_password(password))
    channel = _usable_channel(ctx, account)
    denial = policy.login_channel_denial(channel_usable=channel is not None)
    if denial:
        return forbidden(denial, "No permitted login channel is set up for this account.")
    assert channel is not None
    challenge_id = uuid.uuid4()
    code = None if channel == "APP" else _new_code()
    await accounts.insert_challenge(
        conn,
        account_id=account.id,
        channel=channel,
        code_hash=_code_hash(challenge_id, code) if code else None,
        now=now,
        expires_at=now + CODE_TTL,
        challenge_id=challenge_id,
    )
    # Codes go only to what the holder has confirmed, never to persons.email/mobile, which
    # anyone who may edit the person could have typed (docs/accounts-and-contact-data.md).
    if channel == "EMAIL":
        assert account.confirmed_email and code
        text = texts.login_code_email(code)
        masked = await _send_code(conn, ctx, channel, account.confirmed_email, text, CODE_TTL)
    elif channel == "SMS":
        assert account.confirmed_mobile and code
        text = texts.login_code_sms(code)
        masked = await _send_code(conn, ctx, channel, account.confirmed_mobile, text, CODE_TTL)
    else:
        masked = "autentiseringsapp"
    await audited(
        conn,
        ctx,
        "login.password_ok",
        actor_id=account.person_id,
        at=now,
        detail={"channel": channel},
    )
    return Challenge(challenge_id, channel, masked)


async def _send_code(
    conn: Conn,
    ctx: Context,
    channel: str,
    destination: str,
    text: texts.Text,
    lasts: dt.timedelta,
) -> str:
    """A one-time code's text by e-mail (EMAIL) or SMS, through the outbox, sealed there until
    the code expires; the destination as an answer may show it (masked). The destination is a
    confirmed one: codes never go to persons.email/mobile, which others may have typed."""
    now, box = ctx.now(), ctx.settings.secret_box
    if channel == "EMAIL":
        await notify.queue_email(
            conn, destination, text, now, secret_expires_at=now + lasts, box=box
        )
        return _mask_email(destination)
    await notify.queue_sms(conn, destination, text, now, secret_expires_at=now + lasts, box=box)
    return _mask_mobile(destination)


async def _oidc_required(conn: Conn, ctx: Context, person_id: uuid.UUID) -> str | None:
    """The role (global, or held in a current plan) that PLANGRUPPE_REQUIRE_OIDC_FOR names
    for this person, if any: then a password no longer logs them in."""
    required = ctx.settings.require_oidc_for
    if not required:
        return None
    roles = set((await persons.global_roles(conn, [person_id]))[person_id])
    roles |= await oidc_db.current_plan_roles(conn, person_id, ctx.today())
    return min(roles & required, default=None)


def _usable_channel(ctx: Context, account: accounts.AccountRow) -> str | None:
    """The account's own channel if usable, else the next allowed one that is. E-mail and SMS
    are usable only with a confirmed address or number."""
    usable = {
        "EMAIL": bool(account.confirmed_email),
        "SMS": bool(account.confirmed_mobile),
        "APP": bool(account.totp_secret),
    }
    allowed = ctx.settings.otp_channels
    preferred = [
        account.otp_channel,
        *[c for c in ("APP", "SMS", "EMAIL") if c != account.otp_channel],
    ]
    return next((c for c in preferred if c in allowed and usable[c]), None)


async def verify_login_code(ctx: Context, challenge_id: str, code: str) -> NewSession:
    """Step two: the one-time code, used once, within five minutes, five tries at most."""
    cid = validation.identifier("challengeId", challenge_id)
    code = code.replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        raise bad_input("code", "The code is 6 digits.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        result = await _verify_code(conn, ctx, cid, code)
    if isinstance(result, GraphQLError):
        raise result
    return result


async def session_person(ctx: Context, session: NewSession) -> Admitted[PersonRow]:
    """Session.person: whoever has just logged in, before they are the request's viewer."""
    person = await ctx.loaders.person_by_id.load(session.person_id)
    if person is None:
        raise unauthenticated()
    return admit_own_person(session.person_id, person)


async def _verify_code(
    conn: Conn, ctx: Context, cid: uuid.UUID, code: str
) -> NewSession | GraphQLError:
    now = ctx.now()
    challenge = await accounts.challenge_for_update(conn, cid)
    if challenge is None:
        return code_expired()
    account = await accounts.by_id(conn, challenge.account_id)
    assert account is not None
    if challenge.used_at or challenge.expires_at <= now or challenge.attempts >= MAX_CODE_TRIES:
        return code_expired()
    if account.password_login_blocked_at is not None or account.deactivated_at is not None:
        return code_expired()  # a challenge opened before the block does not outlive it
    # The code step counts against (account, address): the account's own name is the key.
    name_key = username_key(account.username)
    throttled = await _throttle(conn, ctx, name_key)
    if throttled:
        return throttled
    if not await _code_matches(conn, ctx, challenge, account, code, now):
        await accounts.count_challenge_failure(conn, challenge.id)
        return await _fail(
            conn,
            ctx,
            account.id,
            "login.code_failed",
            invalid_credentials(),
            account.person_id,
            name_key=name_key,
            consecutive=True,
        )
    await accounts.use_challenge(conn, challenge.id, now)
    await accounts.record_attempt(
        conn,
        username_key=name_key,
        account_id=account.id,
        client_addr=_addr(ctx),
        success=True,
        now=now,
    )
    await accounts.clear_consecutive_failures(conn, account.id)
    detail = {"channel": challenge.channel}
    await audited(conn, ctx, "login.success", actor_id=account.person_id, at=now, detail=detail)
    return await open_session(conn, ctx, account, now)


async def _code_matches(
    conn: Conn,
    ctx: Context,
    challenge: accounts.ChallengeRow,
    account: accounts.AccountRow,
    code: str,
    now: dt.datetime,
) -> bool:
    if challenge.channel != "APP":
        assert challenge.code_hash is not None
        return hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, code))
    if account.totp_secret is None:
        return False
    counter = _totp_counter(ctx.settings.secret_box.open(account.totp_secret), code, now)
    return counter is not None and await accounts.claim_totp_counter(conn, account.id, counter)


def _totp_counter(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step (within one step of now) whose code this is; None when none matches."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return int(step)
    return None


def _require_session(ctx: Context) -> Viewer:
    if ctx.viewer is None or ctx.viewer.session_id is None or ctx.viewer.account_id is None:
        raise unauthenticated()
    return ctx.viewer


async def logout(ctx: Context) -> bool:
    """End this session on the server."""
    viewer = _require_session(ctx)
    assert viewer.session_id is not None
    async with ctx.pool.acquire() as conn, conn.transaction():
        await accounts.revoke_session(conn, viewer.session_id, ctx.now())
        await notify_access_changed(conn, f"session:{viewer.session_id}")
        await audited(conn, ctx, "logout")
    return True


async def end_session(ctx: Context, post_logout_redirect_uri: str | None) -> str | None:
    """End this session (as logout) and give the provider's logout URL, if it came from one.
    A browser's cookies are cleared on the answer."""
    viewer = _require_session(ctx)
    assert viewer.session_id is not None
    if post_logout_redirect_uri is not None and not 0 < len(post_logout_redirect_uri) <= 2048:
        raise bad_input("postLogoutRedirectUri", "postLogoutRedirectUri must be 1-2048 chars.")
    from resolvers.oidc import provider_logout_url

    url = await provider_logout_url(ctx, viewer.session_id, post_logout_redirect_uri)
    await logout(ctx)
    session_cookies.clear(ctx.response)
    return url


async def _notify_change(
    conn: Conn, person: persons.PersonRow, what: str, now: dt.datetime
) -> None:
    """A change notice, to the e-mail the holder has confirmed (none before they have)."""
    account = await accounts.by_person(conn, person.id)
    if account and account.confirmed_email:
        text = texts.change_notice(what)
        await notify.queue_email(conn, account.confirmed_email, text, now)


async def change_password(ctx: Context, current_password: str, new_password: str) -> bool:
    """A new password ends every other session and sends a change notice."""
    viewer = _require_session(ctx)
    assert viewer.account_id is not None
    if len(current_password) > 1024:
        raise bad_input("currentPassword", "currentPassword is too long.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        result = await _change_password(conn, ctx, viewer, current_password, new_password)
    if isinstance(result, GraphQLError):
        raise result
    return True


async def _change_password(
    conn: Conn, ctx: Context, viewer: Viewer, current: str, new: str
) -> GraphQLError | None:
    now = ctx.now()
    assert viewer.account_id is not None
    account = await accounts.by_id(conn, viewer.account_id)
    person = await persons.by_id(conn, viewer.person_id)
    assert account is not None and person is not None
    name_key = username_key(account.username)
    throttled = await _throttle(conn, ctx, name_key)
    if throttled:
        return throttled
    if not await passwords.verify(account.password_hash, current):
        # A password guess like any other: it counts against the account's ceiling too.
        return await _fail(
            conn,
            ctx,
            account.id,
            "password.change_failed",
            invalid_credentials(),
            person.id,
            name_key=name_key,
            consecutive=True,
        )
    passwords.require_strong(
        new, username=account.username, names=(person.first_name, person.last_name)
    )
    await accounts.set_password(conn, account.id, await passwords.hash_password(new), now)
    await accounts.revoke_sessions(conn, account.id, now, keep=viewer.session_id)
    await notify_access_changed(conn, f"account:{account.id}")
    await _notify_change(conn, person, "PASSWORD", now)
    await audited(conn, ctx, "password.changed", at=now)  # person is the viewer's
    return None


async def request_password_reset(ctx: Context, username_or_email: str) -> bool:
    """Send a reset link when the account exists; the answer is the same either way."""
    value = username_or_email.strip()
    if not 0 < len(value) <= 254:
        raise bad_input("usernameOrEmail", "usernameOrEmail must be 1-254 characters.")
    _no_control_characters("usernameOrEmail", value)
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.by_username_or_email(conn, value)
        limit = await _reset_limit(conn, ctx, account)
        sent = False
        person = await persons.by_id(conn, account.person_id) if account else None
        # Only to an address the holder has confirmed (by_username_or_email, too, matches
        # only confirmed addresses).
        usable = account is not None and account.deactivated_at is None
        if limit is None and account and usable and account.confirmed_email:
            sent = True
            await mail_link(
                conn, ctx, account.id, "RESET", account.confirmed_email, texts.password_reset
            )
        if limit != "ADDRESS":
            await accounts.record_reset_request(
                conn,
                client_addr=_addr(ctx),
                account_id=account.id if account else None,
                sent=sent,
                now=now,
            )
        await audited(
            conn,
            ctx,
            "password.reset_throttled" if limit else "password.reset_requested",
            actor_id=person.id if person else None,
            at=now,
            detail={"limit": limit} if limit else None,
        )
    return True


async def _reset_limit(conn: Conn, ctx: Context, account: accounts.AccountRow | None) -> str | None:
    """The requestPasswordReset limit this request is over, if any: 10 requests per client
    address in 15 minutes ("ADDRESS"), 3 mails per account in 30 minutes ("ACCOUNT"). Over a
    limit the answer is still true and nothing is sent."""
    now = ctx.now()
    addr = _addr(ctx)
    await accounts.lock_client_addr(conn, "reset", addr)
    if await accounts.reset_requests_since(conn, addr, now - RESET_ADDRESS_WINDOW) >= (
        MAX_RESET_REQUESTS
    ):
        return "ADDRESS"
    # The window is a reset link's lifetime: a refused holder has a working link from it.
    if account and await accounts.reset_mails_since(conn, account.id, now - RESET_TTL) >= (
        MAX_RESET_MAILS
    ):
        return "ACCOUNT"
    return None


# What each kind of account link is for: its lifetime and the frontend page it opens.
_LINKS = {
    "RESET": (RESET_TTL, "reset-password"),
    "INVITATION": (INVITATION_TTL, "set-password"),
}


async def mail_link(
    conn: Conn,
    ctx: Context,
    account_id: uuid.UUID,
    kind: str,
    address: str,
    compose: Callable[[str], texts.Text],
    *,
    sent_to: str | None = None,
) -> None:
    """A single-use link by e-mail, sealed in the outbox until it is sent or expires."""
    link = await _issue_token(conn, ctx, account_id, kind, sent_to=sent_to)
    ttl, _page = _LINKS[kind]
    now = ctx.now()
    await notify.queue_email(
        conn,
        address,
        compose(link),
        now,
        secret_expires_at=now + ttl,
        box=ctx.settings.secret_box,
    )


async def _issue_token(
    conn: Conn,
    ctx: Context,
    account_id: uuid.UUID,
    kind: str,
    *,
    sent_to: str | None = None,
) -> str:
    """A single-use link; ``sent_to`` is the address an invitation goes to, confirmed when
    the link is used."""
    ttl, page = _LINKS[kind]
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    await accounts.insert_token(
        conn,
        account_id=account_id,
        kind=kind,
        token_hash=token_hash(token),
        now=now,
        expires_at=now + ttl,
        sent_to=sent_to,
    )
    return f"{ctx.settings.public_url}/{page}?token={token}"


async def reset_password(ctx: Context, token: str, new_password: str) -> bool:
    """Set a password from a reset or invitation link; the link works once."""
    if not 0 < len(token) <= 256:
        raise bad_input("token", "token is malformed.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await accounts.token_for_update(conn, token_hash(token))
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise code_expired("The link is invalid, expired or already used.")
        account = await accounts.by_id(conn, row.account_id)
        assert account is not None
        if account.deactivated_at is not None:
            raise code_expired("The link is invalid, expired or already used.")
        person = await persons.by_id(conn, account.person_id)
        assert person is not None
        passwords.require_strong(
            new_password, username=account.username, names=(person.first_name, person.last_name)
        )
        await accounts.set_password(
            conn, account.id, await passwords.hash_password(new_password), now
        )
        await accounts.use_token(conn, row.id, now)
        await accounts.revoke_sessions(conn, account.id, now)
        await notify_access_changed(conn, f"account:{account.id}")
        if row.kind == "RESET":
            await _notify_change(conn, person, "PASSWORD", now)
        elif row.sent_to:
            # The invitation reached this address: it is the holder's, confirmed. Exactly
            # the address it was sent to, whatever anyone typed into the person since.
            await accounts.set_confirmed_contact(conn, account.id, "EMAIL", row.sent_to)
        await audited(
            conn,
            ctx,
            f"password.set_by_{row.kind.lower()}",
            actor_id=person.id,
            at=now,
            detail={"confirmedEmail": row.sent_to} if row.kind == "INVITATION" else None,
        )
    return True


CHANNEL_CODE_TTL = dt.timedelta(minutes=10)
MAX_CHANNEL_CHANGES = 5  # requested per account and hour


async def request_login_channel_change(ctx: Context, channel: str) -> Challenge:
    """Step one of switching my login channel to EMAIL or SMS: a code over that channel, to
    my confirmed address or number (an unconfirmed one is confirmed first, with
    updatePerson and the link). APP goes through setupAuthenticatorApp."""
    viewer = _require_session(ctx)
    if channel not in ctx.settings.otp_channels:
        raise bad_input("channel", f"{channel} is not an enabled login channel.")
    if channel == "APP":
        raise bad_input("channel", "Use setupAuthenticatorApp and confirmAuthenticatorApp.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.by_id(conn, viewer.account_id) if viewer.account_id else None
        if account is None:
            raise unauthenticated()
        if account.otp_channel == channel:
            raise bad_input("channel", "This is already your login channel.")
        destination = account.confirmed_email if channel == "EMAIL" else account.confirmed_mobile
        if not destination:
            raise bad_input(
                "channel",
                "Confirm this e-mail address or mobile number first (updatePerson, then the"
                " link sent there).",
            )
        hour_ago = now - dt.timedelta(hours=1)
        if await accounts.channel_changes_since(conn, account.id, hour_ago) >= MAX_CHANNEL_CHANGES:
            raise rate_limited(3600)
        change_id = uuid.uuid4()
        code = _new_code()
        await accounts.insert_channel_change(
            conn,
            change_id=change_id,
            account_id=account.id,
            channel=channel,
            code_hash=_code_hash(change_id, code),
            now=now,
            expires_at=now + CHANNEL_CODE_TTL,
        )
        text = (texts.channel_code_email if channel == "EMAIL" else texts.channel_code_sms)(code)
        masked = await _send_code(conn, ctx, channel, destination, text, CHANNEL_CODE_TTL)
        await audited(conn, ctx, "login_channel.change_requested", detail={"channel": channel})
    return Challenge(change_id, channel, masked)


async def confirm_login_channel_change(ctx: Context, change_id: str, code: str) -> bool:
    """Step two: the code from the new channel, once, within ten minutes, five tries."""
    viewer = _require_session(ctx)
    cid = validation.identifier("changeId", change_id)
    code = code.replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        raise bad_input("code", "The code is 6 digits.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        change = await accounts.channel_change_for_update(conn, cid)
        if change is None or change.account_id != viewer.account_id:
            raise code_expired()
        if change.used_at or change.expires_at <= now or change.attempts >= MAX_CODE_TRIES:
            raise code_expired()
        if not hmac.compare_digest(change.code_hash, _code_hash(change.id, code)):
            await accounts.count_channel_change_failure(conn, change.id)
            result: GraphQLError | None = invalid_credentials()
        else:
            result = None
            await accounts.use_channel_change(conn, change, now)
            await audited(conn, ctx, "login_channel.changed", detail={"channel": change.channel})
            person = await persons.by_id(conn, viewer.person_id)
            assert person is not None
            await _notify_change(conn, person, "OTP_CHANNEL", now)
    if result is not None:
        raise result
    return True


async def setup_authenticator_app(ctx: Context) -> str:
    """A new secret for an authenticator app, active once confirmed with a code."""
    viewer = _require_session(ctx)
    assert viewer.account_id is not None
    denial = policy.login_channel_denial(channel_usable="APP" in ctx.settings.otp_channels)
    if denial:
        raise forbidden(denial, "Authenticator apps are not enabled here.")
    secret = pyotp.random_base32()
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.by_id(conn, viewer.account_id)
        assert account is not None
        # Sealed at rest: a copy of the database does not give the app's codes.
        await accounts.set_pending_totp(conn, account.id, ctx.settings.secret_box.seal(secret))
        await audited(conn, ctx, "totp.setup")
    return str(pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=TOTP_ISSUER))


async def confirm_authenticator_app(ctx: Context, code: str) -> bool:
    """Confirm the app with its first code; from now on login codes come from the app."""
    viewer = _require_session(ctx)
    assert viewer.account_id is not None
    code = code.replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        raise bad_input("code", "The code is 6 digits.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.by_id(conn, viewer.account_id)
        person = await persons.by_id(conn, viewer.person_id)
        assert account is not None and person is not None
        if account.totp_pending_secret is None:
            raise code_expired("Start the authenticator set-up first.")
        pending = ctx.settings.secret_box.open(account.totp_pending_secret)
        counter = _totp_counter(pending, code, now)
        if counter is None:
            error = await _fail(
                conn, ctx, account.id, "totp.confirm_failed", invalid_credentials(), person.id
            )
        else:
            error = None
            await accounts.activate_totp(conn, account.id, counter)
            await _notify_change(conn, person, "OTP_CHANNEL", now)
            await audited(conn, ctx, "totp.confirmed", at=now)  # person is the viewer's
    if error:
        raise error
    return True


async def create_account(ctx: Context, person_id: str, username: str, otp_channel: str) -> bool:
    """Create an account for a person and send an invitation with a set-password link."""
    viewer = ctx.viewer
    if viewer is None:
        raise unauthenticated()
    pid = validation.identifier("personId", person_id)
    name = validation.username("username", username)
    if otp_channel not in ctx.settings.otp_channels:
        raise bad_input("otpChannel", f"{otp_channel} is not an enabled login channel.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        denial = policy.account_admin_denial(
            viewer.global_roles,
            is_coordinator=await plans.is_coordinator_anywhere(conn, viewer.person_id),
        )
        if denial:
            raise forbidden(denial)
        person = await persons.by_id(conn, pid)
        if person is None:
            raise not_found("person")
        me = await persons.by_id(conn, viewer.person_id)
        scope = policy.unit_scope_denial(
            viewer.global_roles,
            is_coordinator=await plans.is_coordinator_anywhere(conn, viewer.person_id),
            viewer_unit=me.service_unit_id if me else None,
            person_unit=person.service_unit_id,
        )
        if scope:
            raise forbidden(scope)
        if await accounts.by_person(conn, pid):
            raise bad_input("personId", "This person already has an account.")
        if await accounts.by_username(conn, name):
            raise bad_input("username", "This username is taken.")
        if not person.email:
            raise bad_input("personId", "The person needs an e-mail address for the invitation.")
        if otp_channel == "SMS" and not person.mobile:
            raise bad_input("otpChannel", "SMS codes need a mobile number on the person.")
        account = await accounts.insert(
            conn, person_id=pid, username=name, otp_channel=otp_channel, password_hash=None, now=now
        )
        # The first invitation goes to the address the inviter typed (audited below); using
        # it confirms that address. Everything later goes only to confirmed contact data.
        await mail_link(
            conn,
            ctx,
            account.id,
            "INVITATION",
            person.email,
            lambda link: texts.invitation(link, name),
            sent_to=person.email,
        )
        await audited(
            conn,
            ctx,
            "account.created",
            target=pid,
            at=now,
            detail={"username": name, "otpChannel": otp_channel, "invitedAddress": person.email},
        )
        if person.mobile:
            # The invitation does not confirm a mobile the inviter typed: the holder confirms
            # it with this link once logged in (until then, codes go by e-mail).
            await contact.open_change(
                conn, ctx, viewer.person_id, person, account, "MOBILE", person.mobile, now
            )
    return True


async def open_session(
    conn: Conn,
    ctx: Context,
    account: accounts.AccountRow,
    now: dt.datetime,
    *,
    provider: str | None = None,
    level: str | None = None,
    sealed_id_token: str | None = None,
) -> NewSession:
    """The gateway's session after a login by password and code, or (``provider`` set)
    through an identity provider at this level: the same lifetimes, logout and access log.
    The rest of the request is answered as the person who just logged in."""
    method = "PASSWORD" if provider is None else "OIDC"
    token = secrets.token_urlsafe(32)
    session_id = await accounts.insert_session(
        conn,
        account_id=account.id,
        token_hash=token_hash(token),
        now=now,
        expires_at=now + SESSION_MAX,
        client_addr=ctx.client_addr,
        auth_method=method,
        auth_level=level,
        oidc_provider=provider,
        id_token=sealed_id_token,
    )
    roles = await persons.global_roles(conn, [account.person_id])
    ctx.viewer = Viewer(
        account.person_id, account.id, session_id, frozenset(roles[account.person_id])
    )
    ctx.loaders = Loaders(ctx.pool, account.person_id)
    return NewSession(
        token,
        now + SESSION_IDLE,
        account.person_id,
        auth_method=method,
        auth_level=level,
        identity_provider=provider,
    )


async def exchange_login_code(ctx: Context, code: str) -> NewSession:
    """A native app's one-time exchange code (from the OIDC callback) for a bearer session:
    single use, within 60 seconds."""
    if not 20 <= len(code) <= 256:
        raise code_expired("The code is invalid, expired or already used.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await oidc_db.take_exchange_code(conn, token_hash(code), now)
        if row is None:
            raise code_expired("The code is invalid, expired or already used.")
        account = await accounts.by_id(conn, row.account_id)
        assert account is not None
        if account.deactivated_at is not None:
            raise code_expired("The code is invalid, expired or already used.")
        session = await open_session(
            conn,
            ctx,
            account,
            now,
            provider=row.provider,
            level=row.auth_level,
            sealed_id_token=row.id_token,
        )
        await audited(
            conn,
            ctx,
            "login.oidc_success",
            actor_id=account.person_id,
            at=now,
            detail={"provider": row.provider, "level": row.auth_level, "via": "exchange"},
        )
    return session


async def viewer_for_token(
    conn: Conn, token: str, now: dt.datetime, *, touch: bool = True
) -> Viewer | None:
    """The viewer behind a bearer token; touching the session keeps it alive."""
    found = await live_viewer(conn, token, now, touch=touch)
    return found[0] if found else None


async def live_viewer(
    conn: Conn, token: str, now: dt.datetime, *, touch: bool = True
) -> tuple[Viewer, dt.datetime] | None:
    """The viewer behind a bearer token and the latest moment the session can last (its
    12 hours; the idle limit does not end it while it is used or kept alive)."""
    if not 20 <= len(token) <= 256:
        return None
    find = accounts.live_session if touch else accounts.peek_session
    session = await find(conn, token_hash(token), now, SESSION_IDLE)
    if session is None:
        return None
    viewer = Viewer(
        person_id=session.person_id,
        account_id=session.account_id,
        session_id=session.id,
        global_roles=frozenset(session.global_roles),
    )
    return viewer, session.expires_at

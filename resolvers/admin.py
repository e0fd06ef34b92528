"""Administration: API keys for reporting tools, and service units."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from db import apikeys, audit
from db.apikeys import ApiKeyRow
from db.pool import Conn
from resolvers import policy, validation
from resolvers.audit_trail import audited
from resolvers.context import ApiKeyViewer, Context, Viewer
from resolvers.errors import bad_input, forbidden, not_found, unauthenticated

API_KEY_PREFIX = "pgk_"


def _admin(ctx: Context) -> Viewer:
    if ctx.viewer is None:
        raise unauthenticated()
    denial = policy.api_key_admin_denial(ctx.viewer.global_roles)
    if denial:
        raise forbidden(denial)
    return ctx.viewer


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_api_key(ctx: Context, name: str, roles: list[str]) -> tuple[ApiKeyRow, str]:
    """A key for a reporting tool; the secret is shown once and stored only as a hash."""
    viewer = _admin(ctx)
    label = validation.required_text("name", name, max_length=100)
    if not roles or policy.api_key_roles_denial(set(roles)):
        raise bad_input("roles", "API keys are for reporting tools: roles must be [REPORTER].")
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await apikeys.insert(
            conn,
            name=label,
            roles=sorted(set(roles)),
            secret_hash=secret_hash(secret),
            created_by=viewer.person_id,
            now=ctx.now(),
        )
        await audited(conn, ctx, "apikey.created", target=row.id, detail={"name": label})
    return row, secret


async def revoke_api_key(ctx: Context, key_id: str) -> bool:
    _admin(ctx)
    kid = validation.identifier("id", key_id)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await apikeys.revoke(conn, kid, ctx.now())
        if row is None:
            raise not_found("API key")
        await audited(conn, ctx, "apikey.revoked", target=kid)
    return True


async def api_key_viewer(
    conn: Conn, secret: str, ctx_now: dt.datetime, client_addr: str | None
) -> ApiKeyViewer | None:
    """The reporting tool behind a bearer secret; every use is audited."""
    if not secret.startswith(API_KEY_PREFIX) or len(secret) > 200:
        return None
    row = await apikeys.use(conn, secret_hash(secret), ctx_now)
    if row is None:
        return None
    await audit.record(
        conn,
        at=ctx_now,
        actor_id=None,
        action="apikey.used",
        target=str(row.id),
        client_addr=client_addr,
    )
    return ApiKeyViewer(row.id, row.name, frozenset(row.roles))


async def create_service_unit(ctx: Context, name: str) -> tuple[uuid.UUID, str]:
    if ctx.viewer is None:
        raise unauthenticated()
    denial = policy.service_unit_admin_denial(ctx.viewer.global_roles)
    if denial:
        raise forbidden(denial)
    label = validation.required_text("name", name, max_length=200)
    async with ctx.pool.acquire() as conn, conn.transaction():
        exists = await conn.fetchval(
            "SELECT 1 FROM service_units WHERE lower(name) = lower($1)", label
        )
        if exists:
            raise bad_input("name", "A service unit with this name exists.")
        unit_id: uuid.UUID = await conn.fetchval(
            "INSERT INTO service_units (name) VALUES ($1) RETURNING id", label
        )
        await audited(conn, ctx, "service_unit.created", target=unit_id, detail={"name": label})
    return unit_id, label

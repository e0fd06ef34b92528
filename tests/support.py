"""Test helpers: a fake clock, a GraphQL client, and users made straight in the database."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db import accounts, persons
from resolvers import passwords

START = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
PASSWORD = "Fjelltur-Bergen42"


class FakeClock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class User:
    person_id: uuid.UUID
    account_id: uuid.UUID
    username: str
    email: str | None
    mobile: str | None
    password: str = PASSWORD


async def make_user(
    pool: asyncpg.Pool,
    username: str,
    *,
    first_name: str = "Test",
    last_name: str | None = None,
    email: str | None = "",
    mobile: str | None = None,
    channel: str = "EMAIL",
    roles: tuple[str, ...] = (),
    password: str = PASSWORD,
    **person_fields: Any,
) -> User:
    email = f"{username}@example.no" if email == "" else email
    async with pool.acquire() as conn:
        person = await persons.insert(
            conn,
            {
                "first_name": first_name,
                "last_name": last_name or username.capitalize(),
                "email": email,
                "mobile": mobile,
                **person_fields,
            },
        )
        account = await accounts.insert(
            conn,
            person_id=person.id,
            username=username,
            otp_channel=channel,
            password_hash=await passwords.hash_password(password),
            now=START,
            # An account in use: its holder has confirmed their contact data.
            confirmed_email=email,
            confirmed_mobile=mobile,
        )
        await persons.set_global_roles(conn, person.id, roles)
    return User(person.id, account.id, username, email, mobile, password)


class GraphQLClient:
    """Talks to the running gateway over real HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def close(self) -> None:
        await self.http.aclose()


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    error: dict[str, Any] = errors[0]
    return error


def six_digit_code(text: str) -> str:
    codes = re.findall(r"(?<!\d)\d{6}(?!\d)", text)
    assert len(codes) == 1, text
    return codes[0]


def token_from_link(text: str) -> str:
    match = re.search(r"\?token=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


async def session_for(pool: asyncpg.Pool, user: User, now: dt.datetime = START) -> str:
    """A logged-in session made straight in the database (login itself is tested elsewhere)."""
    import secrets

    from resolvers.auth import SESSION_MAX, token_hash

    token = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        await accounts.insert_session(
            conn,
            account_id=user.account_id,
            token_hash=token_hash(token),
            now=now,
            expires_at=now + SESSION_MAX,
            client_addr="127.0.0.1",
        )
    return token


NPM_TIMEOUT = 300.0


def _pinned_installed(folder: Path) -> bool:
    manifest = json.loads((folder / "package.json").read_text())
    wanted = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    for name, version in wanted.items():
        installed = folder / "node_modules" / name / "package.json"
        if not installed.exists() or json.loads(installed.read_text())["version"] != version:
            return False
    return True


def node_with_pinned_packages(folder: Path, needed_for: str, *, lockfile: bool = False) -> str:
    """node (20 or newer), with the exact versions of ``folder``'s package.json installed into
    its git-ignored node_modules once and reused (``npm ci`` when a package-lock.json pins the
    whole tree). Skips with a reason where node or npm is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"node and npm are needed {needed_for}")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node 20+ is needed, not {version}"
    install = ["ci"] if lockfile else ["install", "--no-package-lock"]
    with (folder / "package.json").open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time
        if not _pinned_installed(folder):
            done = subprocess.run(
                [npm, *install, "--no-audit", "--no-fund"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, f"npm {install[0]} failed\n{done.stdout}\n{done.stderr}"
            assert _pinned_installed(folder), "npm did not install the pinned versions"
    return node

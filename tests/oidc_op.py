"""A real OpenID Provider for tests: the certified npm package oidc-provider (pinned in
tests/js/oidc/package.json) run by node from tests/js/oidc/op.mjs.

OpenID Connect login is tested against the library ID-porten-like providers are built on, not
against a fake that agrees with our own reading of the specifications. The OP has no login
page: ``OidcOp.next_login`` says who the next authorization logs in as (sub, the ID-porten
``pid`` claim and ``acr``), and ``follow_to_client`` walks the redirects of an authorization
request to the client's redirect_uri, as a browser would.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.support import node_with_pinned_packages

OP_DIR = Path(__file__).resolve().parent / "js" / "oidc"

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MAX_HOPS = 20


def make_rsa_key(kid: str) -> dict[str, Any]:
    """A fresh private RSA JWK (2048 bit) for RS256 signatures, as the OP and clients use."""
    key = RSAKey.generate_key(
        2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"}, private=True
    )
    return dict(key.as_dict(private=True))


def public_jwk(private: dict[str, Any]) -> dict[str, Any]:
    """The public half of ``private`` (kid, alg and use kept): what a JWKS publishes."""
    return dict(RSAKey.import_key(private).as_dict(private=False))


class OidcOp:
    """A running OP process; ``restart`` brings it back on the same port (same issuer) with
    new signing keys, as a key rotation at the real provider looks to a client.

    The OP keeps everything in memory: a restart forgets its sessions, grants and codes, and
    the login set by ``next_login`` (set it again after a restart)."""

    def __init__(
        self, *, node: str, config: dict[str, Any], config_path: Path, tmp_path: Path
    ) -> None:
        self.node = node
        self.config = config
        self.config_path = config_path
        self.port: int = config["port"]
        self.issuer: str = config["issuer"]
        self.stdout_path = tmp_path / "oidc-op.stdout"
        self.stderr_path = tmp_path / "oidc-op.stderr"
        self.process: asyncio.subprocess.Process | None = None

    def output(self) -> str:
        """What the node process wrote to stderr (and stdout), for failure messages."""
        parts = []
        for path in (self.stderr_path, self.stdout_path):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    async def _start(self) -> None:
        self.config_path.write_text(json.dumps(self.config, indent=2))
        ready_before = self._ready_lines()
        # Files, not pipes: nobody has to keep reading them for node not to block on a full one.
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            self.process = await asyncio.create_subprocess_exec(
                self.node,
                "op.mjs",
                str(self.config_path),
                cwd=OP_DIR,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        try:
            await asyncio.wait_for(self._wait_ready(ready_before), START_TIMEOUT)
        except TimeoutError:
            await self.stop()
            pytest.fail(f"the OpenID Provider was not ready in {START_TIMEOUT} s\n{self.output()}")
        except BaseException:
            await self.stop()
            raise

    def _ready_lines(self) -> int:
        if not self.stdout_path.exists():
            return 0
        return self.stdout_path.read_text(errors="replace").count("READY\n")

    async def _wait_ready(self, ready_before: int) -> None:
        """A new READY on stdout (the port is listening; the file is shared by restarts), then
        discovery answering 200 (the provider is configured and serving)."""
        assert self.process is not None
        while self._ready_lines() <= ready_before:
            if self.process.returncode is not None:
                pytest.fail(
                    f"the OpenID Provider exited with {self.process.returncode}\n{self.output()}"
                )
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    response = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.05)

    async def next_login(self, sub: str, pid: str | None, acr: str) -> None:
        """Who the next login interaction logs in as; kept until changed. ``pid`` (the national
        identity number claim of ID-porten) is left out of the tokens when None.

        Like ID-porten, the OP keeps a session (cookie ``_session``): a browser (an
        ``httpx.AsyncClient``) that has logged in once is let through again as the same
        account without a new interaction. Use a fresh client, or ``prompt=login``, to log in
        as someone else."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{self.issuer}/test/next-login", json={"sub": sub, "pid": pid, "acr": acr}
            )
        assert response.status_code == 200, f"{response.text}\n{self.output()}"

    async def restart(self, signing_keys: list[dict[str, Any]]) -> None:
        """Stop and start again on the same port with ``signing_keys`` (the first one signs);
        the rest of the configuration is unchanged."""
        await self.stop()
        self.config = {**self.config, "signing_keys": signing_keys}
        await self._start()

    async def stop(self) -> None:
        """SIGTERM (the OP closes its server and connections), SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)


async def start_op(
    tmp_path: Path,
    *,
    port: int,
    clients: list[dict[str, Any]],
    signing_keys: list[dict[str, Any]],
    acr_values: list[str],
    id_token_ttl: int = 300,
) -> OidcOp:
    """Start the OP on 127.0.0.1:``port`` (issuer ``http://127.0.0.1:<port>``) and wait until
    it serves discovery. Skips the test where node or npm is missing."""
    node = node_with_pinned_packages(OP_DIR, "to run the OpenID Provider", lockfile=True)
    config = {
        "port": port,
        "issuer": f"http://127.0.0.1:{port}",
        "signing_keys": signing_keys,
        "clients": clients,
        "acr_values": acr_values,
        "id_token_ttl": id_token_ttl,
    }
    op = OidcOp(node=node, config=config, config_path=tmp_path / "oidc-op.json", tmp_path=tmp_path)
    await op._start()
    return op


@contextlib.asynccontextmanager
async def running_op(
    tmp_path: Path,
    *,
    port: int,
    clients: list[dict[str, Any]],
    signing_keys: list[dict[str, Any]],
    acr_values: list[str],
    id_token_ttl: int = 300,
) -> AsyncIterator[OidcOp]:
    """``start_op`` for the duration of an ``async with``; the process is stopped afterwards."""
    op = await start_op(
        tmp_path,
        port=port,
        clients=clients,
        signing_keys=signing_keys,
        acr_values=acr_values,
        id_token_ttl=id_token_ttl,
    )
    try:
        yield op
    finally:
        await op.stop()


def _auto_submitted_form(page: httpx.Response) -> tuple[str, dict[str, str]] | None:
    """The action and hidden fields of a page that posts its form by script as soon as it is
    loaded, as oidc-provider's own pages do (ending another account's session before a new
    login, the logout confirmation of op.mjs); None for any other page."""
    if page.status_code != 200 or ".submit()" not in page.text:
        return None
    form = re.search(
        r'<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]+)"[^>]*>(.*?)</form>',
        page.text,
        re.DOTALL | re.IGNORECASE,
    )
    if form is None:
        return None
    inputs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"\s*/?>', form[2])
    action: str = html.unescape(form[1])
    return urljoin(str(page.url), action), {name: html.unescape(v) for name, v in inputs}


async def follow_to_client(http: httpx.AsyncClient, url: str, redirect_prefix: str) -> str:
    """Follow the OP from ``url`` one step at a time, as a browser would, and return the first
    Location starting with ``redirect_prefix`` (the client's redirect_uri) without requesting
    it: the client's side is the code under test, not this helper.

    Redirects are followed with GET; a page of the OP that a browser's script would submit at
    once (see ``_auto_submitted_form``) is posted. Cookies are kept in ``http``, which is the
    browser. An error the OP sends to the client (``?error=...``) is returned as a code is.
    Starting at the end_session_endpoint with a post_logout_redirect_uri works too."""
    request: tuple[str, str, dict[str, str] | None] = ("GET", url, None)
    for _ in range(MAX_HOPS):
        method, url, fields = request
        response = await http.request(method, url, data=fields, follow_redirects=False)
        location = response.headers.get("location")
        if response.is_redirect and location is not None:
            target = urljoin(str(response.url), str(location))
            if target.startswith(redirect_prefix):
                return target
            request = ("GET", target, None)
            continue
        form = _auto_submitted_form(response)
        if form is None or form[0].startswith(redirect_prefix):
            pytest.fail(
                f"{method} {url} answered {response.status_code} without a redirect to "
                f"{redirect_prefix}:\n{response.text}"
            )
        request = ("POST", *form)
    pytest.fail(f"no redirect to {redirect_prefix} in {MAX_HOPS} steps; the last was {url}")

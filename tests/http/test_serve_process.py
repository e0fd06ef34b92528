"""`plangruppe serve --demo` as a new user runs it: a real process on the embedded PostgreSQL.

No DATABASE_URL, no mail server, no SMS gateway: the gateway starts its own PostgreSQL in
PLANGRUPPE_DATA_DIR, prints the demo passwords, writes login codes to its log, stops the
database on Ctrl-C and reuses the data at the next start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.support import six_digit_code

T = TypeVar("T")

START_TIMEOUT = 60.0
CODE_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel maskedDestination } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { firstName lastName } } }"""
ME = "{ me { firstName lastName email globalRoles } }"

# Variables that would point the gateway at a database or real delivery channels.
UNSET = (
    "DATABASE_URL",
    "PLANGRUPPE_ENV",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_STARTTLS",
    "SMS_GATEWAY_URL",
    "SMS_GATEWAY_TOKEN",
    "PLANGRUPPE_OTP_CHANNELS",
    "PYTHONUNBUFFERED",  # a user's shell does not set it: the passwords must be flushed anyway
)
# A log record's first line: ours ("2026-… INFO name: …") or uvicorn's ("INFO:     …").
LOG_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ |[A-Z]+:\s)", re.MULTILINE)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, proc: Serve) -> T:
    """Poll `probe` until it returns something, the process dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if proc.popen.poll() is not None:
            pytest.fail(f"plangruppe exited ({proc.popen.returncode}) waiting for {what}\n{proc}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s\n{proc}")
        time.sleep(0.2)


class Serve:
    """One `python -m gateway serve --demo` process with its output in files."""

    def __init__(self, tmp_path: Path, data_dir: Path, run: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = tmp_path / f"serve{run}.stdout"
        self.stderr_path = tmp_path / f"serve{run}.stderr"
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env["PLANGRUPPE_DATA_DIR"] = str(data_dir)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--demo", "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=tmp_path,
                # Its own process group, like a shell job: Ctrl-C goes to the whole group.
                start_new_session=True,
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def __str__(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def wait_started(self, client: httpx.Client) -> None:
        """The address on stdout (before any request, whose access log would flush it), then 200."""
        banner = f"plangruppe on {self.url}/graphql"
        wait_for(
            "the address on stdout", lambda: banner in self.stdout or None, START_TIMEOUT, self
        )

        def healthy() -> bool | None:
            try:
                return client.get(f"{self.url}/health").status_code == 200 or None
            except httpx.TransportError:
                return None

        wait_for("200 from /health", healthy, START_TIMEOUT, self)

    def graphql(
        self, client: httpx.Client, query: str, variables: dict[str, Any], token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def logged_code(self, recipient: str) -> str:
        """The one-time code the log sender wrote for `recipient`."""
        marker = f"EMAIL to {recipient} "

        def record() -> str | None:
            # The demo's notices of plan events go to the same addresses: skip them.
            text = self.stderr
            start = text.find(marker)
            while start >= 0:
                rest = text[start + len(marker) :]
                end = LOG_RECORD.search(rest)
                message = rest[: end.start()] if end else rest
                if "Engangskoden" in message and message.endswith("\n"):
                    return message
                start = text.find(marker, start + len(marker))
            return None

        return six_digit_code(
            wait_for(f"code for {recipient} in the log", record, CODE_TIMEOUT, self)
        )

    def interrupt(self) -> int:
        """Ctrl-C in the terminal: SIGINT to the foreground process group; the exit code."""
        os.killpg(self.popen.pid, signal.SIGINT)
        try:
            return self.popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"plangruppe did not stop within {STOP_TIMEOUT} s of Ctrl-C\n{self}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL server processes whose command line names this data directory."""
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline", "status"]):
        if proc.info["name"] != "postgres" or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def stop_stray_postgres(pgdata: Path) -> None:
    """After a failed test: leave no database server behind (SIGINT is a fast shutdown)."""
    procs = postgres_processes(pgdata)
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    psutil.wait_procs(procs, timeout=STOP_TIMEOUT)


def demo_accounts(stdout: str) -> dict[str, str]:
    """The username → password table printed under "Demo accounts"."""
    _, found, table = stdout.partition("Demo accounts")
    assert found, stdout
    accounts = {}
    for line in table.splitlines()[1:]:
        if not line.strip():
            break
        username, password = line.split()
        accounts[username] = password
    return accounts


def log_in(serve: Serve, client: httpx.Client, username: str, password: str) -> dict[str, Any]:
    challenge = serve.graphql(client, LOGIN, {"u": username, "p": password})["login"]
    assert challenge["channel"] == "EMAIL"
    code = serve.logged_code(f"{username}@example.no")
    session = serve.graphql(client, VERIFY, {"c": challenge["challengeId"], "code": code})
    token = session["verifyLoginCode"]["token"]
    me: dict[str, Any] = serve.graphql(client, ME, {}, token=token)["me"]
    return me


def stop_cleanly(serve: Serve, pgdata: Path) -> None:
    assert postgres_processes(pgdata), "the embedded PostgreSQL should be running"
    assert (pgdata / "postmaster.pid").exists()
    assert serve.interrupt() == 0, str(serve)
    assert postgres_processes(pgdata) == [], f"PostgreSQL still running\n{serve}"
    assert not (pgdata / "postmaster.pid").exists(), str(serve)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh PLANGRUPPE_DATA_DIR.

    Not under tmp_path: as root, embedded PostgreSQL runs as its own user and opens the
    prefix directories for it, but every pytest start (another run on the same machine)
    chmods /tmp/pytest-of-root back to 0700, and the database then loses its files.
    """
    parent = Path(tempfile.mkdtemp(prefix="plangruppe-serve-")).resolve()
    yield parent / "data"
    stop_stray_postgres(parent / "data" / "pgdata")
    shutil.rmtree(parent, ignore_errors=True)


def test_serve_demo_logs_in_stops_on_ctrl_c_and_reuses_its_data(
    tmp_path: Path, data_dir: Path
) -> None:
    pgdata = data_dir / "pgdata"
    with httpx.Client(timeout=30) as client:
        first = Serve(tmp_path, data_dir, 1)
        try:
            first.wait_started(client)
            accounts = demo_accounts(first.stdout)
            assert "demo.admin" in accounts and len(accounts) >= 3, first.stdout
            assert len(set(accounts.values())) == len(accounts)
            assert "written to this log" in first.stderr  # the development warning

            me = log_in(first, client, "demo.admin", accounts["demo.admin"])
            assert me["firstName"] == "Tone" and me["lastName"] == "Aasen", me
            assert me["email"] == "demo.admin@example.no"
            assert me["globalRoles"] == ["SYSTEM_ADMIN"]
            stop_cleanly(first, pgdata)
        finally:
            first.kill()

        second = Serve(tmp_path, data_dir, 2)
        try:
            second.wait_started(client)
            assert "Demo data already present" in second.stdout, str(second)
            assert "Demo accounts" not in second.stdout
            for password in accounts.values():
                assert password not in second.stdout

            me = log_in(second, client, "demo.planeier", accounts["demo.planeier"])
            assert (me["firstName"], me["lastName"]) == ("Emma", "Nilsen")
            stop_cleanly(second, pgdata)
        finally:
            second.kill()

"""`plangruppe serve` on the embedded PostgreSQL stops it on SIGTERM, as on Ctrl-C.

SIGTERM is what docker, systemd and Kubernetes send, to the gateway's process only (not to
a process group, as a terminal's Ctrl-C does). A gateway that dies of it leaves the embedded
PostgreSQL running, and its pid stays in the server's list of users, so that no later stop
stops the server either. Real processes, real signals; every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.http.test_serve_process import (
    STOP_TIMEOUT,
    Serve,
    data_dir,  # noqa: F401 - the fixture
    postgres_processes,
)


def terminate(serve: Serve) -> int:
    """SIGTERM to the gateway's process alone, as `docker stop` sends it; the exit code."""
    os.kill(serve.popen.pid, signal.SIGTERM)
    try:
        return serve.popen.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"plangruppe did not stop within {STOP_TIMEOUT} s of SIGTERM\n{serve}")


def assert_database_stopped(serve: Serve, pgdata: Path) -> None:
    assert postgres_processes(pgdata) == [], f"PostgreSQL still running\n{serve}"
    assert not (pgdata / "postmaster.pid").exists(), str(serve)


def test_sigterm_stops_the_gateway_and_the_embedded_database(
    tmp_path: Path,
    data_dir: Path,  # noqa: F811
) -> None:
    pgdata = data_dir / "pgdata"
    with httpx.Client(timeout=30) as client:
        for run in (1, 2):  # the second start finds the data and works as well
            serve = Serve(tmp_path, data_dir, run)
            try:
                serve.wait_started(client)
                assert postgres_processes(pgdata), "the embedded PostgreSQL should be running"
                assert terminate(serve) == 0, str(serve)
                assert_database_stopped(serve, pgdata)
            finally:
                serve.kill()


def test_a_gateway_killed_outright_does_not_keep_the_database_running_for_ever(
    tmp_path: Path,
    data_dir: Path,  # noqa: F811
) -> None:
    """SIGKILL (the OOM killer, a crash) leaves the database running with a dead user on its
    list; the next gateway takes over and its stop still stops the database."""
    pgdata = data_dir / "pgdata"
    with httpx.Client(timeout=30) as client:
        first = Serve(tmp_path, data_dir, 1)
        try:
            first.wait_started(client)
            os.kill(first.popen.pid, signal.SIGKILL)
            first.popen.wait(STOP_TIMEOUT)
            assert postgres_processes(pgdata), "SIGKILL should leave the database running"
        finally:
            first.kill()

        second = Serve(tmp_path, data_dir, 2)
        try:
            second.wait_started(client)
            assert terminate(second) == 0, str(second)
            assert_database_stopped(second, pgdata)
        finally:
            second.kill()

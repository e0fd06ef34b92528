"""Logs as an operator reads them: `plangruppe serve` with PLANGRUPPE_LOG_FORMAT=json writes
one JSON object per line, uvicorn's access log included, each request's lines carrying its
request id (the caller's X-Request-ID, sent back), operation name and viewer; never a token,
a code from a URL, a password or a variable."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway import logs
from gateway.settings import ConfigError, Settings
from tests.http.test_live_messages import serve_processes
from tests.support import make_user, session_for


async def test_serve_writes_json_lines_without_secrets(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANGRUPPE_LOG_FORMAT", "json")
    monkeypatch.setenv("PLANGRUPPE_LOG_LEVEL", "INFO")
    user = await make_user(pool, "loggbruker")
    async with serve_processes(1, db_dsn, tmp_path) as (proc,):
        token = await session_for(pool, user, dt.datetime.now(dt.UTC))
        async with httpx.AsyncClient(base_url=proc.url, timeout=20) as http:
            answer = await http.post(
                "/graphql",
                json={
                    "query": "query MinSide($l: String) { me { id }"
                    " searchPersons(lastName: $l) { id } }",
                    "operationName": "MinSide",
                    "variables": {"l": "hemmelig-variabel"},
                },
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-abc12345"},
            )
            assert answer.json()["data"]["me"] == {"id": str(user.person_id)}, answer.text
            assert answer.headers["x-request-id"] == "req-abc12345"
            made = await http.get("/health", headers={"X-Request-ID": "bad id with spaces"})
            assert made.headers["x-request-id"] != "bad id with spaces"
            await http.get("/auth/oidc/nobody/callback?code=hemmelig-kode&state=s")
        proc.stop()
    text = proc.stderr_path.read_text() + proc.stdout_path.read_text()
    lines = [line for line in text.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert entries, text
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    graphql = next(e for e in access if e["path"] == "/graphql")
    assert graphql["requestId"] == "req-abc12345" and graphql["status"] == 200
    assert graphql["operation"] == "MinSide" and graphql["viewer"] == str(user.person_id)
    callback = next(e for e in access if e["path"].startswith("/auth/oidc/"))
    assert callback["path"] == "/auth/oidc/nobody/callback"
    for secret in (token, "hemmelig-kode", "hemmelig-variabel", user.password):
        assert secret not in text


def test_the_formatter_keeps_query_strings_out() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/graphql?query=%7Bme%7D&token=x", "1.1", 200),
        None,
    )
    token = logs.request_id.set("req-00000001")
    try:
        entry = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.request_id.reset(token)
    assert entry["path"] == "/graphql" and entry["requestId"] == "req-00000001"
    assert "token" not in json.dumps(entry)
    text = logs.TextFormatter().format(record)
    assert "/graphql" in text and "query=" not in text


def test_log_settings_are_checked() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"PLANGRUPPE_LOG_LEVEL": "warning"}).log_level == "WARNING"
    for name, value in (("PLANGRUPPE_LOG_LEVEL", "LOUD"), ("PLANGRUPPE_LOG_FORMAT", "xml")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})

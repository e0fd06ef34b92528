"""GraphQL-over-HTTP rules as plain ASGI middleware: content types (CSRF), body size and a
body that is a JSON object in UTF-8. Every refusal is a GraphQL-shaped JSON error."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024
# A 20 MiB document plus the multipart envelope and the operation.
MAX_UPLOAD_BODY = 20 * 1024 * 1024 + 64 * 1024
JSON_TYPES = ("application/json", "application/graphql-response+json")


class GraphQLHttpLimits:
    """Refuse form and text bodies (415), bodies over 1 MiB (413) and JSON bodies that are not
    UTF-8 or not an object (400) before GraphQL runs.

    The one exception is a document upload (GraphQL multipart request): multipart/form-data
    up to 20 MiB, and only with an Authorization header. A bearer token is never sent by a
    browser on its own, so a cross-site form cannot make such a request (CSRF)."""

    def __init__(self, app: ASGIApp, *, path: str = "/graphql", max_body: int = MAX_BODY) -> None:
        self.app = app
        self.path = path
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        limit = self.max_body
        if content_type == "multipart/form-data" and "authorization" in headers:
            limit = MAX_UPLOAD_BODY
        elif content_type not in JSON_TYPES:
            await error_reply(send, 415, "Send GraphQL requests as application/json.")
            return
        too_large = f"The request body is larger than {limit // (1024 * 1024)} MiB."
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await error_reply(send, 413, too_large)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await error_reply(send, 413, too_large)
                return
        problem = None if content_type == "multipart/form-data" else _not_a_json_object(body)
        if problem:
            await error_reply(send, 400, problem)
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _not_a_json_object(body: bytearray) -> str | None:
    """Why a JSON body cannot be a GraphQL request, as far as can be told without parsing it
    (GraphQL over HTTP: the body is a JSON object, in UTF-8). A body that starts like an object
    but is not valid JSON is left to the parser, which answers 400 as well."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "The request body is not valid UTF-8."
    if not body.lstrip(b" \t\r\n").startswith(b"{"):
        return "The request body must be a JSON object with a query."
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def error_body(message: str, code: str = "BAD_REQUEST") -> dict[str, object]:
    """A GraphQL-shaped error response for a request that GraphQL did not execute."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


async def error_reply(
    send: Send,
    status: int,
    message: str,
    code: str = "BAD_REQUEST",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    body = json.dumps(error_body(message, code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

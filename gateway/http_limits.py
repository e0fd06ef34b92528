"""GraphQL-over-HTTP rules as plain ASGI middleware: content types (CSRF), body size and a
body that is a JSON object in UTF-8. Every refusal is a GraphQL-shaped JSON error, in the
response media type the client accepts (`response_media_type`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024
# A 20 MiB document plus the multipart envelope and the operation.
MAX_UPLOAD_BODY = 20 * 1024 * 1024 + 64 * 1024
JSON_TYPES = ("application/json", "application/graphql-response+json")

# GraphQL over HTTP (current draft): the response media types, and what each means for status
# codes. application/graphql-response+json: 400 for a request GraphQL refused before executing
# it (no `data`), 200 when execution ran. application/json: 200 for every well-formed request.
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
CONTENT_TYPES = {
    GRAPHQL_RESPONSE_JSON: "application/graphql-response+json; charset=utf-8",
    APPLICATION_JSON: "application/json; charset=utf-8",
}
# The spec leaves the choice for `*/*` (and `application/*`) to the server: application/json,
# as the graphql-http audit asks (47DE) and its reference server does, so clients written
# before the new media type (curl, a bare fetch) keep their 200s. Naming
# application/graphql-response+json, or sending no Accept header at all (the spec's rule
# since 2025-01-01), gets the new media type.
WILDCARD_MEDIA_TYPE = APPLICATION_JSON


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
        media_type = response_media_type(headers.get("accept")) or APPLICATION_JSON
        limit = self.max_body
        if content_type == "multipart/form-data" and "authorization" in headers:
            limit = MAX_UPLOAD_BODY
        elif content_type not in JSON_TYPES:
            refusal = "Send GraphQL requests as application/json."
            await error_reply(send, 415, refusal, media_type=media_type)
            return
        too_large = f"The request body is larger than {limit // (1024 * 1024)} MiB."
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await error_reply(send, 413, too_large, media_type=media_type)
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
                await error_reply(send, 413, too_large, media_type=media_type)
                return
        problem = None if content_type == "multipart/form-data" else _not_a_json_object(body)
        if problem:
            await error_reply(send, 400, problem, media_type=media_type)
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


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer a GraphQL request in, from its Accept header; None when the
    header names neither (the caller then answers application/json: the spec allows the
    server's choice there, and a 406 would break clients that never looked).

    The highest q wins; on a tie the more specific range (`application/json` over
    `application/*` over `*/*`), then the one listed first. A type only a wildcard reaches
    is WILDCARD_MEDIA_TYPE. No header at all: application/graphql-response+json."""
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = [_media_range(item) for item in accept.split(",") if item.strip()]
    best: tuple[float, int, int, int] | None = None
    chosen = None
    for media_type in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
        found = None  # (specificity, q, position) of the most specific range that matches
        for position, (name, q) in enumerate(ranges):
            specificity = _specificity(name, media_type)
            if specificity >= 0 and (found is None or specificity > found[0]):
                found = (specificity, q, position)
        if found is None or found[1] <= 0:
            continue
        specificity, q, position = found
        rank = (q, specificity, -position, int(media_type == WILDCARD_MEDIA_TYPE))
        if best is None or rank > best:
            best, chosen = rank, media_type
    return chosen


def _media_range(item: str) -> tuple[str, float]:
    name, *params = (part.strip() for part in item.split(";"))
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                q = 0.0
    return name.lower(), q


def _specificity(media_range: str, media_type: str) -> int:
    """2 for the type itself, 1 for `application/*`, 0 for `*/*`, -1 when it does not match."""
    if media_range == media_type:
        return 2
    if media_range == media_type.split("/")[0] + "/*":
        return 1
    return 0 if media_range == "*/*" else -1


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


def json_error(status: int, message: str, code: str = "BAD_REQUEST") -> Response:
    """A refusal outside GraphQL, in GraphQL's error shape like every other answer."""
    return JSONResponse(error_body(message, code), status_code=status)


async def error_reply(
    send: Send,
    status: int,
    message: str,
    code: str = "BAD_REQUEST",
    headers: Sequence[tuple[bytes, bytes]] = (),
    media_type: str = APPLICATION_JSON,
) -> None:
    body = json.dumps(error_body(message, code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", CONTENT_TYPES[media_type].encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

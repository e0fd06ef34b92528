"""The file routes: a plan's documents, its archived copies and its print-out (Utskrift), fetched
with the bearer token. Each asks the same resolver rule as the GraphQL field that lists it; a
refusal is GraphQL's error shape with the HTTP status of its code."""

from __future__ import annotations

from collections.abc import Callable

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.authentication import credentials
from gateway.http_limits import json_error
from gateway.state import GatewayState
from resolvers import access_log, content, lifecycle, person_data
from resolvers.context import Context

_STATUS_OF_CODE = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
}


def routes(state: Callable[[], GatewayState]) -> list[Route]:
    """GET routes for documents, archives and print.pdf; `state` gives the running process's."""

    async def download(request: Request) -> Response:
        """GET downloadUrl with the bearer token: the same access check as Plan.documents."""
        ctx = _file_context(state, request)
        if isinstance(ctx, Response):
            return ctx
        params = request.path_params
        try:
            row, data = await content.readable_document(
                ctx, params["plan_id"], params["document_id"]
            )
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        return _file(data, row.content_type, row.name)

    async def archive(request: Request) -> Response:
        """An archived copy of the plan, as JSON or PDF."""
        ctx = _file_context(state, request)
        if isinstance(ctx, Response):
            return ctx
        params = request.path_params
        kind = params["kind"]
        if kind not in ("json", "pdf"):
            return json_error(404, "No such archive format.", "NOT_FOUND")
        try:
            row, data = await lifecycle.archive_file(
                ctx, params["plan_id"], params["archive_id"], kind
            )
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        media = "application/json" if kind == "json" else "application/pdf"
        return _file(data, media, f"plan-arkiv-{row.archived_at:%Y%m%d}.{kind}")

    async def print_plan(request: Request) -> Response:
        """Utskrift: the plan as PDF, with only the sections this viewer may read."""
        ctx = _file_context(state, request)
        if isinstance(ctx, Response):
            return ctx
        try:
            data = await lifecycle.print_pdf(ctx, request.path_params["plan_id"])
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        return _file(data, "application/pdf", "plan.pdf")

    async def person_export(request: Request) -> Response:
        """Innsyn: everything held about a person, as JSON."""
        ctx = _file_context(state, request)
        if isinstance(ctx, Response):
            return ctx
        try:
            data = await person_data.export(ctx, request.path_params["person_id"])
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        return _file(data, "application/json", "mine-data.json")

    return [
        Route("/persons/{person_id}/export.json", person_export, methods=["GET"]),
        Route("/plans/{plan_id}/documents/{document_id}", download, methods=["GET"]),
        Route("/plans/{plan_id}/archives/{archive_id}.{kind}", archive, methods=["GET"]),
        Route("/plans/{plan_id}/print.pdf", print_plan, methods=["GET"]),
    ]


def _file_context(state: Callable[[], GatewayState], request: Request) -> Context | Response:
    """The request's context, or 401 when it carries no valid token."""
    found = credentials(request.scope)
    if found.viewer is None:
        return json_error(401, "Log in first.", "UNAUTHENTICATED")
    return state().context(found.viewer, found.token, found.client, request)


def _file(data: bytes, media_type: str, name: str) -> Response:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _refusal(exc: GraphQLError) -> Response:
    """A file route's refusal: the resolver's error (code, reason) as JSON."""
    extensions = dict(exc.extensions or {})
    status = _STATUS_OF_CODE.get(str(extensions.get("code")), 400)
    return JSONResponse({"errors": [{"message": exc.message, "extensions": extensions}]}, status)

"""GraphiQL for development, served from this package so it works with no internet: the page
at GET /graphql (a browser's Accept: text/html) and its assets under /graphiql/. The assets in
static/vendor/ are built by scripts/vendor-graphiql from the versions pinned in package.json
beside this file (docs/operations.md, "GraphiQL"). Production serves neither."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "static"
# The page names its assets relative to /graphql, so a reverse proxy may add a path prefix.
ASSET_PATH = "/graphiql"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # GraphiQL's editors, popovers and resizable panes set inline styles.
        "style-src 'self' 'unsafe-inline'",
        # graphiql.min.css embeds its fonts and icons as data: URLs.
        "font-src 'self' data:",
        "img-src 'self' data:",
        # Queries over HTTP, subscriptions over WebSocket: this origin only ('self' covers ws:).
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Revalidated on every load (ETag and Last-Modified answer 304): the file names carry no
# version, so a browser never keeps an old GraphiQL after an upgrade.
_ASSET_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".txt": "text/plain",
}


def page() -> Response:
    """The GraphiQL page, with a Content-Security-Policy that allows this origin only."""
    return HTMLResponse(_page_html(), headers=_PAGE_HEADERS)


def routes() -> list[BaseRoute]:
    """The assets the page names, under ASSET_PATH."""
    return [Mount(ASSET_PATH, app=_Assets(directory=ASSETS), name="graphiql")]


def _page_html() -> str:
    return (HERE / "page.html").read_text(encoding="utf-8")


class _Assets(StaticFiles):
    """StaticFiles with fixed media types (not the machine's mime.types) and our headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        media_type = _MEDIA_TYPES.get(Path(full_path).suffix, "application/octet-stream")
        response = FileResponse(
            full_path,
            status_code=status_code,
            headers=_ASSET_HEADERS,
            media_type=media_type,
            stat_result=stat_result,
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

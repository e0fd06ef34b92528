"""GraphiQL with no internet: the page at GET /graphql and every file it needs come from the
gateway itself (gateway/graphiql/, built by scripts/vendor-graphiql).

- The page and every asset it names are fetched over real HTTP: 200, the right media type,
  revalidation (304), a Content-Security-Policy that allows this origin only, and no URL to
  another host that a browser would load. The URLs to other hosts that the bundles do contain
  are listed below one by one, with why none is ever fetched; a new one fails the test.
- Headless Chromium (Debian's `chromium`, installed by a fixture where missing) driven by the
  npm `playwright-core` (tests/js/graphiql/) loads GraphiQL with every other host blocked, runs
  `{ __typename }`, a query with the token in GraphiQL's header editor and a subscription over
  graphql-transport-ws, and sees each answer in the result pane.
- Production serves neither the page nor the assets.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import asyncpg
import httpx
import pytest

from gateway import graphiql
from resolvers import secret_box
from tests.conftest import Gateway, running_gateway
from tests.plan_world import COORDINATOR, build_world
from tests.support import FakeClock, node_with_pinned_packages

JS_DIR = Path(__file__).resolve().parent.parent / "js" / "graphiql"
APT_TIMEOUT = 900.0
BROWSER_TIMEOUT = 180.0  # the driver bounds each of its steps at 30 s

# Every http(s) URL to another host in the page and its assets, outside licence comments. None
# is loaded: each is an XML namespace name, text in a message, or a link a user may click.
INERT_URLS = {
    # Namespace names passed to createElementNS / setAttributeNS, never fetched.
    "http://www.w3.org/2000/svg": "SVG namespace",
    "http://www.w3.org/1999/xhtml": "XHTML namespace",
    "http://www.w3.org/1999/xlink": "XLink namespace",
    "http://www.w3.org/1998/Math/MathML": "MathML namespace",
    "http://www.w3.org/XML/1998/namespace": "XML namespace",
    # Text: graphql's built-in scalar descriptions, shown in the documentation explorer.
    "https://en.wikipedia.org/wiki/IEEE_floating_point": "description of Float",
    "https://commonmark.org/": "description of @specifiedBy/markdown",
    # Text: an error message about GraphiQL's CDN builds; React's error-decoder link.
    "https://github.com/graphql/graphiql/blob/master/examples/graphiql-cdn/index.html#L49": (
        "error message"
    ),
    "https://reactjs.org/docs/error-decoder.html?invariant=": "React error message",
    # Links (<a href target=_blank>) in GraphiQL's logo and short-key dialog: opened on click.
    "https://github.com/graphql/graphiql": "logo link",
    "https://codemirror.net/5/doc/manual.html#keymaps": "link in the short-keys dialog",
}

_URL = re.compile(r"\b(?:https?|wss?)://[^\s\"'`()<>\\,;{}\[\]]+", re.IGNORECASE)
# A host without a scheme (`//cdn.example/x.js`), as a string literal or a CSS url().
_SCHEMELESS = re.compile(r"""["'(]\s*//[a-z0-9-]+(?:\.[a-z0-9-]+)+""", re.IGNORECASE)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)", re.IGNORECASE)


def _without_licence_comments(text: str) -> str:
    """Drop `/*! … */` and `/** @license … */` comments: licence texts name their authors'
    sites, and minifiers keep exactly these comments."""

    def keep(match: re.Match[str]) -> str:
        comment = match.group(0)
        licence = comment.startswith("/*!") or "@license" in comment or "@preserve" in comment
        return " " if licence else comment

    return _BLOCK_COMMENT.sub(keep, text)


def foreign_urls(text: str, origin: str) -> set[str]:
    """The URLs in `text`, outside licence comments, that are not on `origin`."""
    found = set()
    for url in _URL.findall(_without_licence_comments(text)):
        url = url.rstrip(".:")
        parts = urlsplit(url)
        if f"{parts.scheme.replace('ws', 'http')}://{parts.netloc}" != origin:
            found.add(url)
    return found


class _References(HTMLParser):
    """Every URL an HTML page makes the browser load, and any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.other: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "script":
            self._in_script = True
            if "src" in named:
                self.scripts.append(named["src"])
        elif tag == "link" and "stylesheet" in named.get("rel", "").split():
            self.stylesheets.append(named["href"])
        else:
            self.other += [named[a] for a in ("src", "href", "srcset", "poster") if a in named]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _csp(header: str) -> dict[str, list[str]]:
    directives = [d.split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


async def _page(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.get(f"{url}/graphql", headers={"Accept": "text/html"})


# --- over HTTP -------------------------------------------------------------------------------


async def test_the_page_and_every_asset_it_names_come_from_the_gateway(gateway: Gateway) -> None:
    origin = gateway.url
    async with httpx.AsyncClient() as client:
        page = await _page(client, origin)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        refs = _References()
        refs.feed(page.text)
        assert refs.inline_scripts == 0, "the CSP allows no inline script"
        assert len(refs.scripts) == 4, refs.scripts  # react, react-dom, graphiql, start.js
        assert len(refs.stylesheets) == 2, refs.stylesheets
        assert refs.other == ["data:,"], refs.other  # the empty favicon, so none is asked for
        assert foreign_urls(page.text, origin) == set()

        expected_type = {
            **dict.fromkeys(refs.scripts, "text/javascript; charset=utf-8"),
            **dict.fromkeys(refs.stylesheets, "text/css; charset=utf-8"),
        }
        found: dict[str, str] = {}
        for ref, media_type in expected_type.items():
            url = urljoin(f"{origin}/graphql", ref)
            assert url.startswith(f"{origin}/graphiql/"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"] == media_type, url
            assert asset.headers["x-content-type-options"] == "nosniff", url
            assert asset.headers["cache-control"] == "no-cache", url
            again = await client.get(url, headers={"If-None-Match": asset.headers["etag"]})
            assert again.status_code == 304, url
            assert "sourceMappingURL" not in asset.text, f"{url} names a source map not shipped"
            found.update(dict.fromkeys(foreign_urls(asset.text, origin), url))
            if media_type.startswith("text/css"):
                for target in _CSS_URL.findall(asset.text):
                    assert target.startswith("data:"), (url, target)
            assert not _SCHEMELESS.search(_without_licence_comments(asset.text)), url
        unexplained = {u: where for u, where in found.items() if u not in INERT_URLS}
        assert unexplained == {}, "URLs to other hosts; add them to INERT_URLS only if inert"
        assert "https://github.com/graphql/graphiql" in found, "the scan must see the bundle"


async def test_the_page_allows_this_origin_only(gateway: Gateway) -> None:
    async with httpx.AsyncClient() as client:
        page = await _page(client, gateway.url)
    policy = _csp(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    sources = {source for values in policy.values() for source in values}
    assert sources <= {"'self'", "'none'", "'unsafe-inline'", "data:"}, sources
    assert page.headers["cache-control"] == "no-cache"


async def test_the_shipped_assets_match_the_pinned_versions() -> None:
    """The one place versions are pinned is package.json; the committed assets must have been
    built from it, and their licences kept beside them."""
    pinned: dict[str, str] = json.loads((graphiql.HERE / "package.json").read_text())[
        "dependencies"
    ]
    vendor = graphiql.ASSETS / "vendor"
    licences = (vendor / "THIRD-PARTY-LICENSES.txt").read_text()
    for name, version in pinned.items():
        # The package's own LICENSE text follows its heading, not a note that it has none.
        heading = rf"^{re.escape(name)}@{re.escape(version)} \(MIT\)\n\n(MIT License|Copyright)"
        assert re.search(heading, licences, re.M), name
    assert {p.name for p in vendor.iterdir()} == {
        "THIRD-PARTY-LICENSES.txt",
        "graphiql.min.css",
        "graphiql.min.js",
        "react-dom.production.min.js",
        "react.production.min.js",
    }
    for name in ("react", "react-dom"):
        build = (vendor / f"{name}.production.min.js").read_text()
        assert re.search(rf'\.version="{re.escape(pinned[name])}[-"]', build), name


@pytest.fixture
async def production(pool: asyncpg.Pool, settings: Any, clock: FakeClock) -> AsyncIterator[Gateway]:
    async for g in running_gateway(
        pool,
        settings,
        clock,
        env="production",
        smtp_starttls=True,
        secret_keys=(secret_box.generate_key(),),
    ):
        yield g


async def test_production_serves_neither_page_nor_assets(production: Gateway) -> None:
    async with httpx.AsyncClient() as client:
        page = await _page(client, production.url)
        asset = await client.get(f"{production.url}/graphiql/vendor/graphiql.min.js")
        start = await client.get(f"{production.url}/graphiql/start.js")
    assert page.status_code == 404
    assert "content-security-policy" not in page.headers
    assert (asset.status_code, start.status_code) == (404, 404)


# --- in headless Chromium --------------------------------------------------------------------


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing and the tests run as root."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            "Debian's chromium is not installed and cannot be installed here "
            "(needs root and apt-get): apt-get install chromium"
        )
    install = ["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=300", "chromium"]
    done = _run(install, APT_TIMEOUT)
    if done.returncode != 0:  # package lists missing or stale
        _run(["apt-get", "update", "-o", "DPkg::Lock::Timeout=300"], APT_TIMEOUT)
        done = _run(install, APT_TIMEOUT)
    found = shutil.which("chromium")
    if found is None:
        pytest.skip(
            f"apt-get install chromium failed, no browser to test in:\n{done.stderr[-2000:]}"
        )
    return found


@pytest.fixture(scope="session")
def browser_driver() -> tuple[str, Path]:
    """node and the playwright-core script, with tests/js/graphiql/package.json's pins."""
    node = node_with_pinned_packages(JS_DIR, "to drive Chromium with playwright-core")
    return node, JS_DIR / "drive_graphiql.mjs"


async def test_graphiql_runs_queries_and_subscriptions_in_chromium_with_no_other_host(
    chromium: str, browser_driver: tuple[str, Path], gateway: Gateway
) -> None:
    world = await build_world(gateway)
    node, script = browser_driver
    proc = await asyncio.create_subprocess_exec(
        node,
        str(script),
        chromium,
        gateway.url,
        world.token(COORDINATOR),
        world.plan_id,
        cwd=JS_DIR,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), BROWSER_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert out, f"the browser driver printed nothing (exit {proc.returncode})\n{err.decode()}"
    report = json.loads(out)
    assert "timedOut" not in report, report
    assert proc.returncode == 0, err.decode()
    assert report["foreignRequests"] == [], "the page tried to load from another host"
    assert report["cspViolations"] == []
    assert report["consoleErrors"] == []
    assert '"__typename": "Query"' in report["typename"], report["typename"]
    assert f'"id": "{world.person_id(COORDINATOR)}"' in report["me"], report["me"]
    assert "Hei fra GraphiQL" in report["subscription"], report["subscription"]
    ws_origin = gateway.url.replace("http://", "ws://", 1)
    assert report["webSockets"] and all(
        url.startswith(f"{ws_origin}/graphql") for url in report["webSockets"]
    ), report["webSockets"]

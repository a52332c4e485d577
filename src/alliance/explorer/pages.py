"""Serving the explorer's pages and assets from a FastAPI application.

Theory of operation: the explorer is one HTML shell and a handful of ES modules. Every page path
answers the shell (the script renders the page the path names), so a page has a real URL that can
be bookmarked, shared and reloaded, without any route matching "everything" (which would swallow
the API's own 404 problems). Assets are read from the package once, at mount, and served from
memory under ``ASSET_PREFIX`` by name: only files that ship in ``static/`` can be asked for, so
there is no path to climb out of.

Every HTML answer carries a Content-Security-Policy that allows scripts, styles, images and
connections from the serving origin only: the pages cannot fetch from anywhere else even if a bug
tried to, and data shown on a page can never run as script (the scripts also build the DOM from
text nodes, never from HTML strings). Assets are revalidated on every load (``no-cache`` with an
ETag): a node upgraded in place never serves a stale script next to a new page.

In console mode (``alliance console``) the shell says so (``data-mode="console"``) and gains the
``/console`` page; the console's own server adds the action routes (``explorer.console``).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI, Request
from starlette.responses import Response

from alliance.errors import NotFound
from alliance.types import invariant

ASSET_PREFIX = "/explorer/"
STATIC_PACKAGE = "alliance.explorer"
STATIC_DIR = "static"
SHELL_NAME = "index.html"
ASSETS_MAX = 64  # the explorer ships a handful of files; more means something was packaged by mistake
MODE_PLACEHOLDER = "{{MODE}}"

PAGE_PATHS: tuple[str, ...] = (
    "/",
    "/blocks",
    "/blocks/{height}",
    "/txs/{tx_hash}",
    "/accounts/{address}",
    "/governance",
    "/proposals/{proposal_id}",
    "/search",
)
CONSOLE_PAGE_PATHS: tuple[str, ...] = ("/console",)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(name: str, body: bytes) -> Asset:
    suffix = name[name.rfind(".") :] if "." in name else ""
    media_type = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def load_assets() -> dict[str, Asset]:
    """Every file under ``static/`` by its path relative to it (``app.js``, ``pages/tx.js``)."""
    root = resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR)
    found: dict[str, Asset] = {}
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                pending.append((name + "/", entry))
            elif not entry.name.startswith("."):
                found[name] = _asset(name, entry.read_bytes())
    invariant(SHELL_NAME in found, f"the explorer's {SHELL_NAME} is missing from the package")
    invariant(len(found) <= ASSETS_MAX, f"{len(found)} explorer assets, more than {ASSETS_MAX}")
    return found


def _answer(asset: Asset, request: Request) -> Response:
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers={"ETag": asset.etag, **SECURITY_HEADERS})
    return Response(asset.body, media_type=asset.media_type, headers={"ETag": asset.etag, **SECURITY_HEADERS})


class Site:
    """The explorer's shell and assets, loaded once, and the routes that serve them."""

    def __init__(self, *, console: bool = False) -> None:
        self.console = console
        self.assets = load_assets()
        shell_text = self.assets[SHELL_NAME].body.decode("utf-8")
        invariant(MODE_PLACEHOLDER in shell_text, "the explorer's shell has no mode placeholder")
        mode = "console" if console else "explorer"
        self.shell = _asset(SHELL_NAME, shell_text.replace(MODE_PLACEHOLDER, mode).encode("utf-8"))

    @property
    def page_paths(self) -> tuple[str, ...]:
        return PAGE_PATHS + (CONSOLE_PAGE_PATHS if self.console else ())

    def page(self, request: Request) -> Response:
        return _answer(self.shell, request)

    def asset(self, name: str, request: Request) -> Response:
        found = self.assets.get(name)
        if found is None or name == SHELL_NAME:
            raise NotFound(f"the explorer has no file {name!r}")
        return _answer(found, request)

    def add_routes(self, app: FastAPI, *, except_paths: frozenset[str] = frozenset()) -> None:
        """The page paths (but ``except_paths``, which the caller serves itself) and the assets."""

        async def page(request: Request) -> Response:
            return self.page(request)

        async def asset(name: str, request: Request) -> Response:
            return self.asset(name, request)

        for path in self.page_paths:
            if path not in except_paths:
                app.add_api_route(
                    path, page, methods=["GET"], include_in_schema=False, response_class=Response
                )
        app.add_api_route(
            ASSET_PREFIX + "{name:path}",
            asset,
            methods=["GET"],
            include_in_schema=False,
            response_class=Response,
        )


def mount(app: FastAPI, *, console: bool = False) -> None:
    """Serve the explorer's pages at ``PAGE_PATHS`` and its assets under ``ASSET_PREFIX``."""
    Site(console=console).add_routes(app)

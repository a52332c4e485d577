"""Serving the explorer's pages and assets from a FastAPI application.

Theory of operation: the explorer is one HTML shell and a handful of ES modules. Every page path
answers the shell (the script renders the page the path names), so a page has a real URL that can
be bookmarked, shared and reloaded, without any route matching "everything" (which would swallow
the API's own 404 problems). Assets are read from the package once, at mount, and served from
memory under ``ASSET_PREFIX`` + a version + their name: only files that ship in ``static/`` can be
asked for, so there is no path to climb out of.

The version is a digest of every asset, and the shell names the assets under it, so the modules'
own relative imports (``./api.js``) carry it too. An asset's URL therefore names its content: it is
served as immutable and a browser asks for it once, while the shell itself is revalidated on every
load (``no-cache`` with an ETag). A node upgraded in place serves a shell with the new version, and
no browser can mix a cached old script into a new page (an old version's URLs answer 404).

Every HTML answer carries a Content-Security-Policy that allows scripts, styles, images and
connections from the serving origin only: the pages cannot fetch from anywhere else even if a bug
tried to, and data shown on a page can never run as script (the scripts also build the DOM from
text nodes, never from HTML strings).

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
ASSETS_PLACEHOLDER = "{{ASSETS}}"
VERSION_HEX_DIGITS = 16
IMMUTABLE = "public, max-age=31536000, immutable"

PAGE_PATHS: tuple[str, ...] = (
    "/",
    "/blocks",
    "/blocks/{height}",
    "/txs/{tx_hash}",
    "/accounts/{address}",
    "/passes",
    "/passes/{symbol}",
    "/contracts",
    "/contracts/{name}",
    "/goodness",
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


def assets_version(assets: dict[str, Asset]) -> str:
    """A digest of every asset's name and content: part of every asset URL."""
    digest = hashlib.sha256()
    for name in sorted(assets):
        digest.update(name.encode() + b"\x00" + assets[name].body + b"\x00")
    return digest.hexdigest()[:VERSION_HEX_DIGITS]


def _answer(asset: Asset, request: Request, *, cache: str = "no-cache") -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": cache}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


class Site:
    """The explorer's shell and assets, loaded once, and the routes that serve them."""

    def __init__(self, *, console: bool = False) -> None:
        self.console = console
        self.assets = load_assets()
        self.version = assets_version(self.assets)
        shell_text = self.assets[SHELL_NAME].body.decode("utf-8")
        for placeholder in (MODE_PLACEHOLDER, ASSETS_PLACEHOLDER):
            invariant(placeholder in shell_text, f"the explorer's shell has no {placeholder} placeholder")
        mode = "console" if console else "explorer"
        shell_text = shell_text.replace(MODE_PLACEHOLDER, mode).replace(ASSETS_PLACEHOLDER, self.asset_base)
        self.shell = _asset(SHELL_NAME, shell_text.encode("utf-8"))

    @property
    def asset_base(self) -> str:
        """Where the assets of this version are served: ``/explorer/<version>``."""
        return ASSET_PREFIX + self.version

    @property
    def page_paths(self) -> tuple[str, ...]:
        return PAGE_PATHS + (CONSOLE_PAGE_PATHS if self.console else ())

    def page(self, request: Request) -> Response:
        return _answer(self.shell, request)

    def asset(self, version: str, name: str, request: Request) -> Response:
        found = self.assets.get(name)
        if found is None or name == SHELL_NAME:
            raise NotFound(f"the explorer has no file {name!r}")
        if version != self.version:
            raise NotFound(f"this node serves the explorer's version {self.version}, not {version!r}")
        return _answer(found, request, cache=IMMUTABLE)

    def add_routes(self, app: FastAPI, *, except_paths: frozenset[str] = frozenset()) -> None:
        """The page paths (but ``except_paths``, which the caller serves itself) and the assets."""

        async def page(request: Request) -> Response:
            return self.page(request)

        async def asset(version: str, name: str, request: Request) -> Response:
            return self.asset(version, name, request)

        for path in self.page_paths:
            if path not in except_paths:
                app.add_api_route(
                    path, page, methods=["GET"], include_in_schema=False, response_class=Response
                )
        app.add_api_route(
            ASSET_PREFIX + "{version}/{name:path}",
            asset,
            methods=["GET"],
            include_in_schema=False,
            response_class=Response,
        )


def mount(app: FastAPI, *, console: bool = False) -> None:
    """Serve the explorer's pages at ``PAGE_PATHS`` and its assets under ``ASSET_PREFIX``/version."""
    Site(console=console).add_routes(app)

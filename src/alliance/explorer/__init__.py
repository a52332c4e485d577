"""The explorer: the alliance in a browser, served by every node beside its API, and the console.

Theory of operation: the pages are static files shipped in this package (``explorer/static``:
HTML, CSS and ES modules, no build step, nothing fetched from anywhere but the serving origin).
``mount(app)`` adds them to a node's FastAPI application: the page paths (``/``, ``/blocks``,
``/txs/{hash}``...) all answer the same HTML shell, and the script reads the path and renders the
page from the node's own ``/v1`` JSON, live from ``/v1/stream``. Whatever a page can check
itself it checks in the browser (block hashes, commit signatures, the validator set's hash,
inclusion proofs, CA fingerprints), from the canonical bytes and the hashing rules of
``alliance.crypto``; see ``static/verify.js``.

``api_service`` is the node service that serves the API with the explorer mounted; the node's
start command passes it instead of ``alliance.api.api_service`` (the API layer never imports this
package). ``alliance.explorer.console`` is the management console (``alliance console``): the same
pages on 127.0.0.1 plus an action panel that signs with a local alliance's keys.
"""

from alliance.explorer.pages import PAGE_PATHS, mount
from alliance.explorer.service import api_service

__all__ = ["PAGE_PATHS", "api_service", "mount"]

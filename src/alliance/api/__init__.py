"""The node's REST and WebSocket API (spec/api.md).

``create_app(node, mounts=...)`` builds the FastAPI application over a ``NodeFacade`` from the
routers in ``api.routes`` (answers: the ``sdk.wire`` Structs) plus what the composition root mounts
(the explorer's pages); ``ApiServer`` and ``serve_api`` run it inside the node's event loop;
``api_service`` is the node service that does both from the node's configuration
(``Node(home, services=[api_service])``).
"""

from alliance.api.app import create_app
from alliance.api.server import ApiServer, api_service, serve_api

__all__ = ["ApiServer", "api_service", "create_app", "serve_api"]

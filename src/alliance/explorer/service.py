"""The node service that serves the API with the explorer mounted.

Theory of operation: the API layer builds the application and must not know the explorer (it is
the layer below), so the composition root, the node's start command, passes this service instead
of ``alliance.api.api_service``: it builds the same application with the explorer among its
``mounts`` and serves it on the node's API address.
"""

from __future__ import annotations

from alliance.api import create_app, serve_api
from alliance.explorer.pages import mount
from alliance.node.config import NodeConfig
from alliance.node.facade import NodeFacade


async def api_service(node: NodeFacade, config: NodeConfig) -> None:
    """The API and the explorer as a node service (``Node(home, services=[api_service])``)."""
    await serve_api(create_app(node, mounts=[mount]), config.host, config.api_port)

"""The block stream: one JSON message (``wire.BlockEvent``) per committed block, over a WebSocket.

Theory of operation: each send has a deadline; a subscriber that cannot take a message within it
is closed with 1013 (``wire.WS_CLOSE_TRY_AGAIN_LATER``) and may resume from the last height it saw
plus one (the node replays stored blocks first, so nothing is lost across the gap). A reader task
notices the subscriber leaving while the sender waits for the next block.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from alliance.api import answers
from alliance.errors import AllianceError
from alliance.node.facade import NodeFacade
from alliance.sdk import wire


def router(node: NodeFacade, send_timeout_ms: int) -> APIRouter:
    routes = APIRouter()

    @routes.websocket("/v1/stream")
    async def stream(
        websocket: WebSocket, from_height: Annotated[int | None, Query(ge=0, le=wire.HEIGHT_MAX)] = None
    ) -> None:
        await websocket.accept()
        start = from_height if from_height is not None else node.status().height + 1
        sender = asyncio.create_task(_send_blocks(websocket, node, start, send_timeout_ms / 1000))
        reader = asyncio.create_task(_wait_disconnect(websocket))
        try:
            await asyncio.wait([sender, reader], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
            for task in (sender, reader):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task
        if sender.done() and not sender.cancelled():
            sender.result()  # a bug in the sender surfaces here rather than vanishing

    return routes


async def _wait_disconnect(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_blocks(websocket: WebSocket, node: NodeFacade, start: int, send_timeout_s: float) -> None:
    async for height in node.blocks_from(start):
        block, _cert = node.block(height)
        message = wire.encode(answers.block_event(block, node.receipts(height))).decode()
        try:
            await asyncio.wait_for(websocket.send_text(message), send_timeout_s)
        except TimeoutError:
            await _close(websocket, wire.WS_CLOSE_TRY_AGAIN_LATER, f"too slow; resume from {height}")
            return
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the subscriber left mid-send
    # The node ends the iterator when the subscriber fell behind its bound.
    await _close(
        websocket, wire.WS_CLOSE_TRY_AGAIN_LATER, "fell behind; resume from the last height seen + 1"
    )


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError, AllianceError):
        await asyncio.wait_for(websocket.close(code, reason), 1.0)

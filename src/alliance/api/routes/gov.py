"""Governance reads, for audit: the members, nodes, validators, access rules and freezes (with the
height they were read at), every proposal with its votes and outcome, and the frozen accounts a
page at a time.

Theory of operation: each route is one or more of the ``gov`` module's queries read at one height
in one step of the loop (no ``await`` between), so an answer never mixes two heights. A proposal's
status is judged at the next height (``expired`` once no vote can enter it any more). The CLI's
``gov`` views print exactly these answers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from alliance import codec
from alliance.abi import gov
from alliance.api import answers
from alliance.api.routes import WireJSON, answer, documented
from alliance.node.facade import NodeFacade
from alliance.sdk import wire

StartQuery = Annotated[int, Query(ge=0, le=wire.HEIGHT_MAX, description="the position to start from")]
LimitQuery = Annotated[int, Query(ge=1, le=wire.PAGE_LIMIT_MAX, description="how many at most")]


def router(node: NodeFacade) -> APIRouter:
    routes = APIRouter(default_response_class=WireJSON, tags=["governance"])

    def frozen_page(start: int, limit: int, height: int) -> list[gov.FrozenAccount]:
        page = codec.encode(gov.PageQuery(start, limit))
        found: list[gov.FrozenAccount] = node.query_module(
            gov.MODULE_NAME, "frozen", page, height=height
        ).value  # type: ignore[assignment]
        return found

    @routes.get("/v1/gov", responses=documented(wire.GovernanceView))
    async def governance() -> Response:
        overview = node.query_module(gov.MODULE_NAME, "overview", b"")
        first = frozen_page(0, wire.PAGE_LIMIT_DEFAULT, overview.height)
        return answer(answers.governance_view(overview.value, first, overview.height))  # type: ignore[arg-type]

    @routes.get("/v1/gov/frozen", responses=documented(wire.FrozenPage))
    async def frozen(start: StartQuery = 0, limit: LimitQuery = wire.PAGE_LIMIT_DEFAULT) -> Response:
        overview = node.query_module(gov.MODULE_NAME, "overview", b"")
        total: int = overview.value.frozen_count  # type: ignore[attr-defined]
        entries = frozen_page(start, limit, overview.height)
        return answer(
            wire.FrozenPage(
                height=overview.height,
                start=start,
                total=total,
                frozen=tuple(answers.frozen_account_view(f) for f in entries),
            )
        )

    @routes.get("/v1/gov/proposals", responses=documented(list[wire.ProposalView]))
    async def proposals(
        from_id: Annotated[int, Query(ge=1, le=wire.HEIGHT_MAX, description="the first id")] = 1,
        limit: LimitQuery = wire.PROPOSALS_LIMIT_DEFAULT,
    ) -> Response:
        page = codec.encode(gov.PageQuery(from_id, limit))
        found = node.query_module(gov.MODULE_NAME, "proposals", page)
        listed: list[gov.Proposal] = found.value  # type: ignore[assignment]
        return answer([answers.proposal_view(p, p.status_at(found.height + 1)) for p in listed])

    # ge=0: id 0 is a well-formed id that names no proposal, so it is the node's 404, not a 422.
    @routes.get("/v1/gov/proposals/{proposal_id}", responses=documented(wire.ProposalView, refused=(404,)))
    async def proposal(
        proposal_id: Annotated[int, Path(ge=0, le=wire.HEIGHT_MAX, description="the proposal's id")],
    ) -> Response:
        found = node.query_module(gov.MODULE_NAME, "proposal", codec.encode(gov.ProposalQuery(proposal_id)))
        value: gov.Proposal = found.value  # type: ignore[assignment]
        return answer(answers.proposal_view(value, value.status_at(found.height + 1)))

    return routes

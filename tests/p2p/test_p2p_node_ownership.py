"""A node id belongs to the organisation the ledger records for it (audit H3, reproduced on main).

Tried as a dishonest member would: org1's CA signs a certificate naming org0's node's id. The
certificate chains to the alliance root and is issued by the CA recorded for the organisation it
names (org1), so TLS and the issuer check pass; before, the membership rule only asked whether the
organisation was a member, and the impostor was linked as org0's node. Now the id must be recorded
under the certificate's organisation (``node.membership``): the impostor is refused, with the
reason logged, and a certificate for the same id from org0's own CA is admitted.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from p2p_helpers import FAST_LIMITS, Alliance, Inbox, eventually, run

from alliance import codec
from alliance.abi import gov
from alliance.node.membership import ConfiguredPeer, Membership
from alliance.p2p.transport import Transport

P2P_LOGGER = "alliance.p2p"


def ledger_state(alliance: Alliance, records: list[tuple[bytes, str, str]]) -> dict[bytes, bytes]:
    """What the governance module keeps: the members with their CAs, and the recorded nodes."""
    members = [
        gov.Member(org, ca.certificate.public_bytes(serialization.Encoding.DER), 1)
        for org, ca in sorted(alliance.orgs.items())
    ]
    nodes = [gov.NodeRecord(node_id, org, name) for node_id, org, name in records]
    return {
        gov.MEMBERS_KEY: codec.encode(gov.Members(members)),
        gov.NODES_KEY: codec.encode(gov.Nodes(nodes)),
    }


def membership_of(
    own: bytes, state: dict[bytes, bytes], configured: dict[bytes, ConfiguredPeer]
) -> Membership:
    membership = Membership(own, configured)
    membership.reload(state.get)
    return membership


def transport(alliance: Alliance, name: str, membership: Membership) -> Transport:
    node = alliance.nodes[name]
    return Transport(
        node.node_id, node.contexts(), "127.0.0.1", 0, {}, membership.is_member, Inbox(),
        org_ca_certificates=membership.org_ca_certificates, explain_refusal=membership.refusal,
        limits=dataclasses.replace(FAST_LIMITS, accept_unlisted_peers=True),  # as on a governed chain
    )


@pytest.mark.parametrize("issuer", ["org0", "org1"])
def test_a_certificate_for_a_node_id_is_admitted_only_from_the_owning_organisation(
    tmp_path: Path, issuer: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=P2P_LOGGER)
    alliance = Alliance(tmp_path)
    genuine = alliance.node("node0", "org0")
    listener = alliance.node("node2", "org1")
    # the candidate presents node0's id, in a certificate issued by ``issuer``'s CA
    candidate = alliance.node(f"claims-node0-{issuer}", issuer, key=genuine.key)
    state = ledger_state(alliance, [(genuine.node_id, "org0", "node0"), (listener.node_id, "org1", "node2")])

    async def scenario() -> None:
        server = transport(alliance, "node2", membership_of(listener.node_id, state, {}))
        configured = {listener.node_id: ConfiguredPeer("node2", "org1")}
        client_membership = membership_of(candidate.node_id, state, configured)
        client = Transport(
            candidate.node_id, candidate.contexts(), "127.0.0.1", 0, {}, client_membership.is_member, Inbox(),
            limits=FAST_LIMITS,
        )
        try:
            await server.start()
            await client.start()
            client.add_peer(listener.node_id, server.listen_address)
            if issuer == "org0":
                admitted = lambda: candidate.node_id in server.connected_peers()  # noqa: E731
                await eventually(admitted, what="the genuine node")
            else:
                await eventually(lambda: bool(refusals()), what="the impostor refused and logged")
                assert candidate.node_id not in server.connected_peers()
        finally:
            await client.close()
            await server.close()

    def refusals() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.getMessage().startswith("refused connection from")
            and "belongs to org0 on the ledger, not to org1" in r.getMessage()
        ]

    run(scenario())
    assert bool(refusals()) == (issuer == "org1")


def test_the_membership_rule() -> None:
    a, b, c = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
    ungoverned = Membership(b"\x00" * 32, {a: ConfiguredPeer("a", "org0"), b: ConfiguredPeer("b", None)})
    assert ungoverned.is_member(a, "org0") and not ungoverned.is_member(a, "org1")
    assert ungoverned.is_member(b, "anything") and not ungoverned.is_member(c, "org0")
    state = {
        gov.MEMBERS_KEY: codec.encode(
            gov.Members([gov.Member("org0", b"x", 1), gov.Member("org1", b"y", 1)])
        ),
        gov.NODES_KEY: codec.encode(gov.Nodes([gov.NodeRecord(a, "org0", "a")])),
    }
    governed = Membership(b"\x00" * 32, {b: ConfiguredPeer("b", "org1"), c: ConfiguredPeer("c", "org9")})
    governed.reload(state.get)  # the CA certificates do not parse: those members' nodes are refused
    assert governed.governed
    assert not governed.is_member(a, "org0") and "not a member" in (governed.refusal(a, "org0") or "")
    governed.org_ca_certificates.update({"org0": object(), "org1": object()})  # type: ignore[dict-item]
    assert governed.is_member(a, "org0")  # recorded under org0
    assert not governed.is_member(a, "org1")  # recorded under org0: not org1's
    assert governed.is_member(b, "org1")  # not recorded yet: configured with org1
    assert not governed.is_member(b, "org0")
    assert not governed.is_member(c, "org9")  # org9 is not a member

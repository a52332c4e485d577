"""The TLS transport on 127.0.0.1: members link and exchange frames; outsiders and ex-members are refused.

Every test runs its own event loop with an overall timeout, and every wait inside is bounded.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from p2p_helpers import (
    Alliance,
    Inbox,
    Membership,
    Node,
    close_stream,
    eventually,
    make_transport,
    raw_client_context,
    read_until_closed,
    run,
    within,
)

from alliance.errors import InvalidMessage, UsageError
from alliance.p2p.framing import encode_frame
from alliance.p2p.transport import GREETING_ACCEPT, Transport, TransportLimits

P2P_LOGGER = "alliance.p2p"


@pytest.fixture
def alliance(tmp_path: Path) -> Alliance:
    return Alliance(tmp_path)


def wire(*transports: Transport) -> None:
    """Give every transport every other one as a peer (both directions dial)."""
    for a in transports:
        for b in transports:
            if a is not b:
                a.add_peer(b.node_id, b.listen_address)


async def close_all(*transports: Transport) -> None:
    for t in transports:
        await t.close()


def linked(*transports: Transport) -> bool:
    ids = {t.node_id for t in transports}
    return all(t.connected_peers() == ids - {t.node_id} for t in transports)


def test_three_nodes_of_two_orgs_exchange_frames_both_ways(alliance: Alliance) -> None:
    n0, n1, n2 = alliance.node("n0", "org0"), alliance.node("n1", "org0"), alliance.node("n2", "org1")
    members = Membership(n0, n1, n2)
    inboxes = [Inbox(), Inbox(), Inbox()]

    async def scenario() -> None:
        transports = [
            make_transport(n, {}, members, box) for n, box in zip((n0, n1, n2), inboxes, strict=True)
        ]
        try:
            for t in transports:
                await t.start()
            wire(*transports)
            await eventually(lambda: linked(*transports), what="full mesh")
            t0, t1, t2 = transports
            assert t0.peer_org(n2.node_id) == "org1"
            assert t2.peer_org(n0.node_id) == "org0"
            assert t0.send(n2.node_id, b"zero to two")
            assert t2.send(n0.node_id, b"two to zero")
            assert t1.broadcast(b"from one") == 2
            assert t2.send(n0.node_id, b"")  # empty frames are frames
            await eventually(lambda: sum(len(b.messages) for b in inboxes) == 5, what="5 deliveries")
            assert inboxes[2].payloads_from(n0.node_id) == [b"zero to two"]
            assert inboxes[0].payloads_from(n2.node_id) == [b"two to zero", b""]
            assert inboxes[0].payloads_from(n1.node_id) == [b"from one"]
            assert inboxes[2].payloads_from(n1.node_id) == [b"from one"]
            # Both dialled each other; each pair kept exactly one link, the one the smaller id initiated.
            for t in transports:
                for peer_id, link in t._links.items():
                    assert link.initiator == min(t.node_id, peer_id)
        finally:
            await close_all(*transports)

    run(scenario())


def test_many_frames_arrive_in_order(alliance: Alliance) -> None:
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    members = Membership(n0, n1)
    inbox = Inbox()

    async def scenario() -> None:
        t0 = make_transport(n0, {}, members, Inbox())
        t1 = make_transport(n1, {}, members, inbox)
        try:
            await t0.start()
            await t1.start()
            wire(t0, t1)
            await eventually(lambda: linked(t0, t1))
            frames = [i.to_bytes(4, "big") * (i % 50) for i in range(2000)]
            for f in frames:
                assert t0.send(n1.node_id, f)
            await eventually(lambda: len(inbox.messages) == len(frames), what="2000 frames")
            assert inbox.payloads_from(n0.node_id) == frames
            assert t0.dropped_frames() == 0
        finally:
            await close_all(t0, t1)

    run(scenario())


def test_outsider_alliance_is_refused_at_tls_and_members_still_served(
    alliance: Alliance, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=P2P_LOGGER)
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    outsiders = Alliance(tmp_path, name="outsiders")
    # Same organisation name, even the same node id as a member: only the root decides.
    spy = outsiders.node("spy", "org1", key=n1.key)
    members = Membership(n0, n1)
    inbox0 = Inbox()

    async def scenario() -> None:
        t0 = make_transport(n0, {}, members, inbox0)
        t1 = make_transport(n1, {}, members, Inbox())
        spy_transport = make_transport(spy, {}, lambda _n, _o: True, Inbox())
        try:
            await t0.start()
            # A whole outsider transport dials n0; its certificate is from another root, and it
            # does not trust n0's either.
            await spy_transport.start()
            spy_transport.add_peer(n0.node_id, t0.listen_address)
            # A bare client that trusts the real root but shows the outsider chain: only n0 judges.
            reader, writer = await within(
                asyncio.open_connection(
                    *t0.listen_address, ssl=raw_client_context(spy, n0.files.root_ca_path)
                )
            )
            try:
                assert await read_until_closed(reader) == b""
            finally:
                await close_stream(writer)
            await eventually(lambda: refusals_by(n0) >= 1, what="n0 logs the refusal")
            await eventually(lambda: refusals_by(spy) >= 1, what="the outsider logs its failure")
            await spy_transport.close()
            assert t0.connected_peers() == frozenset()
            # The listener survived and still serves members.
            await t1.start()
            wire(t0, t1)
            await eventually(lambda: linked(t0, t1))
            t1.send(n0.node_id, b"still here")
            await eventually(lambda: inbox0.payloads_from(n1.node_id) == [b"still here"])
        finally:
            await close_all(t0, t1, spy_transport)

    def refusals_by(node: Node) -> int:
        return len(refusal_records(node))

    def refusal_records(node: Node) -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if getattr(r, "node_id", None) == node.node_id.hex()[:16]
            and "TLS handshake failed" in r.getMessage()
        ]

    run(scenario())
    [server_side] = refusal_records(n0)
    assert server_side.name == P2P_LOGGER
    assert server_side.levelno == logging.WARNING
    assert "refused connection from 127.0.0.1:" in server_side.getMessage()
    assert "certificate verify failed" in server_side.getMessage()
    client_side = refusal_records(spy)[0]
    assert client_side.levelno == logging.WARNING
    assert "certificate verify failed" in client_side.getMessage()


def _count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records)


def test_client_without_certificate_is_refused(alliance: Alliance, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=P2P_LOGGER)
    n0 = alliance.node("n0", "org0")

    async def scenario() -> None:
        t0 = make_transport(n0, {}, Membership(n0), Inbox())
        try:
            await t0.start()
            reader, writer = await within(
                asyncio.open_connection(
                    *t0.listen_address, ssl=raw_client_context(None, n0.files.root_ca_path)
                )
            )
            try:
                # TLS 1.3: the client learns of the refusal on its first read (an alert or EOF).
                assert await read_until_closed(reader) == b""
            finally:
                await close_stream(writer)
            await eventually(lambda: _count(caplog, "TLS handshake failed") == 1)
        finally:
            await t0.close()

    run(scenario())
    [record] = [r for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    assert "refused connection from 127.0.0.1:" in record.getMessage()
    assert "certificate" in record.getMessage().lower()


def test_member_removed_is_dropped_and_refused_on_reconnect(
    alliance: Alliance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=P2P_LOGGER)
    n0, n1, n2 = alliance.node("n0", "org0"), alliance.node("n1", "org1"), alliance.node("n2", "org2")
    members = Membership(n0, n1, n2)

    async def scenario() -> None:
        transports = [make_transport(n, {}, members, Inbox()) for n in (n0, n1, n2)]
        t0, t1, _ = transports
        try:
            for t in transports:
                await t.start()
            wire(*transports)
            await eventually(lambda: linked(*transports))
            members.removed_orgs.add("org2")  # the ledger just removed org2
            assert t0.refresh_membership() == [n2.node_id]
            assert t1.refresh_membership() == [n2.node_id]
            await eventually(
                lambda: t0.connected_peers() == {n1.node_id} and t1.connected_peers() == {n0.node_id}
            )
            # n2 redials n0 and n1, and each refuses it with a logged reason.
            await eventually(
                lambda: all(inbound_refusals_by(n) for n in (n0, n1)), what="n0 and n1 refuse n2 on reconnect"
            )
            # n2 keeps dialling (with backoff) and keeps being refused; members stay linked.
            await asyncio.sleep(0.3)
            assert t0.connected_peers() == {n1.node_id}
            assert n2.node_id not in t1.connected_peers()
            # (n2 itself may show a link for an instant: it still takes n0 and n1 for members and
            # accepts their dials, which they close as soon as they see who answered.)
        finally:
            await close_all(*transports)

    def inbound_refusals_by(node: Node) -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if getattr(r, "node_id", None) == node.node_id.hex()[:16]
            and r.getMessage().startswith("refused connection from")
            and "of org2 is not a current member" in r.getMessage()
        ]

    run(scenario())
    assert _count(caplog, "no longer a member") >= 2
    assert all(r.levelno == logging.WARNING for r in inbound_refusals_by(n0) + inbound_refusals_by(n1))


def test_oversized_frame_closes_only_that_link(alliance: Alliance, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=P2P_LOGGER)
    n0, n1, rogue = alliance.node("n0", "org0"), alliance.node("n1", "org1"), alliance.node("rogue", "org1")
    members = Membership(n0, n1, rogue)
    limits = TransportLimits(
        frame_size_bytes_max=1024,
        handshake_timeout_ms=2_000,
        close_timeout_ms=500,
        reconnect_delay_ms_min=20,
        reconnect_delay_ms_max=200,
    )
    inbox0 = Inbox()

    async def scenario() -> None:
        t0 = make_transport(n0, {}, members, inbox0, limits)
        t1 = make_transport(n1, {}, members, Inbox(), limits)
        try:
            await t0.start()
            await t1.start()
            wire(t0, t1)
            # The rogue is a member in the peer table, at an address nobody listens on.
            t0.add_peer(rogue.node_id, ("127.0.0.1", 1))
            await eventually(lambda: linked(t0, t1))
            reader, writer = await within(
                asyncio.open_connection(
                    *t0.listen_address, ssl=raw_client_context(rogue, n0.files.root_ca_path)
                )
            )
            try:
                await eventually(lambda: rogue.node_id in t0.connected_peers(), what="rogue linked")
                writer.write(encode_frame(b"fine"))
                await writer.drain()
                await eventually(lambda: inbox0.payloads_from(rogue.node_id) == [b"fine"])
                writer.write((10_000).to_bytes(4, "big") + b"x" * 100)
                await writer.drain()
                # The greeting, then the link is closed.
                assert await read_until_closed(reader) == encode_frame(GREETING_ACCEPT)
            finally:
                await close_stream(writer)
            await eventually(lambda: rogue.node_id not in t0.connected_peers())
            assert inbox0.payloads_from(rogue.node_id) == [b"fine"]
            assert t0.connected_peers() == {n1.node_id}
            t1.send(n0.node_id, b"unaffected")
            await eventually(lambda: inbox0.payloads_from(n1.node_id) == [b"unaffected"])
            with pytest.raises(UsageError, match="exceeds the bound"):
                t1.send(n0.node_id, b"y" * 1025)
        finally:
            await close_all(t0, t1)

    run(scenario())
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "dropping link with node" in warning.getMessage()
    assert "frame of 10000 bytes exceeds the bound of 1024" in warning.getMessage()


def test_on_message_peer_fault_closes_the_link(alliance: Alliance) -> None:
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    members = Membership(n0, n1)

    def picky(sender: bytes, payload: bytes) -> None:
        if payload == b"garbage":
            raise InvalidMessage("payload does not decode")

    async def scenario() -> None:
        t0 = make_transport(n0, {}, members, picky)  # type: ignore[arg-type]
        t1 = make_transport(n1, {}, members, Inbox())
        try:
            await t0.start()
            await t1.start()
            wire(t0, t1)
            await eventually(lambda: linked(t0, t1), what="first link")
            first = t0._links[n1.node_id]
            t1.send(n0.node_id, b"garbage")
            await eventually(first.finished.is_set, what="link closed")
            await eventually(lambda: linked(t0, t1), what="relinked after backoff")
        finally:
            await close_all(t0, t1)

    run(scenario())


def test_send_queue_is_bounded_and_drops_the_oldest(alliance: Alliance) -> None:
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    members = Membership(n0, n1)
    limits = TransportLimits(
        peer_queue_frames_max=3, close_timeout_ms=500, reconnect_delay_ms_min=20, reconnect_delay_ms_max=200
    )
    inbox1 = Inbox()

    async def scenario() -> None:
        t1 = make_transport(n1, {}, members, inbox1, limits)
        try:
            await t1.start()
            t1.add_peer(n0.node_id, ("127.0.0.1", 1))  # n1 knows n0 but cannot reach it
            t0 = make_transport(n0, {n1.node_id: t1.listen_address}, members, Inbox(), limits)
            try:
                for i in range(10):  # queued before n0 has any link
                    assert t0.send(n1.node_id, b"frame %d" % i)
                assert t0.queued_frames(n1.node_id) == 3
                assert t0.dropped_frames(n1.node_id) == 7
                assert not t0.send(b"\x09" * 32, b"to nobody")  # not a peer
                await t0.start()
                await eventually(lambda: len(inbox1.messages) == 3, what="the 3 newest frames")
                assert inbox1.payloads_from(n0.node_id) == [b"frame 7", b"frame 8", b"frame 9"]
                assert t0.queued_frames(n1.node_id) == 0 and t0.queued_bytes(n1.node_id) == 0
            finally:
                await t0.close()
        finally:
            await t1.close()

    run(scenario())


def test_send_queue_is_bounded_in_bytes_and_keeps_the_newest_frame(alliance: Alliance) -> None:
    """Large frames (block-sync answers) for a peer that reads nothing stay within the byte bound:
    the oldest go first, and the newest is kept even when it alone is over the bound."""
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    limits = TransportLimits(peer_queue_bytes_max=10_000)

    async def scenario() -> None:
        t0 = make_transport(n0, {}, Membership(n0, n1), Inbox(), limits)
        t0.add_peer(n1.node_id, ("127.0.0.1", 1))  # never reachable: everything stays queued
        for i in range(100):
            assert t0.send(n1.node_id, bytes([i]) * 3_000)
        assert t0.queued_frames(n1.node_id) == 3
        assert t0.queued_bytes(n1.node_id) <= 10_000
        assert t0.dropped_frames(n1.node_id) == 97
        t0.send(n1.node_id, b"\xff" * 50_000)
        assert t0.queued_frames(n1.node_id) == 1
        assert t0.queued_bytes(n1.node_id) > 50_000
        await t0.close()

    run(scenario())


def test_disconnect_then_redial(alliance: Alliance) -> None:
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    members = Membership(n0, n1)
    inbox1 = Inbox()

    async def scenario() -> None:
        t0 = make_transport(n0, {}, members, Inbox())
        t1 = make_transport(n1, {}, members, inbox1)
        try:
            await t0.start()
            await t1.start()
            wire(t0, t1)
            await eventually(lambda: linked(t0, t1), what="first link")
            first = t0._links[n1.node_id]
            assert t0.disconnect(n1.node_id, "test")
            await eventually(first.finished.is_set)
            await eventually(lambda: linked(t0, t1) and t0._links[n1.node_id] is not first, what="redial")
            # Sending is best effort: a frame queued on a link that the duplicate rule then
            # replaces may be lost, so the frame is offered again until it arrives.
            def delivered_after_resend() -> bool:
                if b"after" in inbox1.payloads_from(n0.node_id):
                    return True
                t0.send(n1.node_id, b"after")
                return False

            await eventually(delivered_after_resend, what="a frame after the redial")
            t0.remove_peer(n1.node_id)
            await eventually(lambda: n1.node_id not in t0.connected_peers(), what="peer removed")
            assert not t0.disconnect(n1.node_id)
        finally:
            await close_all(t0, t1)

    run(scenario())


def test_limits_and_identity_are_validated(alliance: Alliance) -> None:
    n0, n1 = alliance.node("n0", "org0"), alliance.node("n1", "org1")
    with pytest.raises(UsageError, match="peer_queue_frames_max"):
        TransportLimits(peer_queue_frames_max=0)
    with pytest.raises(UsageError, match="reconnect_delay_ms_max"):
        TransportLimits(reconnect_delay_ms_min=10, reconnect_delay_ms_max=5)
    with pytest.raises(UsageError, match="TLS certificate is for node"):
        Transport(n1.node_id, n0.contexts(), "127.0.0.1", 0, {}, Membership(), Inbox())
    with pytest.raises(UsageError, match="own peer"):
        Transport(
            n0.node_id, n0.contexts(), "127.0.0.1", 0, {n0.node_id: ("127.0.0.1", 1)}, Membership(), Inbox()
        )


def test_backoff_grows_with_jitter_and_stays_bounded(alliance: Alliance) -> None:
    n0 = alliance.node("n0", "org0")
    limits = TransportLimits(reconnect_delay_ms_min=100, reconnect_delay_ms_max=5_000)
    transport = make_transport(n0, {}, Membership(), Inbox(), limits)
    delays_s = [transport._backoff_s(failures) for failures in range(1, 200)]
    assert all(0.05 <= d <= 5.0 for d in delays_s)
    assert delays_s[0] <= 0.1
    assert min(delays_s[20:]) >= 2.5  # capped at the maximum, jittered down to half of it at most
    assert len(set(delays_s[20:])) > 1  # jitter: restarted nodes do not redial in lockstep

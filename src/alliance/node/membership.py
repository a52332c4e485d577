"""Who may connect to this node: the alliance's member organisations and the nodes each one owns.

Theory of operation
-------------------
A peer proves an identity in the TLS handshake: a node id and an organisation, in a certificate
that chains to the alliance root through an organisation CA (``p2p.tls``). That proves which CA
signed, not that the organisation owns the node: any member's CA can sign a certificate naming any
node id. So the node id must also *belong* to the organisation, and the ledger says which:

- On a governed chain (the ledger records member organisations), a peer is admitted when the
  ledger records its node id under the organisation whose CA issued its certificate (``gov/nodes``),
  and that organisation is a current member (its CA certificate is on the ledger; the transport
  checks the certificate against exactly that CA). A node the ledger does not record yet is
  admitted only if this node's configuration lists it with the same organisation.
- On a chain without governance, exactly the configured peers are admitted, each with the
  organisation its configuration entry pins (an entry without one admits any organisation).

``reload`` rereads members and nodes from committed state after each block; when they changed, the
runtime asks the transport to drop links that no longer pass (a removed member's nodes).
Reading is by the state keys governance declares (``abi.gov``), so this needs no executor code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from alliance.abi import gov

logger = logging.getLogger("alliance.node")

ReadState = Callable[[bytes], bytes | None]


@dataclass(frozen=True, slots=True)
class ConfiguredPeer:
    name: str
    org: str | None  # None: any organisation (a configuration written before organisations were pinned)


class Membership:
    """The admission rule of one node, kept current from committed state."""

    def __init__(self, own_node_id: bytes, configured: dict[bytes, ConfiguredPeer]) -> None:
        self.own_node_id = own_node_id
        self.configured = dict(configured)
        self.org_ca_certificates: dict[str, x509.Certificate] = {}
        """The members' CA certificates by organisation; the transport holds this very mapping."""
        self.node_orgs: dict[bytes, str] = {}
        self.node_names: dict[bytes, str] = {node_id: p.name for node_id, p in configured.items()}
        self._members_raw: bytes | None = None
        self._nodes_raw: bytes | None = None

    @property
    def governed(self) -> bool:
        """True when the ledger records member organisations (then they decide who may connect)."""
        return self._members_raw is not None

    def is_member(self, node_id: bytes, org: str) -> bool:
        """The transport's admission rule (module docstring)."""
        if not self.governed:
            peer = self.configured.get(node_id)
            return peer is not None and (peer.org is None or peer.org == org)
        if org not in self.org_ca_certificates:
            return False
        recorded = self.node_orgs.get(node_id)
        if recorded is not None:
            return recorded == org
        peer = self.configured.get(node_id)
        return peer is not None and peer.org == org

    def refusal(self, node_id: bytes, org: str) -> str | None:
        """Why ``is_member`` says no, in words for the log; None when it says yes."""
        if self.is_member(node_id, org):
            return None
        recorded = self.node_orgs.get(node_id)
        if recorded is not None and recorded != org:
            return f"node {node_id.hex()[:12]} belongs to {recorded} on the ledger, not to {org}"
        if self.governed and org not in self.org_ca_certificates:
            return f"{org} is not a member"
        return f"node {node_id.hex()[:12]} of {org} is neither recorded on the ledger nor configured"

    def reload(self, read: ReadState) -> bool:
        """Reread members and nodes from committed state; True when either changed."""
        changed = False
        nodes_raw = read(gov.NODES_KEY)
        if nodes_raw != self._nodes_raw:
            self._nodes_raw = nodes_raw
            records = gov.read_nodes(nodes_raw).nodes
            self.node_orgs = {r.node_id: r.org for r in records}
            for record in records:
                self.node_names[record.node_id] = record.name
            changed = True
        members_raw = read(gov.MEMBERS_KEY)
        if members_raw != self._members_raw:
            self._members_raw = members_raw
            certificates: dict[str, x509.Certificate] = {}
            for member in gov.read_members(members_raw).members:
                try:
                    certificates[member.org] = x509.load_der_x509_certificate(member.ca_certificate)
                except ValueError:
                    logger.warning("member %s has an unreadable CA certificate: nodes refused", member.org)
            self.org_ca_certificates.clear()  # in place: the transport holds this mapping
            self.org_ca_certificates.update(certificates)
            changed = True
        return changed

    def name_of(self, node_id: bytes) -> str:
        return self.node_names.get(node_id) or node_id.hex()[:12]

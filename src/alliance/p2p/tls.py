"""Mutual TLS 1.3 contexts for node links, and reading a peer's identity after the handshake.

Theory of operation: every node link is TLS 1.3 with certificates on both sides. Each side trusts
exactly one anchor, the alliance root CA, and presents its chain: its node certificate followed by
its organisation's CA certificate, so the other side can build leaf -> organisation CA -> root
without knowing the organisation in advance. OpenSSL verifies that chain (signatures, validity,
CA flags, path lengths, key usages) during the handshake, so a peer from another alliance, or one
with no certificate, never gets past it.

Host names mean nothing here (nodes move, and several share a host), so ``check_hostname`` is off
and identity is read after the handshake instead: ``peer_identity`` parses the peer's leaf and
returns the Ed25519 node id from its ``alliance://node/<hex>`` SAN and the organisation from its
subject ``O``. Python 3.11 does not expose the verified chain, so the organisation CA is checked
through what the chain rules imply: under the ``pathlen:1`` root at most one CA sits between root and
leaf, so a leaf not issued by the root itself was issued by a CA the root signed, and its issuer
name must carry the same organisation as the leaf. When the caller knows the member CAs (from the
ledger) it can pass them and the leaf's signature is checked against that organisation's CA too.
Whether that node and organisation are members *now* is the transport's question, not this one's.

Before any context is built the node's own files are loaded and run through ``verify_chain``, so a
misconfigured node fails at start-up with a clear message rather than at the first handshake.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from alliance.crypto.certificates import (
    CertificateError,
    CertifiedKey,
    NodeIdentity,
    load_certificate,
    load_certificates,
    load_private_key,
    node_id_of,
    org_of,
    save_certificates,
    save_private_key,
    verify_chain,
)
from alliance.errors import KeyFileError, PeerFault


class UntrustedPeer(PeerFault):
    """A peer's certificate does not establish an alliance node identity."""

    code = "untrusted_peer"


@dataclass(frozen=True, slots=True)
class NodeTlsFiles:
    """Where a node's TLS material lives."""

    root_ca_path: Path
    chain_path: Path  # the node certificate, then its organisation's CA certificate
    key_path: Path  # the node's P-256 TLS key, mode 0600


@dataclass(frozen=True, slots=True)
class TlsContexts:
    """Both directions' contexts, plus what the transport needs to judge peers."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    root_certificate: x509.Certificate
    identity: NodeIdentity  # this node's own, as its certificate states it


def write_node_tls_files(
    directory: Path, root_cert: x509.Certificate, org_ca_cert: x509.Certificate, node: CertifiedKey
) -> NodeTlsFiles:
    """Write a node's TLS material under ``directory`` in the layout ``NodeTlsFiles`` names."""
    files = NodeTlsFiles(
        directory / "root-ca.pem", directory / "node-chain.pem", directory / "node-tls-key.pem"
    )
    save_certificates(files.root_ca_path, root_cert)
    save_certificates(files.chain_path, node.certificate, org_ca_cert)
    save_private_key(files.key_path, node.private_key)
    return files


def load_and_verify(files: NodeTlsFiles) -> NodeIdentity:
    """Check a node's own files hang together; return the identity its certificate states."""
    root = load_certificate(files.root_ca_path)
    chain = load_certificates(files.chain_path)
    if len(chain) != 2:
        raise KeyFileError(
            f"{files.chain_path} must hold the node certificate then its organisation CA, holds {len(chain)}"
        )
    node_cert, org_ca_cert = chain
    identity = verify_chain(node_cert, org_ca_cert, root)
    if load_private_key(files.key_path).public_key() != node_cert.public_key():
        raise KeyFileError(f"TLS key {files.key_path} does not match the certificate in {files.chain_path}")
    return identity


def server_context(files: NodeTlsFiles) -> ssl.SSLContext:
    """A context for accepting node links: TLS 1.3, client certificate required."""
    load_and_verify(files)
    return _server_context(files)


def client_context(files: NodeTlsFiles) -> ssl.SSLContext:
    """A context for dialling node links: TLS 1.3, server certificate required, no host name check."""
    load_and_verify(files)
    return _context(ssl.PROTOCOL_TLS_CLIENT, files)


def make_contexts(files: NodeTlsFiles) -> TlsContexts:
    """Both contexts and this node's identity, after checking the files once."""
    identity = load_and_verify(files)
    return TlsContexts(
        server=_server_context(files),
        client=_context(ssl.PROTOCOL_TLS_CLIENT, files),
        root_certificate=load_certificate(files.root_ca_path),
        identity=identity,
    )


def _server_context(files: NodeTlsFiles) -> ssl.SSLContext:
    context = _context(ssl.PROTOCOL_TLS_SERVER, files)
    context.num_tickets = 0  # links are long-lived; resumption tickets would only be unread bytes
    return context


def _context(protocol: ssl._SSLMethod, files: NodeTlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(protocol)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False  # must precede CERT_REQUIRED on a client context; see module doc
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        context.load_verify_locations(cafile=str(files.root_ca_path))
        context.load_cert_chain(certfile=str(files.chain_path), keyfile=str(files.key_path))
    except (ssl.SSLError, OSError) as exc:
        raise KeyFileError(
            f"cannot load TLS material ({files.chain_path}, {files.key_path}): {exc}"
        ) from None
    return context


def peer_identity(
    ssl_object: ssl.SSLObject | ssl.SSLSocket,
    *,
    root_certificate: x509.Certificate | None = None,
    org_ca_certificates: Mapping[str, x509.Certificate] | None = None,
) -> NodeIdentity:
    """The node id and organisation of the peer on a completed, verified TLS connection.

    Raises ``UntrustedPeer`` when the certificate is missing or does not state an alliance node
    issued by an organisation CA.
    """
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        raise UntrustedPeer("peer presented no certificate")
    try:
        cert = x509.load_der_x509_certificate(der)
        node_id = node_id_of(cert)
        org = org_of(cert)
        _check_issuer_is_org_ca(cert, org, root_certificate, org_ca_certificates)
    except (CertificateError, ValueError) as exc:
        raise UntrustedPeer(f"peer certificate refused: {exc}") from None
    return NodeIdentity(node_id, org)


def _check_issuer_is_org_ca(
    cert: x509.Certificate,
    org: str,
    root_certificate: x509.Certificate | None,
    org_ca_certificates: Mapping[str, x509.Certificate] | None,
) -> None:
    if root_certificate is not None and cert.issuer == root_certificate.subject:
        raise CertificateError("it was issued by the alliance root itself, not by an organisation CA")
    issuer_orgs = [a.value for a in cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if issuer_orgs != [org]:
        raise CertificateError(f"its issuer {cert.issuer.rfc4514_string()!r} is not {org!r}'s CA")
    if org_ca_certificates is not None:
        org_ca = org_ca_certificates.get(org)
        if org_ca is None:
            raise CertificateError(f"organisation {org!r} has no CA on record")
        try:
            cert.verify_directly_issued_by(org_ca)
        except Exception as exc:  # noqa: BLE001 - any failure here means "not issued by that CA"
            raise CertificateError(f"it was not issued by {org!r}'s recorded CA: {exc}") from None

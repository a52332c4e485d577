"""X.509 certificates for node-to-node TLS: the alliance root, organisation CAs and node certificates.

Theory of operation: the alliance has one root CA (self-signed, ``CA:true, pathlen:1``). The root
signs one CA per member organisation (``CA:true, pathlen:0``), whose subject ``O`` is the
organisation's name and which also names it in a URI SAN ``alliance://org/<name>``. An organisation
CA signs the TLS certificates of its organisation's nodes. A node certificate is for a P-256 TLS key
(the TLS key is not the node key), and binds the node's Ed25519 node id through a URI SAN
``alliance://node/<node id hex>``; its subject ``O`` repeats the organisation. So after a TLS
handshake that chains to the root, the peer's certificate says which node it is and which member
vouches for it, and the membership check is a lookup of those two values.

The path lengths make the shape checkable from the leaf alone: under a ``pathlen:1`` root at most
one CA sits between the root and a leaf, and an organisation CA cannot sign further CAs.

All keys are ECDSA P-256 and all signatures SHA-256, which every TLS 1.3 stack accepts. Serial
numbers are random (RFC 5280 asks for uniqueness per issuer; randomness gives it without a
counter). Validity starts a few minutes in the past so that small clock skew between hosts does not
make a fresh certificate "not yet valid". Private keys are written with mode 0600 through a new
temporary file and a rename (``atomic_files``), like the node key files, and refused on load when
others can read them.

``verify_chain`` is the whole check in one place: signatures, issuer names, CA flags, path lengths,
validity windows, and that the leaf's organisation is its issuer's organisation. Errors are
``CertificateError`` (a ``UsageError``: the files or arguments are wrong); file problems are
``KeyFileError``. Code that checks a *peer's* certificate converts them to a peer fault itself.
"""

from __future__ import annotations

import datetime
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from alliance.crypto.atomic_files import write_file_atomically
from alliance.crypto.keys import KEY_FILE_MODE
from alliance.errors import KeyFileError, UsageError
from alliance.types import NODE_ID_SIZE_BYTES, NodeId

ROOT_VALIDITY_DAYS = 3650
ORG_CA_VALIDITY_DAYS = 1825
NODE_VALIDITY_DAYS = 365
CLOCK_SKEW_ALLOWANCE = datetime.timedelta(minutes=5)

NODE_URI_PREFIX = "alliance://node/"
ORG_URI_PREFIX = "alliance://org/"

# Organisation names travel in URIs, file names and log lines: keep them to a plain, bounded alphabet.
_ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class CertificateError(UsageError):
    """A certificate, chain or certificate argument is malformed, inconsistent or not trusted."""

    code = "certificate_error"


class NodeIdentity(NamedTuple):
    """Who a verified node certificate speaks for."""

    node_id: NodeId
    org: str


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A certificate with its private key (a CA's signing key or a node's TLS key)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey


# --- issuing ---------------------------------------------------------------------------------------


def create_root_ca(alliance_name: str, *, validity_days: int = ROOT_VALIDITY_DAYS) -> CertifiedKey:
    """A self-signed alliance root CA (``CA:true, pathlen:1``)."""
    check_org_name(alliance_name)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{alliance_name} alliance root CA")])
    builder = _base_builder(subject, subject, key.public_key(), validity_days)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
    builder = builder.add_extension(_ca_key_usage(), critical=True)
    return CertifiedKey(builder.sign(key, hashes.SHA256()), key)


def create_org_ca(root: CertifiedKey, org: str, *, validity_days: int = ORG_CA_VALIDITY_DAYS) -> CertifiedKey:
    """An organisation's CA, signed by the alliance root (``CA:true, pathlen:0``)."""
    check_org_name(org)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{org} CA"),
        ]
    )
    builder = _base_builder(subject, root.certificate.subject, key.public_key(), validity_days)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(_ca_key_usage(), critical=True)
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.UniformResourceIdentifier(ORG_URI_PREFIX + org)]), critical=False
    )
    builder = _with_authority_key_id(builder, root.certificate)
    return CertifiedKey(builder.sign(root.private_key, hashes.SHA256()), key)


def issue_node_certificate(
    org_ca: CertifiedKey,
    node_id: NodeId,
    *,
    tls_key: ec.EllipticCurvePrivateKey | None = None,
    validity_days: int = NODE_VALIDITY_DAYS,
) -> CertifiedKey:
    """A TLS certificate for a node of ``org_ca``'s organisation, binding its Ed25519 node id.

    A fresh P-256 TLS key is generated unless ``tls_key`` is given (to renew a certificate for a key
    that stays).
    """
    if len(node_id) != NODE_ID_SIZE_BYTES:
        raise CertificateError(f"a node id is {NODE_ID_SIZE_BYTES} bytes, got {len(node_id)}")
    org = org_of(org_ca.certificate)
    key = tls_key if tls_key is not None else ec.generate_private_key(ec.SECP256R1())
    _require_p256(key.public_key(), "the node's TLS key")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"node {node_id.hex()[:16]}"),
        ]
    )
    builder = _base_builder(subject, org_ca.certificate.subject, key.public_key(), validity_days)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    # A node is a TLS server for inbound links and a TLS client for outbound ones.
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        critical=False,
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.UniformResourceIdentifier(NODE_URI_PREFIX + node_id.hex())]),
        critical=False,
    )
    builder = _with_authority_key_id(builder, org_ca.certificate)
    return CertifiedKey(builder.sign(org_ca.private_key, hashes.SHA256()), key)


def check_org_name(name: str) -> None:
    if not _ORG_NAME.fullmatch(name):
        raise CertificateError(
            f"organisation name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def _base_builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, validity_days: int
) -> x509.CertificateBuilder:
    if validity_days <= 0:
        raise CertificateError(f"validity must be at least one day, got {validity_days}")
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW_ALLOWANCE)
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _with_authority_key_id(
    builder: x509.CertificateBuilder, issuer: x509.Certificate
) -> x509.CertificateBuilder:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
    )


def _require_p256(public_key: object, what: str) -> None:
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise CertificateError(f"{what} must be an ECDSA P-256 key")


# --- reading identities ----------------------------------------------------------------------------


def node_id_of(cert: x509.Certificate) -> NodeId:
    """The Ed25519 node id a node certificate binds (from its ``alliance://node/<hex>`` SAN)."""
    uris = [u for u in _san_uris(cert) if u.startswith(NODE_URI_PREFIX)]
    if len(uris) != 1:
        raise CertificateError(
            f"certificate {_describe(cert)} must name exactly one node "
            f"({NODE_URI_PREFIX}<hex>), found {len(uris)}"
        )
    text = uris[0][len(NODE_URI_PREFIX) :]
    if len(text) != 2 * NODE_ID_SIZE_BYTES or text != text.lower():
        raise CertificateError(f"certificate {_describe(cert)} has a malformed node id {text!r}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CertificateError(f"certificate {_describe(cert)} has a malformed node id {text!r}") from None


def org_of(cert: x509.Certificate) -> str:
    """The organisation a node or organisation CA certificate belongs to (its single subject ``O``)."""
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if len(names) != 1:
        raise CertificateError(
            f"certificate {_describe(cert)} must name exactly one organisation (O), found {len(names)}"
        )
    value = names[0].value
    org = value if isinstance(value, str) else value.decode("utf-8", "replace")
    check_org_name(org)
    return org


def _san_uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.UniformResourceIdentifier)


def _describe(cert: x509.Certificate) -> str:
    return f"'{cert.subject.rfc4514_string()}' (serial {cert.serial_number:x})"


# --- verifying -------------------------------------------------------------------------------------


def verify_chain(
    node_cert: x509.Certificate,
    org_ca_cert: x509.Certificate,
    root_cert: x509.Certificate,
    *,
    at: datetime.datetime | None = None,
) -> NodeIdentity:
    """Check that ``node_cert`` was issued by ``org_ca_cert`` under ``root_cert``; return its identity.

    Raises ``CertificateError`` naming the first thing wrong.
    """
    when = at if at is not None else datetime.datetime.now(datetime.UTC)
    _check_issued_by(root_cert, root_cert, "the root CA is not self-signed")
    _check_ca(root_cert, "root CA", path_length_max=1)
    _check_issued_by(org_ca_cert, root_cert, "the organisation CA was not issued by this alliance root")
    _check_ca(org_ca_cert, "organisation CA", path_length_max=0)
    org = org_of(org_ca_cert)
    if ORG_URI_PREFIX + org not in _san_uris(org_ca_cert):
        raise CertificateError(
            f"organisation CA {_describe(org_ca_cert)} does not name {ORG_URI_PREFIX}{org}"
        )
    _check_issued_by(node_cert, org_ca_cert, f"the node certificate was not issued by {org}'s CA")
    if _is_ca(node_cert):
        raise CertificateError(
            f"node certificate {_describe(node_cert)} is a CA; a node certificate may not be"
        )
    if org_of(node_cert) != org:
        raise CertificateError(
            f"node certificate {_describe(node_cert)} claims organisation {org_of(node_cert)!r} "
            f"but was issued by {org!r}'s CA"
        )
    _require_p256(node_cert.public_key(), f"the key of node certificate {_describe(node_cert)}")
    for cert in (root_cert, org_ca_cert, node_cert):
        _check_validity(cert, when)
    return NodeIdentity(node_id_of(node_cert), org)


def _check_issued_by(cert: x509.Certificate, issuer: x509.Certificate, reason: str) -> None:
    try:
        # Checks the issuer name matches the issuer's subject and the signature verifies.
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        detail = str(exc) or type(exc).__name__
        raise CertificateError(f"{reason}: {_describe(cert)}: {detail}") from None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _check_ca(cert: x509.Certificate, what: str, *, path_length_max: int) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise CertificateError(f"{what} {_describe(cert)} has no basic constraints") from None
    if not constraints.ca:
        raise CertificateError(f"{what} {_describe(cert)} is not a CA certificate")
    if constraints.path_length is None or constraints.path_length > path_length_max:
        raise CertificateError(
            f"{what} {_describe(cert)} must limit its path length to {path_length_max}, "
            f"has {constraints.path_length}"
        )


def _check_validity(cert: x509.Certificate, when: datetime.datetime) -> None:
    if when < cert.not_valid_before_utc:
        raise CertificateError(
            f"certificate {_describe(cert)} is not valid before {cert.not_valid_before_utc}"
        )
    if when > cert.not_valid_after_utc:
        raise CertificateError(f"certificate {_describe(cert)} expired at {cert.not_valid_after_utc}")


# --- files -----------------------------------------------------------------------------------------


def certificate_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def save_certificates(path: Path, *certs: x509.Certificate) -> None:
    """Write one certificate or a chain (leaf first) as PEM. Certificates are public: mode 0644."""
    if not certs:
        raise CertificateError(f"no certificate to write to {path}")
    write_file_atomically(path, certificate_pem(*certs), 0o644)


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file, in file order."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read certificate file {path}: {exc.strerror}") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise KeyFileError(f"certificate file {path} is not PEM certificates: {exc}") from None
    return certs


def load_certificate(path: Path) -> x509.Certificate:
    """The single certificate in a PEM file."""
    certs = load_certificates(path)
    if len(certs) != 1:
        raise KeyFileError(f"certificate file {path} should hold one certificate, holds {len(certs)}")
    return certs[0]


def save_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a P-256 private key as unencrypted PKCS#8 PEM with mode 0600 (rename makes it atomic)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_file_atomically(path, pem, KEY_FILE_MODE)


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read a key written by ``save_private_key``; refuse one that others can read."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is readable by others (mode {oct(mode & 0o777)}); chmod 600 it")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"key file {path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"key file {path} does not hold an ECDSA P-256 key")
    return key


def save_certified_key(cert_path: Path, key_path: Path, certified: CertifiedKey) -> None:
    save_private_key(key_path, certified.private_key)
    save_certificates(cert_path, certified.certificate)


def load_certified_key(cert_path: Path, key_path: Path) -> CertifiedKey:
    cert = load_certificate(cert_path)
    key = load_private_key(key_path)
    if cert.public_key() != key.public_key():
        raise KeyFileError(f"key file {key_path} does not match certificate {cert_path}")
    return CertifiedKey(cert, key)

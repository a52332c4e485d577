"""Certificates: issue a root, organisation CAs and node certificates; verify; refuse bad chains."""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alliance.crypto.certificates import (
    NODE_URI_PREFIX,
    ORG_URI_PREFIX,
    CertificateError,
    CertifiedKey,
    create_org_ca,
    create_root_ca,
    issue_node_certificate,
    load_certificate,
    load_certificates,
    load_certified_key,
    load_private_key,
    node_id_of,
    org_of,
    save_certificates,
    save_certified_key,
    save_private_key,
    verify_chain,
)
from alliance.crypto.keys import NodeKey
from alliance.errors import KeyFileError, UsageError
from alliance.p2p.tls import (
    NodeTlsFiles,
    UntrustedPeer,
    load_and_verify,
    make_contexts,
    peer_identity,
    write_node_tls_files,
)


@pytest.fixture(scope="module")
def root() -> CertifiedKey:
    return create_root_ca("testnet")


@pytest.fixture(scope="module")
def org0(root: CertifiedKey) -> CertifiedKey:
    return create_org_ca(root, "org0")


@pytest.fixture(scope="module")
def org1(root: CertifiedKey) -> CertifiedKey:
    return create_org_ca(root, "org1")


@pytest.fixture(scope="module")
def node_key() -> NodeKey:
    return NodeKey.generate()


@pytest.fixture(scope="module")
def node0(org0: CertifiedKey, node_key: NodeKey) -> CertifiedKey:
    return issue_node_certificate(org0, node_key.node_id)


def constraints(cert: x509.Certificate) -> x509.BasicConstraints:
    return cert.extensions.get_extension_for_class(x509.BasicConstraints).value


def test_chain_verifies_and_states_the_identity(
    root: CertifiedKey, org0: CertifiedKey, node0: CertifiedKey, node_key: NodeKey
) -> None:
    identity = verify_chain(node0.certificate, org0.certificate, root.certificate)
    assert identity == (node_key.node_id, "org0")
    node_id, org = identity
    assert node_id_of(node0.certificate) == node_id
    assert org_of(node0.certificate) == org_of(org0.certificate) == org


def test_certificate_shapes(
    root: CertifiedKey, org0: CertifiedKey, node0: CertifiedKey, node_key: NodeKey
) -> None:
    assert (constraints(root.certificate).ca, constraints(root.certificate).path_length) == (True, 1)
    assert (constraints(org0.certificate).ca, constraints(org0.certificate).path_length) == (True, 0)
    assert constraints(node0.certificate).ca is False
    org_sans = org0.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert org_sans.get_values_for_type(x509.UniformResourceIdentifier) == [ORG_URI_PREFIX + "org0"]
    node_sans = node0.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert node_sans.get_values_for_type(x509.UniformResourceIdentifier) == [
        NODE_URI_PREFIX + node_key.node_id.hex()
    ]
    for certified in (root, org0, node0):
        key = certified.certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert isinstance(key.curve, ec.SECP256R1)
        validity = certified.certificate.not_valid_after_utc - certified.certificate.not_valid_before_utc
        assert validity > datetime.timedelta(days=300)


def test_serial_numbers_are_random(org0: CertifiedKey, node_key: NodeKey) -> None:
    serials = {issue_node_certificate(org0, node_key.node_id).certificate.serial_number for _ in range(5)}
    assert len(serials) == 5
    assert all(s.bit_length() > 64 for s in serials)


def test_foreign_root_is_refused(org0: CertifiedKey, node0: CertifiedKey) -> None:
    outsider = create_root_ca("testnet")  # same name, different key: an impostor alliance
    with pytest.raises(CertificateError, match="not issued by this alliance root"):
        verify_chain(node0.certificate, org0.certificate, outsider.certificate)


def test_node_of_another_org_ca_is_refused(
    root: CertifiedKey, org1: CertifiedKey, node0: CertifiedKey
) -> None:
    with pytest.raises(CertificateError, match="not issued by org1's CA"):
        verify_chain(node0.certificate, org1.certificate, root.certificate)


def test_outsider_org_ca_with_a_member_name_is_refused(root: CertifiedKey, node_key: NodeKey) -> None:
    outsider_root = create_root_ca("other")
    fake_org0 = create_org_ca(outsider_root, "org0")
    fake_node = issue_node_certificate(fake_org0, node_key.node_id)
    with pytest.raises(CertificateError, match="not issued by this alliance root"):
        verify_chain(fake_node.certificate, fake_org0.certificate, root.certificate)


def test_tampered_certificate_is_refused(root: CertifiedKey, org0: CertifiedKey, node0: CertifiedKey) -> None:
    other_id = NodeKey.generate().node_id.hex().encode()
    der = node0.certificate.public_bytes(serialization.Encoding.DER)
    original = node0.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    old_id = original.value.get_values_for_type(x509.UniformResourceIdentifier)[0].removeprefix(
        NODE_URI_PREFIX
    )
    tampered = x509.load_der_x509_certificate(der.replace(old_id.encode(), other_id))
    assert node_id_of(tampered).hex() == other_id.decode()
    with pytest.raises(CertificateError, match="not issued by org0's CA"):
        verify_chain(tampered, org0.certificate, root.certificate)


def test_chain_roles_cannot_be_swapped(root: CertifiedKey, org0: CertifiedKey, node0: CertifiedKey) -> None:
    with pytest.raises(CertificateError):
        verify_chain(org0.certificate, root.certificate, root.certificate)
    with pytest.raises(CertificateError):
        verify_chain(node0.certificate, org0.certificate, org0.certificate)


def test_expired_and_not_yet_valid_are_refused(
    root: CertifiedKey, org0: CertifiedKey, node0: CertifiedKey
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    with pytest.raises(CertificateError, match="expired"):
        verify_chain(
            node0.certificate, org0.certificate, root.certificate, at=now + datetime.timedelta(days=400)
        )
    with pytest.raises(CertificateError, match="not valid before"):
        verify_chain(
            node0.certificate, org0.certificate, root.certificate, at=now - datetime.timedelta(days=1)
        )


def test_a_leaf_claiming_another_org_is_refused(
    root: CertifiedKey, org0: CertifiedKey, node_key: NodeKey
) -> None:
    # Signed by org0's CA but with O=org1 in the subject: org0 may not speak for org1's nodes.
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "org1")]))
        .issuer_name(org0.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(NODE_URI_PREFIX + node_key.node_id.hex())]
            ),
            critical=False,
        )
        .sign(org0.private_key, hashes.SHA256())
    )
    with pytest.raises(CertificateError, match="claims organisation 'org1'"):
        verify_chain(cert, org0.certificate, root.certificate)


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 65, "a/b", "ünï"])
def test_bad_org_names_are_refused(root: CertifiedKey, name: str) -> None:
    with pytest.raises(CertificateError, match="organisation name"):
        create_org_ca(root, name)


def test_node_id_must_be_32_bytes(org0: CertifiedKey) -> None:
    with pytest.raises(CertificateError, match="32 bytes"):
        issue_node_certificate(org0, b"\x01" * 31)


def test_errors_are_usage_errors() -> None:
    assert issubclass(CertificateError, UsageError)
    assert CertificateError.code == "certificate_error"


def test_files_round_trip_with_private_keys_0600(
    tmp_path: Path, root: CertifiedKey, node0: CertifiedKey
) -> None:
    cert_path, key_path = tmp_path / "n" / "node.pem", tmp_path / "n" / "node-key.pem"
    save_certified_key(cert_path, key_path, node0)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    loaded = load_certified_key(cert_path, key_path)
    assert loaded.certificate == node0.certificate
    assert loaded.private_key.private_numbers() == node0.private_key.private_numbers()
    chain_path = tmp_path / "chain.pem"
    save_certificates(chain_path, node0.certificate, root.certificate)
    assert load_certificates(chain_path) == [node0.certificate, root.certificate]
    with pytest.raises(KeyFileError, match="should hold one certificate, holds 2"):
        load_certificate(chain_path)


def test_readable_key_file_is_refused(tmp_path: Path, node0: CertifiedKey) -> None:
    path = tmp_path / "key.pem"
    save_private_key(path, node0.private_key)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_private_key(path)


def test_malformed_and_mismatched_files_are_refused(
    tmp_path: Path, org0: CertifiedKey, node0: CertifiedKey
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(KeyFileError, match="not PEM certificates"):
        load_certificate(garbage)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_certificate(tmp_path / "missing.pem")
    save_certificates(tmp_path / "cert.pem", node0.certificate)
    save_private_key(tmp_path / "key.pem", org0.private_key)
    with pytest.raises(KeyFileError, match="does not match"):
        load_certified_key(tmp_path / "cert.pem", tmp_path / "key.pem")


def test_tls_files_are_checked_at_load(
    tmp_path: Path,
    root: CertifiedKey,
    org0: CertifiedKey,
    org1: CertifiedKey,
    node0: CertifiedKey,
    node_key: NodeKey,
) -> None:
    files = write_node_tls_files(tmp_path / "good", root.certificate, org0.certificate, node0)
    assert load_and_verify(files) == (node_key.node_id, "org0")
    assert make_contexts(files).identity.org == "org0"
    wrong = write_node_tls_files(tmp_path / "wrong", root.certificate, org1.certificate, node0)
    with pytest.raises(CertificateError, match="not issued by org1's CA"):
        make_contexts(wrong)
    other_key = tmp_path / "other-key.pem"
    save_private_key(other_key, ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(KeyFileError, match="does not match"):
        load_and_verify(NodeTlsFiles(files.root_ca_path, files.chain_path, other_key))


class FakeTlsSession:
    """Stands in for ``ssl.SSLObject``: only the peer's DER certificate is read."""

    def __init__(self, cert: x509.Certificate | None) -> None:
        self._der = cert.public_bytes(serialization.Encoding.DER) if cert is not None else None

    def getpeercert(self, binary_form: bool) -> bytes | None:
        assert binary_form
        return self._der


def test_peer_identity_reads_the_leaf(
    root: CertifiedKey, org0: CertifiedKey, org1: CertifiedKey, node0: CertifiedKey, node_key: NodeKey
) -> None:
    session = FakeTlsSession(node0.certificate)
    assert peer_identity(session, root_certificate=root.certificate) == (node_key.node_id, "org0")  # type: ignore[arg-type]
    recorded = {"org0": org0.certificate}
    assert peer_identity(session, org_ca_certificates=recorded) == (node_key.node_id, "org0")  # type: ignore[arg-type]
    with pytest.raises(UntrustedPeer, match="not issued by 'org0'"):
        peer_identity(session, org_ca_certificates={"org0": org1.certificate})  # type: ignore[arg-type]
    with pytest.raises(UntrustedPeer, match="no CA on record"):
        peer_identity(session, org_ca_certificates={})  # type: ignore[arg-type]
    with pytest.raises(UntrustedPeer, match="no certificate"):
        peer_identity(FakeTlsSession(None))  # type: ignore[arg-type]


def test_peer_identity_refuses_a_leaf_issued_by_the_root_itself(
    root: CertifiedKey, node_key: NodeKey
) -> None:
    # The root is not an organisation: a leaf it signed directly speaks for no member.
    as_org = CertifiedKey(root.certificate, root.private_key)
    with pytest.raises(CertificateError, match="exactly one organisation"):
        issue_node_certificate(as_org, node_key.node_id)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "org0")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(NODE_URI_PREFIX + node_key.node_id.hex())]
            ),
            critical=False,
        )
        .sign(root.private_key, hashes.SHA256())
    )
    with pytest.raises(UntrustedPeer, match="issued by the alliance root itself"):
        peer_identity(FakeTlsSession(leaf), root_certificate=root.certificate)  # type: ignore[arg-type]

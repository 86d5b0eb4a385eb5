"""The demo's document-signing PKI: a demo CA, its trust store, and a signing key per demo organisation.

`ensure_demo_pki(settings)` makes, once, under `<gateway dir>/pki/ca` the demo CA (its key 0600,
never in the trust store), writes its certificate and an (empty) CRL into the trust store
(`settings.document_trust`), and gives each demo organisation a system-signature key and
certificate in the key ring (`settings.document_keys`) if it has none. Run again, it changes
nothing. `revoke_demo(settings, serials)` rewrites the demo CA's CRL with `serials` revoked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.demo.clients import DEMO_CLIENTS
from gateway.settings import Settings
from gateway.signing.pki import Authority, KeyRing, new_ca, revoke, write_private_key

__all__ = ["demo_ca", "ensure_demo_pki", "revoke_demo"]

_CA_NAME = "Yhteys demo CA (not for production)"


def demo_ca(settings: Settings) -> Authority:
    """The demo CA, made on first use."""
    folder = settings.gateway_dir / "pki" / "ca"
    key_file, cert_file = folder / "ca.key.pem", folder / "ca.crt.pem"
    if key_file.exists() and cert_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file} is no EC key")
        return Authority(key, x509.load_pem_x509_certificate(cert_file.read_bytes()))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = new_ca(_CA_NAME, datetime.now(UTC) - timedelta(minutes=5))
    key_file.unlink(missing_ok=True)  # a key without its certificate is of no use
    write_private_key(key_file, ca.key)
    cert_file.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    return ca


def ensure_demo_pki(settings: Settings) -> Authority:
    """The demo CA, its trust store and a key per demo organisation; see the module doc."""
    ca = demo_ca(settings)
    trust = settings.document_trust
    trust.mkdir(parents=True, exist_ok=True)
    (trust / "demo-ca.crt.pem").write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    if not (trust / "demo-ca.crl.pem").exists():
        revoke_demo(settings, [])
    ring = KeyRing(settings.document_keys)
    now = datetime.now(UTC) - timedelta(minutes=5)
    for organization, oid in dict.fromkeys((c.organization, c.organization_oid) for c in DEMO_CLIENTS):
        if ring.current(organization) is None:
            ring.rotate(organization, oid, ca, now)
    return ca


def revoke_demo(settings: Settings, serials: Iterable[int]) -> None:
    """The demo CA's CRL in the trust store, revoking `serials`."""
    crl = revoke(demo_ca(settings), serials, datetime.now(UTC) - timedelta(minutes=5))
    settings.document_trust.mkdir(parents=True, exist_ok=True)
    (settings.document_trust / "demo-ca.crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))

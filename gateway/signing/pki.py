"""System-signature certificates: a demo CA, the organisations' certificates and keys, and the trust store.

Kanta-style documents are signed with an organisation's system-signature certificate
(järjestelmäallekirjoitusvarmenne), issued by a CA the receiver trusts. Here, with `cryptography`:

- `new_ca(name, now)` makes a CA (EC P-256 key, self-signed, ten years); `issue(ca, organization,
  organization_oid, now)` a system-signature certificate for an organisation (EC P-256 or RSA, two
  years at most: DVV's limit), naming it in the subject (O, CN) and its SOTE register OID as the
  subject alternative name `urn:oid:<oid>`; `revoke(ca, serials, now)` a CRL the CA signs.
- `KeyRing(folder)` keeps each organisation's signing keys by kid: `<org>/<kid>.key.pem` (mode
  0600, never in the trust store) beside `<kid>.crt.pem`; `current(org)` is the newest,
  `rotate(org, ca, now)` adds a new one (the old ones stay, so what they signed still verifies).
- `TrustStore(cas, crls)` is what a verifier trusts: CA certificates and the CRLs of those CAs.
  `check(chain, signed_at, now)` accepts a certificate chain (leaf first, as `x5c`) only if the
  leaf is issued directly by a trusted CA and signed with its key, the leaf and the CA are valid
  both when signed and now, the leaf is for digital signature and not a CA, and the leaf's serial
  is in no CRL of its CA (a CRL whose signature does not verify counts as none: fail closed,
  `Untrusted`); it answers the leaf. `TrustStore.load(folder)` reads `*.crt.pem` and `*.crl.pem`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "Authority",
    "KeyRing",
    "SigningKey",
    "TrustStore",
    "Untrusted",
    "issue",
    "new_ca",
    "organization_oid",
    "revoke",
    "write_private_key",
]

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_MAX_VALIDITY = timedelta(days=730)
"""DVV issues system-signature certificates for two years at most."""


class Untrusted(ValueError):
    """A certificate chain the trust store does not accept; the message says why."""


@dataclass(frozen=True)
class Authority:
    """A CA: its key and certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class SigningKey:
    """One organisation's signing key: its kid, private key and certificate."""

    kid: str
    key: PrivateKey
    certificate: x509.Certificate


def new_ca(name: str, now: datetime, *, days: int = 3650) -> Authority:
    """A self-signed CA called `name`, valid from `now` for `days`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        _builder(subject, subject, key.public_key(), now, now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


def issue(
    ca: Authority,
    organization: str,
    oid: str,
    now: datetime,
    *,
    days: int = 730,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A system-signature certificate for `organization` (SOTE OID `oid`) and its key (a new EC
    P-256 key unless `key` is given), valid from `not_before` (default `now`) for `days` (at most
    730); `ValueError` for a longer validity."""
    if timedelta(days=days) > _MAX_VALIDITY:
        raise ValueError("a system-signature certificate is valid for two years at most")
    private = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, _common_name(organization)),
        ]
    )
    start = not_before or now
    certificate = (
        _builder(subject, ca.certificate.subject, private.public_key(), start, start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"urn:oid:{oid}")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return private, certificate


def revoke(ca: Authority, serials: Iterable[int], now: datetime) -> x509.CertificateRevocationList:
    """A CRL of `ca` revoking `serials`, issued `now`, next update in a week."""
    builder = x509.CertificateRevocationListBuilder().issuer_name(ca.certificate.subject)
    builder = builder.last_update(now).next_update(now + timedelta(days=7))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    return builder.sign(ca.key, hashes.SHA256())


def organization_oid(certificate: x509.Certificate) -> str | None:
    """The SOTE OID a certificate names (`urn:oid:` subject alternative name), if one."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    oids = [u.removeprefix("urn:oid:") for u in names.get_values_for_type(x509.UniformResourceIdentifier)]
    return oids[0] if len(oids) == 1 and oids[0] else None


@dataclass
class TrustStore:
    """The CAs a verifier trusts and their CRLs; see the module doc."""

    cas: Sequence[x509.Certificate]
    crls: Sequence[x509.CertificateRevocationList] = field(default_factory=tuple)

    @classmethod
    def load(cls, folder: Path) -> TrustStore:
        """The store in `folder`: every `*.crt.pem` a CA, every `*.crl.pem` a CRL."""
        cas = [x509.load_pem_x509_certificate(p.read_bytes()) for p in sorted(folder.glob("*.crt.pem"))]
        crls = [x509.load_pem_x509_crl(p.read_bytes()) for p in sorted(folder.glob("*.crl.pem"))]
        return cls(tuple(cas), tuple(crls))

    def check(self, chain: Sequence[x509.Certificate], signed_at: datetime, now: datetime) -> x509.Certificate:
        """The leaf of `chain` if the store accepts it (see the module doc); `Untrusted` saying why not."""
        if not chain:
            raise Untrusted("no certificate (x5c) came with the signature")
        leaf = chain[0]
        issuer = next((ca for ca in self.cas if _issued_by(leaf, ca)), None)
        if issuer is None:
            raise Untrusted(f"the certificate of {_name(leaf)} is not issued by a trusted CA")
        for certificate, what in ((leaf, "certificate"), (issuer, "CA certificate")):
            for moment, when in ((signed_at, "when signed"), (now, "now")):
                if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
                    raise Untrusted(
                        f"the {what} of {_name(certificate)} is not valid {when} "
                        f"(valid {certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d})"
                    )
        if not _signs(leaf):
            raise Untrusted(f"the certificate of {_name(leaf)} is not one for signing")
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                raise Untrusted(f"the revocation list of {_name(issuer)} does not verify")
            if crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None:
                raise Untrusted(f"the certificate of {_name(leaf)} (serial {leaf.serial_number:x}) is revoked")
        return leaf


class KeyRing:
    """The organisations' signing keys in `folder`, by kid; see the module doc."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def current(self, organization: str) -> SigningKey | None:
        """The organisation's newest signing key (by the certificate's start, then kid), if any."""
        keys = [
            self._load(organization, p.name.removesuffix(".crt.pem")) for p in self._dir(organization).glob("*.crt.pem")
        ]
        keys.sort(key=lambda k: (k.certificate.not_valid_before_utc, k.kid))
        return keys[-1] if keys else None

    def rotate(self, organization: str, oid: str, ca: Authority, now: datetime, *, days: int = 730) -> SigningKey:
        """A new signing key for `organization`, certified by `ca`; the previous ones are kept."""
        private, certificate = issue(ca, organization, oid, now, days=days)
        kid = f"{organization.replace('/', '-')}-{certificate.serial_number:x}"[:80]
        folder = self._dir(organization)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_key(folder / f"{kid}.key.pem", private)
        (folder / f"{kid}.crt.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return SigningKey(kid, private, certificate)

    def _dir(self, organization: str) -> Path:
        return self.folder / organization.replace("/", "-")

    def _load(self, organization: str, kid: str) -> SigningKey:
        folder = self._dir(organization)
        key_file = folder / f"{kid}.key.pem"
        if key_file.stat().st_mode & 0o077:
            raise PermissionError(f"{key_file} is readable by others: make it 0600")
        private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(private, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise ValueError(f"{key_file} is no EC or RSA key")
        certificate = x509.load_pem_x509_certificate((folder / f"{kid}.crt.pem").read_bytes())
        return SigningKey(kid, private, certificate)


def write_private_key(path: Path, key: PrivateKey | ec.EllipticCurvePrivateKey) -> None:
    """Write `key` (PKCS#8 PEM) to a new file `path`, mode 0600 from its creation; `FileExistsError` if there is one."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(pem)


def _common_name(organization: str) -> str:
    """ "<organisation> järjestelmäallekirjoitus", the organisation cut to fit X.520's 64 characters."""
    suffix = " järjestelmäallekirjoitus"
    return organization[: 64 - len(suffix)] + suffix


def _builder(
    subject: x509.Name, issuer: x509.Name, public: object, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _signs(certificate: x509.Certificate) -> bool:
    """Whether a certificate is a non-CA one for digital signatures."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return usage.digital_signature and not constraints.ca


def _name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME
    ) or certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()

"""Kanta-style JAdES detached signatures (JWS, RFC 7515 with a detached payload) with joserfc.

`sign(payload, key)` signs bytes with an organisation's `pki.SigningKey` and answers the compact
JWS without its payload (`<header>..<signature>`). Its protected header is JAdES-style, as
Kanta's: `alg` (ES256 for an EC P-256 key, RS256 for RSA), `typ` `JOSE`, `kid`, `x5c` (the
certificate), `sigT` (the signing time, UTC, to the second), `srCms` (commitment: the author's
signature, 1.2.840.10065.1.12.1.1), `sigD` (ObjectIdByURI, `pars` `["/Bundle"]`) and `crit`
naming the three JAdES parameters. joserfc's default header registry refuses those, so
`REGISTRY` registers them, each with a check of its shape.

`verify(jws, payload, trust, now)` verifies a detached JWS over `payload` and answers a
`Verified` (the signer's certificate, kid and signing time); `SignatureInvalid` names what
failed: the JWS is not a detached compact JWS, a header parameter is missing or malformed or
an algorithm other than ES256/RS256, the certificate is not trusted (`pki.TrustStore.check`:
foreign CA, expired, revoked), or the signature does not verify over these bytes (a changed
byte, another canonicalisation).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter

from gateway.signing.pki import SigningKey, TrustStore, Untrusted

__all__ = ["AUTHOR_SIGNATURE", "REGISTRY", "SignatureInvalid", "Verified", "sign", "verify"]

AUTHOR_SIGNATURE = "1.2.840.10065.1.12.1.1"
"""ASTM E1762 commitment type: the author's signature."""
OBJECT_ID_BY_URI = "http://uri.etsi.org/19182/ObjectIdByURI"
_ALGORITHMS = ("ES256", "RS256")
_JADES = ("sigT", "srCms", "sigD")


class SignatureInvalid(ValueError):
    """A signature that does not verify; the message names what failed."""


@dataclass(frozen=True)
class Verified:
    """A verified signature: the signer's certificate, the key id and when it was signed."""

    certificate: x509.Certificate
    kid: str
    signed_at: datetime


def _sig_t(value: Any) -> None:
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ValueError("sigT is a UTC time (…Z)")
    datetime.fromisoformat(value.removesuffix("Z") + "+00:00")


def _sr_cms(value: Any) -> None:
    if not (isinstance(value, list) and value and all(isinstance(v, dict) and "commId" in v for v in value)):
        raise ValueError("srCms is a list of commitments with commId")


def _sig_d(value: Any) -> None:
    if not (isinstance(value, dict) and value.get("mId") == OBJECT_ID_BY_URI and isinstance(value.get("pars"), list)):
        raise ValueError("sigD is ObjectIdByURI with pars")


REGISTRY = JWSRegistry(
    header_registry={
        "sigT": HeaderParameter("JAdES signing time", _sig_t),
        "srCms": HeaderParameter("JAdES signer commitments", _sr_cms),
        "sigD": HeaderParameter("JAdES signed data objects", _sig_d),
    },
    algorithms=list(_ALGORITHMS),
)
REGISTRY.max_header_length = 8192  # x5c carries a certificate: joserfc's 512 bytes would refuse every header
REGISTRY.max_payload_length = 8 * 1024 * 1024  # a plan document's canonical form


def sign(payload: bytes, signer: SigningKey, *, when: datetime | None = None) -> str:
    """The detached JAdES-style JWS (`<header>..<signature>`) of `payload`; see the module doc."""
    moment = (when or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    algorithm = "ES256" if isinstance(signer.key, ec.EllipticCurvePrivateKey) else "RS256"
    header = {
        "alg": algorithm,
        "typ": "JOSE",
        "kid": signer.kid,
        "x5c": [base64.b64encode(signer.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")],
        "sigT": moment.isoformat().replace("+00:00", "Z"),
        "srCms": [{"commId": {"id": AUTHOR_SIGNATURE, "desc": "Author's signature"}}],
        "sigD": {"mId": OBJECT_ID_BY_URI, "pars": ["/Bundle"], "ctys": ["application/fhir+json"]},
        "crit": list(_JADES),
    }
    key = _jwk(signer.key)
    whole = jws.serialize_compact(header, payload, key, algorithms=list(_ALGORITHMS), registry=REGISTRY)
    protected, _, signature = whole.split(".")
    return f"{protected}..{signature}"


def verify(token: str, payload: bytes, trust: TrustStore, now: datetime) -> Verified:
    """The verified signer of the detached JWS `token` over `payload`; `SignatureInvalid` naming what failed."""
    parts = token.split(".")
    if len(parts) != 3 or parts[1]:
        raise SignatureInvalid("the signature is not a detached compact JWS (header..signature)")
    header = _header(parts[0])
    if header.get("alg") not in _ALGORITHMS:
        raise SignatureInvalid(f"the signature's algorithm {header.get('alg')!r} is not ES256 or RS256")
    missing = [name for name in ("kid", "x5c", *_JADES) if name not in header]
    if missing or sorted(header.get("crit", [])) != sorted(_JADES):
        raise SignatureInvalid(f"the signature's header lacks {', '.join(missing) or 'crit naming sigT, srCms, sigD'}")
    try:
        _sig_t(header["sigT"])
        _sr_cms(header["srCms"])
        _sig_d(header["sigD"])
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in header["x5c"]]
    except (ValueError, TypeError) as exc:
        raise SignatureInvalid(f"the signature's header is malformed: {exc}") from None
    if not any(c.get("commId", {}).get("id") == AUTHOR_SIGNATURE for c in header["srCms"]):
        raise SignatureInvalid("the signature is not an author's signature (srCms)")
    signed_at = datetime.fromisoformat(str(header["sigT"]).removesuffix("Z") + "+00:00")
    try:
        leaf = trust.check(chain, signed_at, now)
    except Untrusted as exc:
        raise SignatureInvalid(str(exc)) from None
    public = leaf.public_key()
    if not isinstance(public, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise SignatureInvalid("the certificate's key is no EC or RSA key")
    try:
        jws.deserialize_compact(
            token, _jwk(public), algorithms=[str(header["alg"])], registry=REGISTRY, payload=payload
        )
    except (JoseError, ValueError) as exc:
        raise SignatureInvalid(
            f"the signature does not verify over the document's canonical form ({type(exc).__name__})"
        ) from None
    return Verified(leaf, str(header["kid"]), signed_at)


def _header(encoded: str) -> dict[str, Any]:
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise SignatureInvalid("the signature's protected header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise SignatureInvalid("the signature's protected header is not a JSON object")
    return header


def _jwk(key: Any) -> ECKey | RSAKey:
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return ECKey.import_key(key)
    return RSAKey.import_key(key)

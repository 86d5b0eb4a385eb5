"""A FHIR document Bundle signed and verified as Kanta does: `Bundle.signature` over its canonical form.

`canonical(bundle)` is the R4 JSON canonical form `#document` of a document Bundle: RFC 8785
(JCS) of the Bundle without `id`, `meta` and `signature` at the root. `sign_bundle(bundle,
signer, who)` answers the Bundle with `signature`: `type` the author's signature (ASTM E1762
1.2.840.10065.1.12.1.1), `when` (in UTC, written exactly as the JWS's `sigT`: validators compare the two as text), `who` (the issuing Organization, with its SOTE OID as
identifier), `targetFormat` `application/fhir+json;canonicalization=…json#document`,
`sigFormat` `application/jose`, `data` the base64 of the detached JAdES JWS (`jades.sign`).

`verify_bundle(bundle, trust, now)` answers the `jades.Verified` signer, or `SignatureInvalid`
naming what failed: no signature; a `sigFormat` or `targetFormat` other than those (a wrong
canonicalisation); `data` that is not base64; the JWS (`jades.verify`: untrusted, expired or
revoked certificate, a changed byte); a certificate of another organisation than `who` names;
a `when` other than the JWS's `sigT`. Input is never modified.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785

from gateway.fhir.systems import SOTE_ORGANIZATION_SYSTEM
from gateway.signing.jades import AUTHOR_SIGNATURE, SignatureInvalid, Verified, sign, verify
from gateway.signing.pki import SigningKey, TrustStore, organization_oid

__all__ = ["CANONICALIZATION", "SIG_FORMAT", "TARGET_FORMAT", "canonical", "sign_bundle", "verify_bundle"]

CANONICALIZATION = "http://hl7.org/fhir/canonicalization/json#document"
TARGET_FORMAT = f"application/fhir+json;canonicalization={CANONICALIZATION}"
SIG_FORMAT = "application/jose"
_SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
_LEFT_OUT = frozenset({"id", "meta", "signature"})


def canonical(bundle: Mapping[str, Any]) -> bytes:
    """The `#document` canonical form of `bundle` (RFC 8785, without root id, meta and signature)."""
    return rfc8785.dumps({key: value for key, value in bundle.items() if key not in _LEFT_OUT})


def sign_bundle(bundle: Mapping[str, Any], signer: SigningKey, who: str, oid: str, when: datetime) -> dict[str, Any]:
    """`bundle` with `signature` by `signer` for the Organization `who` (SOTE OID `oid`) at `when`."""
    token = sign(canonical(bundle), signer, when=when)
    signed = copy.deepcopy(dict(bundle))
    moment = when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")  # as sigT says it
    signed["signature"] = {
        "type": [{"system": _SIGNATURE_TYPE, "code": AUTHOR_SIGNATURE, "display": "Author's Signature"}],
        "when": moment,
        "who": {"reference": who, "identifier": {"system": SOTE_ORGANIZATION_SYSTEM, "value": oid}},
        "targetFormat": TARGET_FORMAT,
        "sigFormat": SIG_FORMAT,
        "data": base64.b64encode(token.encode("ascii")).decode("ascii"),
    }
    return signed


def verify_bundle(bundle: Mapping[str, Any], trust: TrustStore, now: datetime) -> Verified:
    """The verified signer of `bundle`; `SignatureInvalid` naming what failed (see the module doc)."""
    signature = bundle.get("signature")
    if not isinstance(signature, Mapping):
        raise SignatureInvalid("the Bundle has no signature")
    if signature.get("sigFormat") != SIG_FORMAT:
        raise SignatureInvalid(f"Bundle.signature.sigFormat is {signature.get('sigFormat')!r}, not {SIG_FORMAT}")
    if signature.get("targetFormat") != TARGET_FORMAT:
        raise SignatureInvalid(
            f"Bundle.signature.targetFormat is {signature.get('targetFormat')!r}: only the canonical form "
            f"{CANONICALIZATION} is verified"
        )
    try:
        token = base64.b64decode(str(signature.get("data", "")), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise SignatureInvalid("Bundle.signature.data is not base64 of a JWS") from None
    verified = verify(token, canonical(bundle), trust, now)
    who = signature.get("who") if isinstance(signature.get("who"), Mapping) else {}
    named = (who.get("identifier") or {}).get("value") if isinstance(who, Mapping) else None
    held = organization_oid(verified.certificate)
    if not named or named != held:
        raise SignatureInvalid(
            f"the certificate is that of organisation {held or 'unknown'}, not of {named or 'no one'} (Bundle.signature.who)"
        )
    try:
        when = datetime.fromisoformat(str(signature.get("when")))
    except ValueError:
        raise SignatureInvalid("Bundle.signature.when is no dateTime") from None
    if when != verified.signed_at:
        raise SignatureInvalid("Bundle.signature.when is not the signing time of the JWS (sigT)")
    return verified

"""Kanta-style document signatures: sign, verify, and each way a forged or broken one fails, naming why."""

from __future__ import annotations

import base64
import copy
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from gateway.signing.bundle import TARGET_FORMAT, canonical, sign_bundle, verify_bundle
from gateway.signing.jades import SignatureInvalid, sign, verify
from gateway.signing.pki import Authority, KeyRing, SigningKey, TrustStore, issue, new_ca, revoke

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
OID = "1.2.246.10.99990003.10.0"
ORG = "Organization/demo-org-psychiatry"
CA = new_ca("Yhteys demo CA", NOW - timedelta(days=30))
FOREIGN = new_ca("Yhteys demo CA", NOW - timedelta(days=30))  # the same name, another key


def _signer(ca: Authority = CA, **options: Any) -> SigningKey:
    key, certificate = issue(
        ca, "Demosairaala, psykiatria", options.pop("oid", OID), NOW - timedelta(days=1), **options
    )
    return SigningKey(f"kid-{certificate.serial_number:x}", key, certificate)


SIGNER = _signer()
TRUST = TrustStore([CA.certificate])
DOCUMENT: dict[str, Any] = {
    "resourceType": "Bundle",
    "id": "doc-1",
    "meta": {"versionId": "1"},
    "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:4b1e9bde-4a5f-4e38-9a0c-1d0b3a1c0f00"},
    "type": "document",
    "timestamp": "2026-12-03T12:00:00+02:00",
    "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Composition", "title": "Yhteinen suunnitelma – Åsa"}}
    ],
}


def _signed(signer: SigningKey = SIGNER, when: datetime = NOW) -> dict[str, Any]:
    return sign_bundle(DOCUMENT, signer, ORG, OID, when)


def _fails(bundle: dict[str, Any], words: str, trust: TrustStore = TRUST, now: datetime = NOW) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        verify_bundle(bundle, trust, now)
    assert words in str(caught.value)


def test_a_signed_document_verifies_and_names_its_signer() -> None:
    signed = _signed()
    verified = verify_bundle(signed, TRUST, NOW)
    assert (verified.kid, verified.signed_at) == (SIGNER.kid, NOW)
    signature = signed["signature"]
    assert (signature["sigFormat"], signature["targetFormat"]) == ("application/jose", TARGET_FORMAT)
    header = json.loads(base64.urlsafe_b64decode(base64.b64decode(signature["data"]).decode().split(".")[0] + "=="))
    assert header["srCms"][0]["commId"]["id"] == "1.2.840.10065.1.12.1.1" and header["sigD"]["pars"] == ["/Bundle"]
    assert sorted(header["crit"]) == ["sigD", "sigT", "srCms"] and header["alg"] == "ES256"
    assert DOCUMENT.get("signature") is None  # the input is untouched


def test_rsa_keys_sign_rs256() -> None:
    signer = _signer(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert verify_bundle(_signed(signer), TRUST, NOW).kid == signer.kid


def test_the_id_and_meta_are_outside_the_signature_and_everything_else_inside() -> None:
    signed = _signed()
    moved = {**signed, "id": "elsewhere", "meta": {"versionId": "9"}}
    assert verify_bundle(moved, TRUST, NOW).kid == SIGNER.kid
    changed = copy.deepcopy(signed)
    changed["entry"][0]["resource"]["title"] = "Yhteinen suunnitelma – Asa"
    _fails(changed, "does not verify over the document's canonical form")
    changed = {**signed, "timestamp": "2026-12-03T12:00:01+02:00"}
    _fails(changed, "does not verify")


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        (lambda s: s.pop("signature"), "has no signature"),
        (lambda s: s["signature"].update(sigFormat="application/pkcs7-signature"), "sigFormat"),
        (
            lambda s: s["signature"].update(
                targetFormat="application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json"
            ),
            "only the canonical form",
        ),
        (lambda s: s["signature"].update(data="not base64!"), "not base64"),
        (
            lambda s: s["signature"]["who"]["identifier"].update(value="1.2.246.10.99990001.10.0"),
            "not of 1.2.246.10.99990001",
        ),
        (lambda s: s["signature"].update(when="2026-12-03T11:00:00+00:00"), "not the signing time"),
    ],
)
def test_a_broken_signature_element_fails_naming_what(forge: Any, words: str) -> None:
    signed = _signed()
    forge(signed)
    _fails(signed, words)


def test_untrusted_expired_and_revoked_certificates_fail() -> None:
    _fails(_signed(_signer(FOREIGN)), "not issued by a trusted CA")
    old = _signer(days=30, not_before=NOW - timedelta(days=60))
    _fails(_signed(old, NOW - timedelta(days=40)), "is not valid now")
    _fails(_signed(SIGNER, NOW - timedelta(days=2)), "is not valid when signed")
    crl = revoke(CA, [SIGNER.certificate.serial_number], NOW)
    _fails(_signed(), "is revoked", TrustStore([CA.certificate], [crl]))
    assert verify_bundle(_signed(), TrustStore([CA.certificate], [revoke(CA, [1], NOW)]), NOW)  # another one revoked
    forged_crl = revoke(FOREIGN, [], NOW)  # same issuer name, not signed by the trusted CA
    _fails(_signed(), "revocation list", TrustStore([CA.certificate], [forged_crl]))


def test_a_ca_or_organisation_certificate_of_the_wrong_kind_fails() -> None:
    ca_as_signer = SigningKey("ca", CA.key, CA.certificate)
    _fails(_signed(ca_as_signer), "is not one for signing")  # the CA's own certificate, self-issued
    other = _signer(oid="1.2.246.10.99990001.10.0")
    _fails(_signed(other), "is that of organisation 1.2.246.10.99990001.10.0")
    with pytest.raises(ValueError, match="two years"):
        issue(CA, "x", OID, NOW, days=731)


def test_a_jws_that_is_not_detached_or_lacks_jades_parameters_fails() -> None:
    token = sign(b"payload", SIGNER, when=NOW)
    header, _, signature = token.split(".")
    attached = f"{header}.{base64.urlsafe_b64encode(b'payload').decode().rstrip('=')}.{signature}"
    with pytest.raises(SignatureInvalid, match="detached"):
        verify(attached, b"payload", TRUST, NOW)
    fields = json.loads(base64.urlsafe_b64decode(header + "=="))
    for name in ("sigT", "x5c"):
        stripped = {k: v for k, v in fields.items() if k != name}
        encoded = base64.urlsafe_b64encode(json.dumps(stripped).encode()).decode().rstrip("=")
        with pytest.raises(SignatureInvalid, match=f"lacks {name}"):
            verify(f"{encoded}..{signature}", b"payload", TRUST, NOW)
    assert verify(token, b"payload", TRUST, NOW).kid == SIGNER.kid
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify(token, b"payloaD", TRUST, NOW)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=6))
def test_the_canonical_form_does_not_depend_on_key_order(extra: dict[str, str]) -> None:
    forward = {**DOCUMENT, "extra": extra}
    backward = {key: forward[key] for key in reversed(list(forward))}
    backward["extra"] = {key: extra[key] for key in reversed(list(extra))}
    assert canonical(forward) == canonical(backward)


def test_keys_rotate_by_kid_private_keys_0600_and_what_an_old_key_signed_still_verifies(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    assert ring.current(ORG) is None
    first = ring.rotate(ORG, OID, CA, NOW - timedelta(days=2))
    signed = sign_bundle(DOCUMENT, first, ORG, OID, NOW - timedelta(days=1))
    second = ring.rotate(ORG, OID, CA, NOW)
    current = ring.current(ORG)
    assert current is not None and current.kid == second.kid != first.kid
    key_files = sorted((tmp_path / "keys").rglob("*.key.pem"))
    assert len(key_files) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in key_files)
    assert verify_bundle(signed, TRUST, NOW).kid == first.kid
    key_files[0].chmod(0o644)
    with pytest.raises(PermissionError, match="0600"):
        ring.current(ORG)


def test_the_trust_store_is_read_from_a_folder(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "ca.crt.pem").write_bytes(CA.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.crl.pem").write_bytes(
        revoke(CA, [SIGNER.certificate.serial_number], NOW).public_bytes(serialization.Encoding.PEM)
    )
    _fails(_signed(), "is revoked", TrustStore.load(tmp_path))

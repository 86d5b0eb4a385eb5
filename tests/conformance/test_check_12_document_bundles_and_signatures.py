"""Conformance check 12 (STANDARDS.md): "Document Bundles meet the Documents rules and their
signatures verify after canonicalisation."

The personal worker issues a plan document through the in-process gateway on the real HAPI, for
the school welfare and then again (a second version). Each answered document is checked against
the rules as STANDARDS.md states them, read here from the published specification and not from
the gateway's own checker: Bundle.type document, identifier, timestamp not before
Composition.date, the Composition first, every reference resolvable inside the Bundle; the
signature's sigFormat, targetFormat (the #document canonicalisation) and type system; a detached
JWS whose payload is the RFC 8785 form of the Bundle without id, meta and signature, verified here
with the signer's certificate from `x5c`; a new version `replaces` the old. The copy HAPI stores
verifies the same way.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx
import rfc8785
from cryptography import x509
from joserfc import jws
from joserfc.jwk import ECKey

from gateway.signing.jades import REGISTRY
from tests.e2e.documents_harness import documents_of, issue_document
from tests.e2e.gateway_harness import Client, Gateway

SCHOOL = "Organization/demo-org-school-welfare"
TARGET_FORMAT = "application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document"


def _resolves(reference: str, entries: list[dict[str, Any]]) -> bool:
    if any(entry["fullUrl"] == reference for entry in entries):
        return True
    return any(f"{e['resource']['resourceType']}/{e['resource']['id']}" == reference for e in entries)


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for key, item in value.items() if key != "reference" for r in _references(item)]
    if isinstance(value, list):
        return [r for item in value for r in _references(item)]
    return []


def _meets_the_document_rules(document: dict[str, Any]) -> None:
    assert document["resourceType"] == "Bundle" and document["type"] == "document"
    assert document["identifier"]["system"] and document["identifier"]["value"]
    entries = document["entry"]
    composition = entries[0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert datetime.fromisoformat(document["timestamp"]) >= datetime.fromisoformat(composition["date"])
    assert all(entry["fullUrl"] for entry in entries)
    for entry in entries:
        for reference in _references(entry["resource"]):
            assert _resolves(reference, entries), f"{reference} does not resolve inside the Bundle"


def _signature_verifies(document: dict[str, Any]) -> None:
    signature = document["signature"]
    assert signature["sigFormat"] == "application/jose" and signature["targetFormat"] == TARGET_FORMAT
    assert signature["type"][0]["system"] == "urn:iso-astm:E1762-95:2013"
    token = base64.b64decode(signature["data"]).decode("ascii")
    protected, payload, signed = token.split(".")
    assert payload == ""  # detached
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    key = ECKey.import_key(certificate.public_key())  # type: ignore[arg-type]
    canonical = rfc8785.dumps({k: v for k, v in document.items() if k not in ("id", "meta", "signature")})
    jws.deserialize_compact(f"{protected}..{signed}", key, payload=canonical, registry=REGISTRY, algorithms=["ES256"])


def test_issued_documents_meet_the_rules_and_their_signatures_verify(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    first = issue_document(call, plan, SCHOOL)
    second = issue_document(call, plan, SCHOOL)
    assert first.status_code == second.status_code == 200
    for document in (first.json(), second.json()):
        _meets_the_document_rules(document)
        _signature_verifies(document)
    replaces = second.json()["entry"][0]["resource"]["relatesTo"]
    assert replaces == [
        {
            "code": "replaces",
            "targetIdentifier": {"system": "urn:ietf:rfc:3986", "value": first.json()["identifier"]["value"]},
        }
    ]
    for index in documents_of(fhir, plan):
        stored = fhir.get(f"/{index['content'][0]['attachment']['url']}").json()
        _meets_the_document_rules(stored)
        _signature_verifies(stored)

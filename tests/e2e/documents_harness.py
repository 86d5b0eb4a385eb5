"""Plan documents through the in-process gateway, for the e2e and conformance tests.

`issue_document` asks for `CarePlan/<id>/$document` as a team member (the personal worker by
default); `verify_document` and `receive_document` call `$verify-document` and
`$receive-document`; `documents_of` reads a plan's DocumentReferences straight from HAPI;
`disclosures` the disclosure events of the gateway's trail; `share_social_welfare` labels the
plan's child-protection activity SOC and lets an organisation have it under the client's consent
(social → health), so that a document for it carries social welfare information.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import (
    DISCLOSURE_DIRECTION_SYSTEM,
    PARTICIPATION_TYPE_SYSTEM,
    PLAN_SECURITY_LABEL,
    SENSITIVITY_SYSTEM,
)
from tests.e2e.gateway_harness import CURATOR, SOCIAL_WORKER, Client, Gateway, Member, token

__all__ = [
    "DISCLOSURE_TYPES",
    "SOC_CODING",
    "disclosures",
    "documents_of",
    "issue_document",
    "put_on_store",
    "receive_document",
    "share_social_welfare",
    "verify_document",
]

SOC_CODING = {"system": SENSITIVITY_SYSTEM, "code": "SOC"}
DISCLOSURE_TYPES = ("110106", "social-welfare-disclosure")
"""AuditEvent.type codes of a disclosure: DCM Export, and the social welfare disclosure notice."""


def issue_document(
    call: Gateway, plan: str, recipient: str, *, as_member: Member = SOCIAL_WORKER, **extra: str
) -> httpx.Response:
    """`POST <plan>/$document` for `recipient` (purpose CAREMGT unless `purpose=`, `language=`)."""
    parameters: list[dict[str, Any]] = [
        {"name": "recipient", "valueReference": {"reference": recipient}},
        {"name": "purpose", "valueCode": extra.get("purpose", "CAREMGT")},
    ]
    if "language" in extra:
        parameters.append({"name": "language", "valueCode": extra["language"]})
    body = json.dumps({"resourceType": "Parameters", "parameter": parameters}).encode()
    return call("POST", f"/fhir/{plan}/$document", token(as_member), body, FHIR_JSON)


def verify_document(call: Gateway, document: dict[str, Any]) -> httpx.Response:
    """`POST $verify-document` of `document` (as the curator: anyone may verify)."""
    return call("POST", "/fhir/$verify-document", token(CURATOR), json.dumps(document).encode(), FHIR_JSON)


def receive_document(call: Gateway, plan: str, document: dict[str, Any]) -> httpx.Response:
    """`POST <plan>/$receive-document` of `document`, as the personal worker."""
    body = json.dumps(document).encode()
    return call("POST", f"/fhir/{plan}/$receive-document", token(SOCIAL_WORKER), body, FHIR_JSON)


def documents_of(fhir: httpx.Client, plan: str) -> list[dict[str, Any]]:
    """The DocumentReferences of `plan` on HAPI, every status."""
    found = fhir.get("/DocumentReference", params={"related": plan, "_count": "100"}).json()
    return [entry["resource"] for entry in found.get("entry", [])]


def disclosures(call: Gateway) -> list[dict[str, Any]]:
    """The disclosure events of the gateway's trail, oldest first."""
    events = [json.loads(stored.event) for stored in call.audit.store.events()]
    return [e for e in events if e["type"]["code"] in DISCLOSURE_TYPES]


def put_on_store(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    """`resource` written straight to HAPI."""
    answer = fhir.put(
        f"/{resource['resourceType']}/{resource['id']}", json=resource, headers={"Content-Type": FHIR_JSON}
    )
    assert answer.status_code in (200, 201), answer.text


def share_social_welfare(fhir: httpx.Client, client: Client, organization: str) -> str:
    """Label the plan's child-protection activity SOC and add a consent provision letting
    `organization` have SOC (direction social → health); the activity's words are answered."""
    plan = fhir.get(f"/{client.ref('plan')}").json()
    activity = plan["activity"][1]
    activity.setdefault("extension", []).append({"url": PLAN_SECURITY_LABEL, "valueCoding": SOC_CODING})
    put_on_store(fhir, plan)
    consent = fhir.get(f"/{client.ref('consent')}").json()
    consent["category"].append({"coding": [{"system": DISCLOSURE_DIRECTION_SYSTEM, "code": "social-to-health"}]})
    role = {"coding": [{"system": PARTICIPATION_TYPE_SYSTEM, "code": "IRCP"}]}
    consent["provision"]["provision"].append(
        {
            "type": "permit",
            "actor": [{"role": role, "reference": {"reference": organization}}],
            "securityLabel": [SOC_CODING],
        }
    )
    put_on_store(fhir, consent)
    return str(activity["detail"].get("code", {}).get("text") or activity["detail"].get("description"))

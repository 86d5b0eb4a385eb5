"""The demo's resources as a document's recipient sees them, shared by the document tests."""

from __future__ import annotations

from typing import Any

from gateway.access.seam import Withheld
from gateway.demo import demo_client_records
from gateway.documents.compose import DocumentRequest
from gateway.documents.structure import closure
from gateway.fhir.labels import Label
from gateway.proxy.redaction import redact

__all__ = ["POOL", "REQUEST", "seen"]

POOL = demo_client_records()
REQUEST = DocumentRequest(
    plan="CarePlan/demo-plan",
    issuer="Organization/demo-org-social-welfare",
    recipient="Organization/demo-org-youth-services",
    purpose="CAREMGT",
    identifier="urn:uuid:0b7d3c1e-8a7e-4a52-9a55-2c1b0f6f4d10",
    version=1,
    date="2026-12-03T12:00:00+02:00",
    base="https://yhteys.example/fhir",
    consents=("Aino on antanut suostumuksen: Kunnan nuorisopalvelut näkee suunnitelman, tavoitteet ja tiimin.",),
)


def seen(hidden: frozenset[Label]) -> dict[str, Any]:
    """The demo's resources as a recipient who may not see `hidden` sees them, closed under references from the plan."""
    shown = {ref: redact(resource, hidden) for ref, resource in POOL.items()}
    pool = {ref: resource for ref, resource in shown.items() if not isinstance(resource, Withheld)}
    reached, missing = closure(pool, [REQUEST.plan])
    assert missing == []
    return reached

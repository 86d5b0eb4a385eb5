"""The client's consents as she changes them herself: pure, FHIR JSON in and out.

`sharing(consents, patient, today)` says, for each organisation her active consents name as a
recipient, what a permit in force there shares: the resource types, the purposes and until
when. Only her consents count (patient == `patient`, status active) and only nested permits
whose own period (or the consent's base period) covers `today`.

`withdrawn(consent, organization)` is her consent without any permit naming `organization` as
an actor (a permit that names others too keeps them); if no nested permit is left the consent
becomes inactive. None when the consent does not permit `organization` anything: nothing to
change. Denials are never touched: a withdrawal only ever narrows what is shared.

`granted(patient, performer, organization, custodian, today)` is a new PlanConsent by which
`performer` (she herself, or her guardian) shares her plan, goals and team with `organization` for her care and its
coordination (TREAT, CAREMGT) for a year from `today`, kept by `custodian` (the organisation
that holds her consents: PlanConsent needs one).

The gateway's consent decider reads the consents afresh for every request, so a change the
store holds applies to that organisation's very next request.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.fhir.reading import mapping, mappings, reference_of
from gateway.fhir.systems import PARTICIPATION_TYPE_SYSTEM

__all__ = ["SHARED_TYPES", "Sharing", "granted", "sharing", "withdrawn"]

SHARED_TYPES = ("CarePlan", "Goal", "CareTeam")
"""What a consent she gives here shares: her plan, her goals and her team."""

_PURPOSES = (("TREAT", "treatment"), ("CAREMGT", "care management"))
_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
_PLAN_CONSENT = "https://yhteys.fi/fhir/StructureDefinition/PlanConsent"
_DISCLOSURE_POLICY = "https://yhteys.fi/fhir/policy/shared-plan-disclosure"


@dataclass(frozen=True)
class Sharing:
    """What her consents in force share with one organisation."""

    organization: str
    types: tuple[str, ...]
    purposes: tuple[str, ...]
    until: str
    consents: tuple[str, ...]


def sharing(consents: Iterable[Mapping[str, Any]], patient: str, today: date) -> dict[str, Sharing]:
    """What her active consents share now, by organisation; see the module doc."""
    found: dict[str, Sharing] = {}
    for consent in consents:
        if consent.get("status") != "active" or reference_of(consent.get("patient")) != patient:
            continue
        base = mapping(consent.get("provision"))
        for permit in _permits(base):
            period = mapping(permit.get("period")) or mapping(base.get("period"))
            if not _covers(period, today):
                continue
            types = tuple(str(c.get("code")) for c in mappings(permit.get("class")) or mappings(base.get("class")))
            purposes = tuple(
                str(p.get("code")) for p in mappings(permit.get("purpose")) or mappings(base.get("purpose"))
            )
            for organization in _actors(permit):
                known = found.get(organization)
                found[organization] = Sharing(
                    organization,
                    _union(known.types if known else (), types or ("*",)),
                    _union(known.purposes if known else (), purposes),
                    max(known.until if known else "", str(period.get("end", ""))),
                    _union(known.consents if known else (), (f"Consent/{consent.get('id')}",)),
                )
    return found


def withdrawn(consent: Mapping[str, Any], organization: str) -> dict[str, Any] | None:
    """Her consent without its permits to `organization`; see the module doc."""
    base = mapping(consent.get("provision"))
    nested = mappings(base.get("provision"))
    if not any(organization in _actors(p) for p in nested if p.get("type") == "permit"):
        return None
    changed = copy.deepcopy(dict(consent))
    kept = []
    for provision in copy.deepcopy(nested):
        if provision.get("type") == "permit" and organization in _actors(provision):
            provision["actor"] = [a for a in mappings(provision.get("actor")) if _actor_of(a) != organization]
            if not provision["actor"]:
                continue
        kept.append(provision)
    changed["provision"]["provision"] = kept
    if not kept:
        del changed["provision"]["provision"]
    if not any(p.get("type") == "permit" for p in kept):
        changed["status"] = "inactive"
    return changed


def granted(patient: str, performer: str, organization: str, custodian: str, today: date) -> dict[str, Any]:
    """Her new consent sharing her plan, goals and team with `organization`; see the module doc."""
    purposes = [{"system": _ACT_REASON, "code": code, "display": display} for code, display in _PURPOSES]
    period = {"start": today.isoformat(), "end": today.replace(year=today.year + 1).isoformat()}
    return {
        "resourceType": "Consent",
        "meta": {"profile": [_PLAN_CONSENT]},
        "status": "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": patient},
        "dateTime": today.isoformat(),
        "performer": [{"reference": performer}],
        "organization": [{"reference": custodian}],
        "policy": [{"uri": _DISCLOSURE_POLICY}],
        "provision": {
            "type": "permit",
            "period": period,
            "purpose": purposes,
            "provision": [
                {
                    "type": "permit",
                    "actor": [
                        {
                            "role": {"coding": [{"system": PARTICIPATION_TYPE_SYSTEM, "code": "IRCP"}]},
                            "reference": {"reference": organization},
                        }
                    ],
                    "purpose": purposes,
                    "class": [{"system": _RESOURCE_TYPES, "code": kind} for kind in SHARED_TYPES],
                }
            ],
        },
    }


def _permits(base: Mapping[str, Any]) -> list[dict[str, Any]]:
    return (
        [p for p in mappings(base.get("provision")) if p.get("type") == "permit"]
        if base.get("type") == "permit"
        else []
    )


def _actors(provision: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(r for r in (_actor_of(a) for a in mappings(provision.get("actor"))) if r.startswith("Organization/"))


def _actor_of(actor: Mapping[str, Any]) -> str:
    return reference_of(actor.get("reference"))


def _covers(period: Mapping[str, Any], today: date) -> bool:
    start, end = str(period.get("start", ""))[:10], str(period.get("end", ""))[:10]
    return (not start or start <= today.isoformat()) and (not end or today.isoformat() <= end)


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))

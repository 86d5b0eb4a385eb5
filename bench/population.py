"""A synthetic population for the decision benchmark: clients, their teams and their consents.

`Population(clients, consents_per_client, seed)` is deterministic and lazy: `client(i)` (for
0 <= i < clients) builds client i afresh from a random generator seeded with (seed, i), so
the same seed always gives the same data and one client can be rebuilt without the others.
A client is "Patient/bench-<i>" with a team of 3 to 5 professionals, each from a different
sector (see `SECTOR_ROLES`: the team role the role policy knows for it), and
`consents_per_client` PlanConsents shaped like the demo consent in gateway/demo/bundle.json:
FHIR JSON dicts (fresh objects per consent; only immutable strings are shared), a permit
or (rarely) deny base provision with a period and purposes, nested permits naming team
organisations or PractitionerRoles for some resource types, nested denies of PSY, ETH, SOC or
R for a team member, some denies without label (to an outsider or a team member), some with
nested periods, some with the minor's RestrictionParent. Some consents are `inactive`
(withdrawn), some expired, some not yet in force. Every consent conforms to what
`gateway.access.consent.terms.terms_of` reads.

Periods are generated around `NOW`; a benchmark must evaluate them with a clock fixed at
`NOW`, or the mix of consents in force drifts with the calendar.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from gateway.fhir.codes import Sector
from gateway.fhir.systems import RESTRICTION_PARENT, RESTRICTION_PARENT_SYSTEM

__all__ = ["NOW", "OUTSIDE_COUNTY", "SECTOR_ROLES", "Population", "Professional", "SyntheticClient"]

NOW = datetime(2027, 1, 15, 12, tzinfo=UTC)
"""The instant the generated periods are arranged around."""

SECTOR_ROLES: Mapping[Sector, str] = {
    Sector.SCHOOL_WELFARE: "school-curator",
    Sector.CHILD_PROTECTION: "aftercare-social-worker",
    Sector.HOSPITAL_PSYCHIATRY: "psychiatric-nurse",
    Sector.PRIMARY_HEALTH_CARE: "nurse",
    Sector.HOUSING: "housing-counsellor",
    Sector.MUNICIPAL_YOUTH_SERVICES: "youth-worker",
    Sector.THIRD_SECTOR: "third-sector-worker",
}
"""The sectors professionals come from, each with the team role its rules in rules.yaml name."""

OUTSIDE_COUNTY = frozenset({Sector.MUNICIPAL_YOUTH_SERVICES, Sector.THIRD_SECTOR})
"""Sectors whose role permits hold only with a consent naming them (rules.yaml consent_required)."""

Consent = dict[str, Any]

_SECTORS = tuple(SECTOR_ROLES)
_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_SENSITIVITY = "https://yhteys.fi/fhir/CodeSystem/sensitivity"
_LABEL_CODINGS = {
    "PSY": (_ACT_CODE, "psychiatry disorder information sensitivity"),
    "ETH": (_ACT_CODE, "substance abuse information sensitivity"),
    "SOC": (_SENSITIVITY, "social welfare client information"),
    "R": (_CONFIDENTIALITY, "restricted"),
}
_PURPOSE_DISPLAY = {"TREAT": "treatment", "CAREMGT": "care management"}
_CLASSES = ("CarePlan", "Goal", "CareTeam", "Condition", "Patient")
_TODAY = NOW.date().toordinal()


@dataclass(frozen=True)
class Professional:
    """One professional: sector, team role, "Organization/<id>" and "PractitionerRole/<id>"."""

    sector: Sector
    team_role: str
    organization: str
    practitioner_role: str


@dataclass(frozen=True)
class SyntheticClient:
    """Client `patient` ("Patient/<id>"), the team caring for them, and their consents."""

    patient: str
    team: tuple[Professional, ...]
    consents: tuple[Consent, ...]


@functools.cache
def _professional(sector: Sector, organization: int, person: int) -> Professional:
    """The one (shared, immutable) professional `person` of organisation `organization` in `sector`."""
    org = f"Organization/bench-{sector.value}-{organization}"
    role = f"PractitionerRole/bench-{sector.value}-{organization}-{person}"
    return Professional(sector, SECTOR_ROLES[sector], org, role)


@dataclass(frozen=True)
class Population:
    """`clients` synthetic clients with `consents_per_client` consents each; see the module doc."""

    clients: int
    consents_per_client: int = 10
    seed: int = 2026
    organizations_per_sector: int = 40
    professionals_per_organization: int = 5

    def __post_init__(self) -> None:
        if self.clients < 1 or self.consents_per_client < 1:
            raise ValueError("a population needs at least one client and one consent per client")

    @property
    def consents(self) -> int:
        """How many consents the whole population holds."""
        return self.clients * self.consents_per_client

    def client(self, index: int) -> SyntheticClient:
        """Client `index` (0 <= index < clients), the same on every call for the same seed."""
        if not 0 <= index < self.clients:
            raise IndexError(index)
        rng = random.Random(self.seed * 1_000_003 + index)
        patient = f"Patient/bench-{index}"
        team = tuple(self.professional(rng, sector) for sector in rng.sample(_SECTORS, rng.randint(3, 5)))
        consents = tuple(
            _consent(rng, f"bench-{index}-{n}", patient, team, self.outsider(rng))
            for n in range(self.consents_per_client)
        )
        return SyntheticClient(patient, team, consents)

    def professional(self, rng: random.Random, sector: Sector) -> Professional:
        """A professional of `sector` drawn with `rng` from this population's organisations."""
        return _professional(
            sector, rng.randrange(self.organizations_per_sector), rng.randrange(self.professionals_per_organization)
        )

    def outsider(self, rng: random.Random) -> Professional:
        """A professional of any sector drawn with `rng` (usually in no given client's team)."""
        return self.professional(rng, rng.choice(_SECTORS))


def _consent(
    rng: random.Random, consent_id: str, patient: str, team: Sequence[Professional], outsider: Professional
) -> Consent:
    """One PlanConsent of `patient` (see the module doc for the mix)."""
    start, end = _base_period(rng)
    base: Consent = {"type": "deny" if rng.random() < 0.003 else "permit", "period": _period(rng, start, end)}
    purposes = rng.choices((("TREAT", "CAREMGT"), ("TREAT",), ()), (0.7, 0.2, 0.1))[0]
    if purposes:
        base["purpose"] = _purposes(purposes)
    if rng.random() < 0.2:
        base["class"] = _classes(("CarePlan", "Goal", "CareTeam"))
    if base["type"] == "permit":
        base["provision"] = _nested(rng, team, outsider)
    custodian = next((p for p in team if p.sector not in OUTSIDE_COUNTY), team[0])
    consent: Consent = {
        "resourceType": "Consent",
        "id": consent_id,
        "meta": {"profile": ["https://yhteys.fi/fhir/StructureDefinition/PlanConsent"]},
        "status": "inactive" if rng.random() < 0.1 else "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": patient},
        "dateTime": f"{_day(start)}T{rng.randint(8, 16):02d}:{rng.randrange(60):02d}:00+02:00",
        "performer": [{"reference": patient}],
        "organization": [{"reference": custodian.organization}],
        "policy": [{"uri": "https://yhteys.fi/fhir/policy/shared-plan-disclosure"}],
        "provision": base,
    }
    if rng.random() < 0.1:  # a minor's decision on disclosure to guardians
        code = rng.choices(("1", "2", "3", "4"), (0.4, 0.3, 0.2, 0.1))[0]
        consent["extension"] = [
            {"url": RESTRICTION_PARENT, "valueCoding": {"system": RESTRICTION_PARENT_SYSTEM, "code": code}}
        ]
    return consent


def _nested(rng: random.Random, team: Sequence[Professional], outsider: Professional) -> list[Consent]:
    """Nested provisions: 1-2 permits to team members, maybe label denies and plain denies."""
    provisions: list[Consent] = []
    for _ in range(rng.randint(1, 2)):
        recipients = rng.sample(list(team), rng.randint(1, min(2, len(team))))
        permit: Consent = {"type": "permit", "actor": [_actor(_recipient(rng, p)) for p in recipients]}
        if rng.random() < 0.7:
            permit["purpose"] = _purposes(rng.choice((("TREAT", "CAREMGT"), ("TREAT",), ("CAREMGT",))))
        if rng.random() < 0.8:
            permit["class"] = _classes(rng.sample(_CLASSES, rng.randint(2, 4)))
        if rng.random() < 0.15:
            permit["securityLabel"] = [_label("PSY")]
        if rng.random() < 0.2:
            permit["period"] = _period(rng, *_nested_period(rng))
        provisions.append(permit)
    if rng.random() < 0.6:  # as in the demo: a team member is refused protected information
        refused = rng.choice(list(team)).practitioner_role
        code = rng.choices(("PSY", "ETH", "SOC", "R"), (0.6, 0.2, 0.1, 0.1))[0]
        provisions.append({"type": "deny", "actor": [_actor(refused)], "securityLabel": [_label(code)]})
    if rng.random() < 0.08:  # refuses a party everything: mostly an outsider, sometimes the team
        party = outsider if rng.random() < 0.7 else rng.choice(list(team))
        deny: Consent = {"type": "deny", "actor": [_actor(_recipient(rng, party))]}
        if rng.random() < 0.3:
            deny["period"] = _period(rng, *_nested_period(rng))
        provisions.append(deny)
    return provisions


def _recipient(rng: random.Random, professional: Professional) -> str:
    """Whom a provision names: usually the organisation, sometimes the professional's role."""
    return professional.organization if rng.random() < 0.75 else professional.practitioner_role


def _base_period(rng: random.Random) -> tuple[int, int | None]:
    """Start and end (day ordinals; end None = open): 15 % expired, 5 % future, else in force."""
    draw = rng.random()
    if draw < 0.15:
        start = _TODAY - rng.randint(400, 900)
        return start, _TODAY - rng.randint(1, 399)
    if draw < 0.2:
        start = _TODAY + rng.randint(1, 120)
        return start, start + 365
    start = _TODAY - rng.randint(1, 700)
    return start, None if rng.random() < 0.2 else _TODAY + rng.randint(1, 700)


def _nested_period(rng: random.Random) -> tuple[int, int | None]:
    """A nested provision's period: mostly in force, a quarter of them over."""
    if rng.random() < 0.25:
        return _TODAY - rng.randint(200, 400), _TODAY - rng.randint(1, 199)
    return _TODAY - rng.randint(1, 300), _TODAY + rng.randint(1, 300)


def _period(rng: random.Random, start: int, end: int | None) -> dict[str, str]:
    """A FHIR Period: dates mostly, a dateTime start sometimes."""
    period = {"start": _day(start) if rng.random() < 0.8 else f"{_day(start)}T09:00:00+02:00"}
    if end is not None:
        period["end"] = _day(end)
    return period


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _purposes(codes: Sequence[str]) -> list[dict[str, str]]:
    return [{"system": _ACT_REASON, "code": code, "display": _PURPOSE_DISPLAY[code]} for code in codes]


def _classes(types: Sequence[str]) -> list[dict[str, str]]:
    return [{"system": "http://hl7.org/fhir/resource-types", "code": rtype} for rtype in types]


def _label(code: str) -> dict[str, str]:
    system, display = _LABEL_CODINGS[code]
    return {"system": system, "code": code, "display": display}


def _actor(reference: str) -> Consent:
    role = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
        "code": "IRCP",
        "display": "information recipient",
    }
    return {"role": {"coding": [role]}, "reference": {"reference": reference}}

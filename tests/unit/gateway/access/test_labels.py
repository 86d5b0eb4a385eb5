"""Reading sensitivity labels and activity owners: tables, with the demo plan for realism."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from gateway.access.labels import owner_of, part_labels, resource_labels
from gateway.access.seam import UnknownSector
from gateway.demo import demo_bundle
from gateway.fhir.codes import Sector
from gateway.fhir.labels import ETH, PSY, SOC, Label, R, label_of
from gateway.fhir.systems import OWNING_SECTOR, PLAN_SECURITY_LABEL, SECTOR_SYSTEM

ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
OURS = "https://yhteys.fi/fhir/CodeSystem/sensitivity"
FI_SECURITY = "https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs"


def _demo(resource_type: str, id_: str) -> dict[str, Any]:
    for entry in demo_bundle()["entry"]:
        resource: dict[str, Any] = entry["resource"]
        if resource["resourceType"] == resource_type and resource["id"] == id_:
            return resource
    raise LookupError(f"{resource_type}/{id_} is not in the demo bundle")


DEMO_ACTIVITIES: list[dict[str, Any]] = _demo("CarePlan", "demo-plan")["activity"]


@dataclass(frozen=True)
class LabelOfCase:
    name: str
    system: str
    code: str
    want: Label | None


LABEL_OF_CASES = [
    LabelOfCase("PSY", ACT, "PSY", PSY),
    LabelOfCase("ETH", ACT, "ETH", ETH),
    LabelOfCase("SOC, HL7 spelling", ACT, "SOC", SOC),
    LabelOfCase("SOC, our spelling", OURS, "SOC", SOC),
    LabelOfCase("unknown code of our system is restricted", OURS, "XYZ", R),
    LabelOfCase("R", CONF, "R", R),
    LabelOfCase("V reads as R", CONF, "V", R),
    LabelOfCase("unknown confidentiality reads as R", CONF, "Q", R),
    LabelOfCase("N is no restriction", CONF, "N", None),
    LabelOfCase("L is no restriction", CONF, "L", None),
    LabelOfCase("other ActCode sensitivity is not ours", ACT, "HIV", None),
    LabelOfCase("protection order is handled elsewhere", FI_SECURITY, "TURVAKIELTO", None),
    LabelOfCase("case matters", ACT, "psy", None),
]


@pytest.mark.parametrize("case", LABEL_OF_CASES, ids=lambda case: case.name)
def test_label_of(case: LabelOfCase) -> None:
    assert label_of(case.system, case.code) == case.want


@dataclass(frozen=True)
class ResourceCase:
    name: str
    resource: dict[str, Any]
    want: frozenset[Label]


def _security(*codings: object) -> dict[str, Any]:
    return {"resourceType": "Goal", "meta": {"security": list(codings)}}


RESOURCE_CASES = [
    ResourceCase("demo goal with PSY", _demo("Goal", "demo-goal-wellbeing"), frozenset({PSY})),
    ResourceCase("demo condition with PSY", _demo("Condition", "demo-need-anxiety"), frozenset({PSY})),
    ResourceCase("demo goal without labels", _demo("Goal", "demo-goal-home"), frozenset()),
    ResourceCase("demo plan (labels only on an activity)", _demo("CarePlan", "demo-plan"), frozenset()),
    ResourceCase("no meta", {"resourceType": "Goal"}, frozenset()),
    ResourceCase("empty security", _security(), frozenset()),
    ResourceCase(
        "both SOC spellings are one label",
        _security({"system": ACT, "code": "SOC"}, {"system": OURS, "code": "SOC"}),
        frozenset({SOC}),
    ),
    ResourceCase(
        "V and PSY", _security({"system": CONF, "code": "V"}, {"system": ACT, "code": "PSY"}), frozenset({R, PSY})
    ),
    ResourceCase(
        "N and protection order ignored",
        _security({"system": CONF, "code": "N"}, {"system": FI_SECURITY, "code": "TURVAKIELTO"}),
        frozenset(),
    ),
    ResourceCase("coding without code is restricted", _security({"system": ACT}), frozenset({R})),
    ResourceCase("coding that is not a mapping is restricted", _security("PSY"), frozenset({R})),
    ResourceCase("meta not a mapping is restricted", {"meta": "x"}, frozenset({R})),
    ResourceCase("security not a list is restricted", {"meta": {"security": {"code": "N"}}}, frozenset({R})),
]


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=lambda case: case.name)
def test_resource_labels(case: ResourceCase) -> None:
    assert resource_labels(case.resource) == case.want


def _label_extension(value: object) -> dict[str, Any]:
    return {"url": PLAN_SECURITY_LABEL, "valueCoding": value}


def _owner_extension(code: str, system: str = SECTOR_SYSTEM) -> dict[str, Any]:
    return {"url": OWNING_SECTOR, "valueCoding": {"system": system, "code": code}}


@dataclass(frozen=True)
class ActivityCase:
    name: str
    activity: dict[str, Any]
    want_labels: frozenset[Label]
    want_owner: Sector | UnknownSector


ACTIVITY_CASES = [
    ActivityCase("demo curator meetings", DEMO_ACTIVITIES[0], frozenset(), Sector.SCHOOL_WELFARE),
    ActivityCase("demo aftercare support", DEMO_ACTIVITIES[1], frozenset(), Sector.CHILD_PROTECTION),
    ActivityCase("demo psychiatric care, PSY", DEMO_ACTIVITIES[2], frozenset({PSY}), Sector.HOSPITAL_PSYCHIATRY),
    ActivityCase("demo youth work", DEMO_ACTIVITIES[3], frozenset(), Sector.MUNICIPAL_YOUTH_SERVICES),
    ActivityCase("no extensions", {"detail": {}}, frozenset(), UnknownSector()),
    ActivityCase(
        "SOC in HL7 spelling",
        {"extension": [_owner_extension("social-welfare"), _label_extension({"system": ACT, "code": "SOC"})]},
        frozenset({SOC}),
        Sector.SOCIAL_WELFARE,
    ),
    ActivityCase(
        "an unknown label on an activity is restricted",
        {"extension": [_owner_extension("housing"), _label_extension({"system": ACT, "code": "HIV"})]},
        frozenset({R}),
        Sector.HOUSING,
    ),
    ActivityCase(
        "a label without valueCoding is restricted",
        {"extension": [{"url": PLAN_SECURITY_LABEL}]},
        frozenset({R}),
        UnknownSector(),
    ),
    ActivityCase(
        "N on an activity is no restriction",
        {"extension": [_label_extension({"system": CONF, "code": "N"})]},
        frozenset(),
        UnknownSector(),
    ),
    ActivityCase("extension not a list", {"extension": {"url": OWNING_SECTOR}}, frozenset({R}), UnknownSector()),
    ActivityCase(
        "an extension that is not a mapping",
        {"extension": ["x", _owner_extension("housing")]},
        frozenset({R}),
        UnknownSector(),
    ),
    ActivityCase(
        "two owners",
        {"extension": [_owner_extension("housing"), _owner_extension("third-sector")]},
        frozenset(),
        UnknownSector(),
    ),
    ActivityCase(
        "unknown sector code", {"extension": [_owner_extension("school")]}, frozenset(), UnknownSector("school")
    ),
    ActivityCase(
        "sector code in another system",
        {"extension": [_owner_extension("housing", "urn:x")]},
        frozenset(),
        UnknownSector("housing"),
    ),
]


@pytest.mark.parametrize("case", ACTIVITY_CASES, ids=lambda case: case.name)
def test_part_labels_and_owner(case: ActivityCase) -> None:
    assert part_labels(case.activity) == case.want_labels
    assert owner_of(case.activity) == case.want_owner

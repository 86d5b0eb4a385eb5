"""The mapping specs are data that is checked: every row names a real FHIR element."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.spec import SPECS, SpecError, element_exists, load_spec


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_spec_loads(path: Path) -> None:
    spec = load_spec(path)
    assert spec.source == path.stem and spec.rows


@pytest.mark.parametrize(
    ("path", "exists"),
    [
        ("Goal.target.dueDate", True),
        ("CarePlan.activity.detail.scheduledString", True),
        ("CareTeam.participant.member", True),
        ("Patient.identifier.value", True),
        ("Goal.target.due", False),  # a choice element by its concrete name only
        ("Patient.identifier.value.value", False),  # below a primitive
        ("Patient.shoeSize", False),
        ("Potato.identifier", False),
    ],
)
def test_elements_are_checked_against_the_fhir_r4_model(path: str, exists: bool) -> None:
    assert element_exists(path) is exists


_GOOD = """
source: s
title: t
format: f
system: {client_id: c, sector: school-welfare}
key: k
rules:
  hetu: {code: "gateway.fhir.hetu:parse_hetu", why: computed}
rows:
  - {source: A, target: Patient.identifier.value, datatype: ST → Identifier, condition: required, rule: hetu}
  - {source: B, target: CareTeam.participant.role, datatype: CE → CodeableConcept, condition: "if A valued",
     translate: psychiatry-ehr-role}
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("Patient.identifier.value", "Patient.identifer.value"), "no FHIR R4 element"),
        (("psychiatry-ehr-role", "no-such-map"), "no ConceptMap"),
        (("rule: hetu}", "rule: checksum}"), "not among the spec's rules"),
        (("parse_hetu", "no_such_function"), "no function"),
        (("condition: required", "condition: sometimes"), "condition is"),
        (("ST → Identifier", "Identifier"), "datatype is"),
        (("key: k\n", "key: k\nextra: 1\n"), "exactly the keys"),
    ],
)
def test_a_broken_spec_is_refused_naming_what_is_wrong(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(_GOOD, encoding="utf-8")
    assert len(load_spec(good).rows) == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text(_GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        load_spec(broken)

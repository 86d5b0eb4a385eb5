"""Local codes through our ConceptMaps, there and back (properties over every map's codes)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.spec import TERMINOLOGY
from mappings.translate import ConceptMapTable

MAPS = sorted(
    path.name.removeprefix("ConceptMap-").removesuffix(".json") for path in TERMINOLOGY.glob("ConceptMap-*.json")
)


@pytest.mark.parametrize("name", MAPS)
def test_every_exactly_mapped_code_comes_back_from_its_target(name: str) -> None:
    table = ConceptMapTable.load(name)
    assert table.targets, name
    for (system, code), target in table.targets.items():
        assert table.translate(system, code) == target
        assert table.source_of(system, (target.system, target.code)) == code


def test_a_loose_mapping_is_no_translation() -> None:
    table = ConceptMapTable.load("psychiatry-ehr-role")
    assert table.translate("http://terminology.hl7.org/CodeSystem/v2-0443", "CP") is None  # 'narrower', not exact
    resource = json.loads((TERMINOLOGY / "ConceptMap-psychiatry-ehr-role.json").read_text(encoding="utf-8"))
    assert any(t["equivalence"] == "narrower" for g in resource["group"] for e in g["element"] for t in e["target"])


@given(st.text(max_size=12))
def test_an_unknown_code_translates_to_nothing(code: str) -> None:
    table = ConceptMapTable.load("school-support-measure")
    known = {c for (_, c) in table.targets}
    if code not in known:
        assert table.translate("https://yhteys.fi/fhir/CodeSystem/school-admin-measure", code) is None

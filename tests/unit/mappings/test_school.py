"""The school export's records, checked before anything is sent (pure)."""

from __future__ import annotations

import pytest

from mappings.plan import ClientRecord, Rejected, activity_id
from mappings.school import COLUMNS, LOCAL_MEASURE_SYSTEM, read_records
from mappings.spec import SPECS, load_spec
from mappings.translate import ConceptMapTable, Translated

HEADER = "Oppilaan henkilötunnus;Tukitoimen koodi;Kuraattori tai psykologi"


def _read(*rows: str, header: str = HEADER) -> list[ClientRecord | Rejected]:
    return read_records("\n".join((header, *rows)).encode())


def test_the_rows_of_a_student_are_one_record_and_optional_columns_may_be_missing() -> None:
    [record] = _read("140307A946S;KT;Laura Heikkinen", "140307a946s;HOKS;Laura Heikkinen")
    assert isinstance(record, ClientRecord) and record.lines == (2, 3)
    assert [(a.key, a.target[1], a.extensions) for a in record.activities] == [
        ("HOKS", "study-plan", ()),
        ("KT", "curator-meetings", ()),
    ]


def test_swedish_headings_read_alike() -> None:
    [record] = _read(
        "140307A946S;KT;Laura Heikkinen", header="Elevens personbeteckning;Stödåtgärdens kod;Kurator eller psykolog"
    )
    assert isinstance(record, ClientRecord)


def test_the_same_measure_twice_differently_rejects_the_record() -> None:
    [record] = _read("140307A946S;KT;Laura Heikkinen", "140307A946S;KT;Eeva Lindqvist")
    assert isinstance(record, Rejected) and record.column == "Tukitoimen koodi" and "twice" in record.reason


def test_two_codes_that_would_be_one_activity_reject_the_record() -> None:
    target = Translated("https://yhteys.fi/fhir/CodeSystem/support-measure", "curator-meetings", "Curator meetings")
    table = ConceptMapTable("urn:test", {(LOCAL_MEASURE_SYSTEM, "K-T"): target, (LOCAL_MEASURE_SYSTEM, "K T"): target})
    data = "\n".join((HEADER, "140307A946S;K-T;Laura Heikkinen", "140307A946S;K T;Laura Heikkinen")).encode()
    [record] = read_records(data, table)
    assert isinstance(record, Rejected) and "one activity" in record.reason


@pytest.mark.parametrize(
    ("row", "column"),
    [("140307A946S;;Laura Heikkinen", "Tukitoimen koodi"), ("140307A946S;KT;", "Kuraattori tai psykologi")],
)
def test_a_required_value_missing_rejects_the_record(row: str, column: str) -> None:
    [record] = _read(row)
    assert isinstance(record, Rejected) and record.column == column


def test_a_broken_row_without_a_readable_henkilotunnus_is_rejected_alone() -> None:
    records = _read("140307A946S;KT;Laura Heikkinen", "xx;KT")
    assert [type(r).__name__ for r in records] == ["ClientRecord", "Rejected"]
    assert records[1].lines == (3,)


def test_activity_ids_are_fhir_ids_made_of_the_code() -> None:
    assert activity_id("school-welfare", "HOKS") == "school-welfare-hoks"
    assert activity_id("school-welfare", " Ä/ 1 ") == "school-welfare-1"
    assert len(activity_id("school-welfare", "x" * 200)) == 64


def test_the_spec_names_the_columns_the_reader_reads() -> None:
    spec = load_spec(SPECS / "school-welfare.yaml")
    finnish = {headings[0] for headings in COLUMNS.values()}
    assert {row.source for row in spec.rows if row.source != "—"} == finnish

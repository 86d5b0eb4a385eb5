"""HL7 v2.5 field values both ways: times, instance ids (what outbound writes, inbound reads back)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Segment
from hypothesis import given
from hypothesis import strategies as st

from mappings.psychiatry.fields import (
    SHARED_NAMESPACE,
    FieldError,
    Key,
    ei_of,
    fhir_date,
    fhir_datetime,
    hl7_ts,
    instance_key,
    text_of,
)

BASE = "https://yhteys.fi/fhir/sid/psychiatry-ehr"


def _ei(er7: str) -> Any:
    """PRB-4 of a PRB segment whose PRB-4 is `er7`."""
    segment = Segment("PRB", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    segment.prb_4 = er7
    return segment.prb_4


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q))),
)
def test_a_fhir_datetime_survives_hl7_and_back(moment: datetime, zone: timezone) -> None:
    value = moment.replace(tzinfo=zone).isoformat()
    assert fhir_datetime(hl7_ts(value)) == value


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_a_fhir_date_survives_hl7_and_back(day: date) -> None:
    assert fhir_date(hl7_ts(day.isoformat())) == day.isoformat() == fhir_datetime(hl7_ts(day.isoformat()))


def test_a_time_without_an_offset_is_helsinki_time() -> None:
    assert fhir_datetime("20260115101500") == "2026-01-15T10:15:00+02:00"
    assert fhir_datetime("20260715101500") == "2026-07-15T10:15:00+03:00"
    assert fhir_date("202607") == "2026-07" and fhir_date("20260715101500") == "2026-07-15"


@pytest.mark.parametrize("bad", ["", "2026-07-15", "20261345", "20260230", "2026071510", "x2026"])
def test_what_is_no_ts_is_refused(bad: str) -> None:
    with pytest.raises(FieldError):
        fhir_datetime(bad)


@pytest.mark.parametrize(
    ("er7", "want"),
    [
        ("ONG-1^ESKO", Key(f"{BASE}/ESKO", "ONG-1")),
        ("ONG-1^ESKO^1.2.246.10.99990003.10.1^ISO", Key("urn:oid:1.2.246.10.99990003.10.1", "ONG-1")),
        (f"w1-need-school^{SHARED_NAMESPACE}", Key("", "w1-need-school")),
        ("A\\T\\B^ESKO", Key(f"{BASE}/ESKO", "A&B")),
    ],
)
def test_instance_keys(er7: str, want: Key) -> None:
    assert instance_key(_ei(er7), BASE) == want


@pytest.mark.parametrize("er7", ["", "^ESKO", "ONG-1", "ONG-1^^1.2.3", "ONG-1^bad namespace!"])
def test_an_instance_id_without_entity_or_namespace_is_refused(er7: str) -> None:
    with pytest.raises(FieldError):
        instance_key(_ei(er7), BASE)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip))
def test_an_identifier_written_as_ei_reads_back(value: str) -> None:
    for system in (f"{BASE}/ESKO", "urn:oid:1.2.246.10.99990003.10.1"):
        key = instance_key(_ei(ei_of({"system": system, "value": value}, "ignored", BASE)), BASE)
        assert key == Key(system, value)
    assert instance_key(_ei(ei_of(None, value, BASE)), BASE) == Key("", value)


def test_text_of_resolves_escapes() -> None:
    assert text_of(_ei("a\\F\\b\\S\\c\\E\\d^ESKO").ei_1) == "a|b^c\\d"

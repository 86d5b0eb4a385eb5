"""The school welfare record's CSV export into the shared plan, as the school system sees it.

The export (`mappings/specs/school-welfare.yaml`) has one row per support measure agreed with
a student; the rows of one student (by henkilötunnus) are one client record. `read_records(data)`
reads and checks them (pure): a record is a `mappings.plan.ClientRecord`, or a `Rejected` naming
the lines, the column and the reason. A record is rejected whole when any of its rows is: a
henkilötunnus whose check character is wrong, a support-measure code the ConceptMap
`school-support-measure` does not translate, a missing professional, a waiting time that is not
a whole number, two rows of the same measure that say different things, a row with the wrong
number of fields (if its henkilötunnus can still be read; otherwise that row alone). Rows
repeated exactly are one row. A waiting time over seven working days is written and noted.
A row whose `Sektori` names another sector is another sector's activity, as `to_csv` shows it:
it is not the school's to write, and is left out.

`to_csv(hetu, plan)` is the way back: the plan as the school system sees it (the gateway's
redaction applied), one row per activity of every sector, the school's own with their local
codes, so that an export imported again changes nothing.

`SCHOOL` is the sector the records are written for (`mappings.plan.import_records`), given the
school system's organisation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from gateway.fhir.hetu import HetuError, parse_hetu
from gateway.fhir.systems import FIRST_APPOINTMENT_WAIT
from mappings.plan import Activity, ClientRecord, Rejected, Sector, activity_id, owner_of
from mappings.tables import decode, read_table
from mappings.translate import ConceptMapTable

__all__ = ["COLUMNS", "LOCAL_MEASURE_SYSTEM", "read_records", "school_sector", "to_csv"]

LOCAL_MEASURE_SYSTEM = "https://yhteys.fi/fhir/CodeSystem/school-admin-measure"
"""The student administration system's support-measure codes (the ConceptMap's source)."""
COLUMNS: dict[str, tuple[str, ...]] = {
    "hetu": ("Oppilaan henkilötunnus", "Elevens personbeteckning"),
    "code": ("Tukitoimen koodi", "Stödåtgärdens kod"),
    "measure": ("Sovittu tukitoimi", "Överenskommen stödåtgärd"),
    "professional": ("Kuraattori tai psykologi", "Kurator eller psykolog"),
    "school": ("Koulu", "Skola"),
    "meetings": ("Tapaamiset", "Träffar"),
    "waiting": ("Odotusaika ensimmäiseen tapaamiseen (arkipäivää)", "Väntetid till första träffen (vardagar)"),
    "sector": ("Sektori", "Sektor"),
}
"""The export's columns by the names used here, each with its Finnish and Swedish heading."""
_OPTIONAL = frozenset({"measure", "school", "meetings", "waiting", "sector"})
_SECTOR = "school-welfare"
_MAX_WAIT = 7
"""Working days within which the law expects the first appointment."""

_Row = tuple[int, Mapping[str, str] | None, str | None]
"""A row of the export: its line, its values (None if broken) and what is wrong with it."""


def school_sector(organization: str) -> Sector:
    """The school welfare sector, its system of `organization`."""
    return Sector(
        _SECTOR,
        "School welfare",
        ("school-curator", "school-psychologist"),
        organization,
        COLUMNS["hetu"][0],
        COLUMNS["professional"][0],
    )


def read_records(data: bytes, measures: ConceptMapTable | None = None) -> list[ClientRecord | Rejected]:
    """The export's client records, each checked; see the module doc. `TableError` if the
    export as a whole cannot be read (no header, a required column missing)."""
    table = measures or ConceptMapTable.load("school-support-measure")
    grouped: dict[str, list[_Row]] = {}
    results: list[ClientRecord | Rejected] = []
    lines: list[str] | None = None  # the export's text lines, split once if a row is broken
    for row in read_table(data, COLUMNS, _OPTIONAL):
        if row.problem is None and row.values.get("sector", _SECTOR) not in ("", _SECTOR):
            continue  # another sector's activity, as an export shows it: read, not written
        if row.problem is None:
            grouped.setdefault(row.values["hetu"].upper(), []).append((row.line, row.values, None))
            continue
        lines = decode(data)[0].splitlines() if lines is None else lines
        hetu = _readable_hetu(lines, row.line)
        if hetu is None:
            results.append(Rejected(None, (row.line,), "", row.problem))
        else:
            grouped.setdefault(hetu, []).append((row.line, None, row.problem))
    results += [_record(hetu, rows, table) for hetu, rows in grouped.items()]
    return sorted(results, key=lambda r: r.lines[0])


def _record(hetu: str, rows: list[_Row], table: ConceptMapTable) -> ClientRecord | Rejected:
    lines = tuple(line for line, _, _ in rows)
    broken = [(line, problem) for line, _, problem in rows if problem is not None]
    if broken:
        return Rejected(hetu, lines, "", f"line {broken[0][0]}: {broken[0][1]}")
    try:
        parse_hetu(hetu)
    except HetuError as exc:
        return Rejected(None, lines, COLUMNS["hetu"][0], str(exc))
    measures: dict[str, Activity] = {}
    for line, values, _ in rows:
        assert values is not None
        measure = _measure(values, table)
        if isinstance(measure, tuple):
            column, reason = measure
            return Rejected(hetu, lines, COLUMNS[column][0], f"line {line}: {reason}")
        if measure.key in measures and measures[measure.key] != measure:
            return Rejected(hetu, lines, COLUMNS["code"][0], f"line {line}: measure {measure.key!r} twice, differently")
        same = [
            code
            for code in measures
            if code != measure.key and activity_id(_SECTOR, code) == activity_id(_SECTOR, measure.key)
        ]
        if same:
            reason = f"line {line}: the codes {same[0]!r} and {measure.key!r} would be one activity"
            return Rejected(hetu, lines, COLUMNS["code"][0], reason)
        measures[measure.key] = measure
    activities = tuple(measures[code] for code in sorted(measures))
    notes = tuple(
        f"{activity.key}: {wait} working days to the first appointment, more than {_MAX_WAIT}"
        for activity in activities
        for wait in _waits(activity)
        if wait > _MAX_WAIT
    )
    return ClientRecord(hetu, lines, activities, notes)


def _measure(values: Mapping[str, str], table: ConceptMapTable) -> Activity | tuple[str, str]:
    """One row as an `Activity`, or the column and reason it is rejected for."""
    code = values["code"]
    if not code:
        return "code", "no support-measure code"
    target = table.translate(LOCAL_MEASURE_SYSTEM, code)
    if target is None:
        return "code", f"the support-measure code {code!r} is not known (ConceptMap school-support-measure)"
    if not values["professional"]:
        return "professional", "no curator or psychologist named"
    waiting = values.get("waiting", "")
    extensions: tuple[Mapping[str, Any], ...] = ()
    if waiting:
        if not waiting.isascii() or not waiting.isdigit():
            return "waiting", f"the waiting time {waiting[:20]!r} is not a whole number of working days"
        extensions = ({"url": FIRST_APPOINTMENT_WAIT, "valueUnsignedInt": int(waiting)},)
    return Activity(
        code,
        (target.system, target.code, target.display),
        values["professional"],
        description=values.get("measure", ""),
        location=values.get("school", ""),
        scheduled=values.get("meetings", ""),
        extensions=extensions,
    )


def _waits(activity: Activity) -> list[int]:
    return [int(e["valueUnsignedInt"]) for e in activity.extensions if e.get("url") == FIRST_APPOINTMENT_WAIT]


def _readable_hetu(text: list[str], line: int) -> str | None:
    """The henkilötunnus at the start of line `line` of `text` (a broken row), if one can be read there."""
    first = text[line - 1].split(";", 1)[0].strip().strip('"').upper() if 0 < line <= len(text) else ""
    try:
        return parse_hetu(first).code
    except HetuError:
        return None


def to_csv(hetu: str, plan: Mapping[str, Any], measures: ConceptMapTable | None = None) -> bytes:
    """The plan's activities as the school's export (UTF-8 with a BOM, `;`, Finnish headings)."""
    table = measures or ConceptMapTable.load("school-support-measure")
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([headings[0] for headings in COLUMNS.values()])
    for activity in plan.get("activity", []) or []:
        detail = activity.get("detail", {}) if isinstance(activity, Mapping) else {}
        coding: Mapping[str, Any] = next(iter(detail.get("code", {}).get("coding", []) or []), {})
        sector = owner_of(activity) or ""
        target = (str(coding.get("system", "")), str(coding.get("code", "")))
        code = table.source_of(LOCAL_MEASURE_SYSTEM, target) if sector == _SECTOR else None
        performer: Mapping[str, Any] = next(iter(detail.get("performer", []) or []), {})
        waits = [
            str(e.get("valueUnsignedInt"))
            for e in activity.get("extension", [])
            if e.get("url") == FIRST_APPOINTMENT_WAIT
        ]
        values = {
            "hetu": hetu,
            "code": code or coding.get("code", ""),
            "measure": detail.get("description", ""),
            "professional": performer.get("display", ""),
            "school": detail.get("location", {}).get("display", ""),
            "meetings": detail.get("scheduledString", ""),
            "waiting": waits[0] if waits else "",
            "sector": sector,
        }
        writer.writerow([values[name] for name in COLUMNS])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")

"""The school welfare record's CSV export into the shared plan, as the school system sees it.

The export (`mappings/specs/school-welfare.yaml`) has one row per support measure agreed with
a student; the rows of one student (by henkilötunnus) are one client record. `read_records(data)`
reads and checks them (pure): a record is a `SchoolRecord`, or a `Rejected` naming the lines,
the column and the reason. A record is rejected whole when any of its rows is: a henkilötunnus
whose check character is wrong, a support-measure code the ConceptMap `school-support-measure`
does not translate, a missing professional, a waiting time that is not a whole number, two rows
of the same measure that say different things, a row with the wrong number of fields (if its
henkilötunnus can still be read; otherwise that row alone). Rows repeated exactly are one row.

`import_school(client, records, dry_run=...)` writes each record through the gateway as the
school system (`mappings.client.GatewayClient`) and answers one `Outcome` per record:
the student is found by the henkilötunnus (never created), and their one active shared plan;
each professional is found in the directory by name, among the school curators and
psychologists of the system's organisation; the plan's school-welfare activities become
exactly those of the record (each keyed by `activity_id` of its code; the other sectors'
activities and every part hidden from the school are left as the gateway keeps them), in one
update with If-Match. A plan already so is `unchanged` and not written, so a re-run changes no
version. With `dry_run` nothing is written: the outcome says what would be done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from gateway.fhir.hetu import HetuError, parse_hetu
from gateway.fhir.systems import (
    FIRST_APPOINTMENT_WAIT,
    HETU_SYSTEM,
    OWNING_SECTOR,
    SECTOR_SYSTEM,
    TEAM_ROLE_SYSTEM,
)
from mappings.client import GatewayClient
from mappings.tables import decode, read_table
from mappings.translate import ConceptMapTable

__all__ = [
    "COLUMNS",
    "LOCAL_MEASURE_SYSTEM",
    "Measure",
    "Outcome",
    "Rejected",
    "SchoolRecord",
    "activity_id",
    "import_school",
    "professional_query",
    "read_records",
]

LOCAL_MEASURE_SYSTEM = "https://yhteys.fi/fhir/CodeSystem/school-admin-measure"
"""The student administration system's support-measure codes (the ConceptMap's source)."""
SECTOR = "school-welfare"
COLUMNS: dict[str, tuple[str, ...]] = {
    "hetu": ("Oppilaan henkilötunnus", "Elevens personbeteckning"),
    "code": ("Tukitoimen koodi", "Stödåtgärdens kod"),
    "measure": ("Sovittu tukitoimi", "Överenskommen stödåtgärd"),
    "professional": ("Kuraattori tai psykologi", "Kurator eller psykolog"),
    "school": ("Koulu", "Skola"),
    "meetings": ("Tapaamiset", "Träffar"),
    "waiting": ("Odotusaika ensimmäiseen tapaamiseen (arkipäivää)", "Väntetid till första träffen (vardagar)"),
}
"""The export's columns by the names used here, each with its Finnish and Swedish heading."""
_OPTIONAL = frozenset({"measure", "school", "meetings", "waiting"})
_PROFESSIONAL_ROLES = ("school-curator", "school-psychologist")
_MAX_WAIT = 7
"""Working days within which the law expects the first appointment."""

Status = Literal["created", "updated", "unchanged", "rejected"]


@dataclass(frozen=True)
class Measure:
    """One agreed support measure of a student, as checked."""

    code: str
    target: tuple[str, str, str]
    """The translated code: system, code, display."""
    description: str
    professional: str
    school: str
    meetings: str
    waiting: int | None


@dataclass(frozen=True)
class SchoolRecord:
    """One student's record: the henkilötunnus, the lines it came from, its measures."""

    hetu: str
    lines: tuple[int, ...]
    measures: tuple[Measure, ...]


@dataclass(frozen=True)
class Rejected:
    """A record (or a row) that is not written: where, which column, and why."""

    hetu: str | None
    lines: tuple[int, ...]
    column: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What became of one record: its status, the plan it went to, why (if rejected), notes."""

    lines: tuple[int, ...]
    status: Status
    client: str = ""
    plan: str = ""
    column: str = ""
    reason: str = ""
    notes: tuple[str, ...] = ()
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        """The outcome as the JSON report writes it."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.__dict__.items()}


def activity_id(code: str) -> str:
    """The id of the plan activity of the school's measure `code` (the upsert key)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", code.strip()).strip("-").lower()
    return f"{SECTOR}-{slug}"[:64]


def professional_query(name: str) -> list[tuple[str, str]]:
    """The directory search for a professional called `name` ("Laura Heikkinen"): by the last
    word of it (the store matches a name part); the answers are then matched by the whole name."""
    words = name.split()
    return [("name", words[-1] if words else name)]


def _called(practitioner: Mapping[str, Any], name: str) -> bool:
    """Whether one of `practitioner`'s names, given names then family name, is `name`."""
    wanted = " ".join(name.split()).casefold()
    for human in practitioner.get("name", []) or []:
        parts = [*human.get("given", []), human.get("family", "")] if isinstance(human, Mapping) else []
        if " ".join(str(p) for p in parts if p).casefold() == wanted:
            return True
    return False


def read_records(data: bytes, measures: ConceptMapTable | None = None) -> list[SchoolRecord | Rejected]:
    """The export's client records, each checked; see the module doc. `TableError` if the
    export as a whole cannot be read (no header, a required column missing)."""
    table = measures or ConceptMapTable.load("school-support-measure")
    rows = read_table(data, COLUMNS, _OPTIONAL)
    grouped: dict[str, list[tuple[int, Mapping[str, str] | None, str | None]]] = {}
    results: list[SchoolRecord | Rejected] = []
    for row in rows:
        if row.problem is not None:
            hetu = _readable_hetu(data, row.line)
            if hetu is None:
                results.append(Rejected(None, (row.line,), "", row.problem))
                continue
            grouped.setdefault(hetu, []).append((row.line, None, row.problem))
            continue
        grouped.setdefault(row.values["hetu"].upper(), []).append((row.line, row.values, None))
    for hetu, lines in grouped.items():
        results.append(_record(hetu, lines, table))
    return sorted(results, key=lambda r: r.lines[0])


def _record(
    hetu: str, rows: list[tuple[int, Mapping[str, str] | None, str | None]], table: ConceptMapTable
) -> SchoolRecord | Rejected:
    lines = tuple(line for line, _, _ in rows)
    heading = COLUMNS["hetu"][0]
    broken = [(line, problem) for line, _, problem in rows if problem is not None]
    if broken:
        return Rejected(hetu, lines, "", f"line {broken[0][0]}: {broken[0][1]}")
    try:
        parse_hetu(hetu)
    except HetuError as exc:
        return Rejected(None, lines, heading, str(exc))
    measures: dict[str, Measure] = {}
    for line, values, _ in rows:
        assert values is not None
        measure = _measure(values, table)
        if isinstance(measure, tuple):
            column, reason = measure
            return Rejected(hetu, lines, COLUMNS[column][0], f"line {line}: {reason}")
        if measure.code in measures and measures[measure.code] != measure:
            return Rejected(
                hetu, lines, COLUMNS["code"][0], f"line {line}: measure {measure.code!r} twice, differently"
            )
        same = [code for code in measures if code != measure.code and activity_id(code) == activity_id(measure.code)]
        if same:
            reason = f"line {line}: the codes {same[0]!r} and {measure.code!r} would be one activity"
            return Rejected(hetu, lines, COLUMNS["code"][0], reason)
        measures[measure.code] = measure
    return SchoolRecord(hetu, lines, tuple(measures[code] for code in sorted(measures)))


def _measure(values: Mapping[str, str], table: ConceptMapTable) -> Measure | tuple[str, str]:
    """One row as a `Measure`, or the column and reason it is rejected for."""
    code = values["code"]
    if not code:
        return "code", "no support-measure code"
    target = table.translate(LOCAL_MEASURE_SYSTEM, code)
    if target is None:
        return "code", f"the support-measure code {code!r} is not known (ConceptMap school-support-measure)"
    if not values["professional"]:
        return "professional", "no curator or psychologist named"
    waiting_text = values.get("waiting", "")
    waiting = None
    if waiting_text:
        if not waiting_text.isascii() or not waiting_text.isdigit():
            return "waiting", f"the waiting time {waiting_text[:20]!r} is not a whole number of working days"
        waiting = int(waiting_text)
    return Measure(
        code,
        (target.system, target.code, target.display),
        values.get("measure", ""),
        values["professional"],
        values.get("school", ""),
        values.get("meetings", ""),
        waiting,
    )


def _readable_hetu(data: bytes, line: int) -> str | None:
    """The henkilötunnus at the start of a broken row, if one can be read there."""
    text = decode(data)[0].splitlines()
    first = text[line - 1].split(";", 1)[0].strip().strip('"').upper() if 0 < line <= len(text) else ""
    try:
        return parse_hetu(first).code
    except HetuError:
        return None


async def import_school(
    client: GatewayClient,
    records: Sequence[SchoolRecord | Rejected],
    *,
    organization: str,
    dry_run: bool = False,
    advance: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Write each of `records` through `client` (the school system of `organization`); see the
    module doc. `advance` is called after each record (a progress bar)."""
    outcomes = []
    for record in records:
        if isinstance(record, Rejected):
            outcome = Outcome(record.lines, "rejected", column=record.column, reason=record.reason, dry_run=dry_run)
        else:
            outcome = await _import_one(client, record, organization, dry_run)
        outcomes.append(outcome)
        if advance is not None:
            advance()
    return outcomes


class _Refused(Exception):
    def __init__(self, column: str, reason: str) -> None:
        self.column, self.reason = column, reason


async def _import_one(client: GatewayClient, record: SchoolRecord, organization: str, dry_run: bool) -> Outcome:
    try:
        patient = await _one(client, "Patient", [("identifier", f"{HETU_SYSTEM}|{record.hetu}")], "student")
        subject = f"Patient/{patient['id']}"
        plans = [("subject", subject), ("category", "shared-plan"), ("status", "active")]
        plan = await _one(client, "CarePlan", plans, "active shared plan of the student")
        performers = {
            m.professional: await _professional(client, m.professional, organization) for m in record.measures
        }
    except _Refused as refused:
        return Outcome(record.lines, "rejected", column=refused.column, reason=refused.reason, dry_run=dry_run)
    wanted = [_activity(measure, performers[measure.professional]) for measure in record.measures]
    others = [a for a in plan.get("activity", []) if _owner(a) != SECTOR]
    ours = [a for a in plan.get("activity", []) if _owner(a) == SECTOR]
    notes = tuple(
        f"{m.code}: {m.waiting} working days to the first appointment, more than {_MAX_WAIT}"
        for m in record.measures
        if m.waiting is not None and m.waiting > _MAX_WAIT
    )
    seen = Outcome(record.lines, "unchanged", subject, f"CarePlan/{plan['id']}", notes=notes, dry_run=dry_run)
    if _canonical(ours) == _canonical(wanted):
        return seen
    if dry_run:
        return replace(seen, status="updated")
    updated = {**plan, "activity": others + wanted}
    etag = f'W/"{plan["meta"]["versionId"]}"'
    answer = await client.request("PUT", f"CarePlan/{plan['id']}", body=updated, headers={"If-Match": etag})
    if answer.status_code != 200:
        return replace(seen, status="rejected", reason=_why(answer))
    return replace(seen, status="updated")


async def _one(client: GatewayClient, resource_type: str, params: list[tuple[str, str]], what: str) -> dict[str, Any]:
    """The one resource a search finds; `_Refused` if none or several (or the search fails)."""
    answer = await client.request("GET", resource_type, params=params)
    if answer.status_code != 200:
        raise _Refused("", f"the {what} could not be searched: {_why(answer)}")
    found = [
        e["resource"]
        for e in answer.json().get("entry", [])
        if e.get("resource", {}).get("resourceType") == resource_type
    ]
    if len(found) != 1:
        raise _Refused(COLUMNS["hetu"][0], f"{'no' if not found else 'more than one'} {what} found")
    resource: dict[str, Any] = found[0]
    return resource


async def _professional(client: GatewayClient, name: str, organization: str) -> dict[str, str]:
    """The PractitionerRole reference of the school curator or psychologist called `name`."""
    column = COLUMNS["professional"][0]
    people = await client.request("GET", "Practitioner", params=professional_query(name))
    entries = people.json().get("entry", []) if people.status_code == 200 else []
    ids = [e["resource"]["id"] for e in entries if _called(e.get("resource", {}), name)]
    roles: list[str] = []
    for practitioner in ids:
        params = [
            ("practitioner", f"Practitioner/{practitioner}"),
            ("organization", organization),
            ("role", ",".join(f"{TEAM_ROLE_SYSTEM}|{role}" for role in _PROFESSIONAL_ROLES)),
        ]
        answer = await client.request("GET", "PractitionerRole", params=params)
        if answer.status_code == 200:
            roles += [e["resource"]["id"] for e in answer.json().get("entry", [])]
    if len(roles) != 1:
        count = "no" if not roles else "more than one"
        raise _Refused(column, f"{count} school curator or psychologist called {name!r} in {organization}")
    return {"reference": f"PractitionerRole/{roles[0]}", "display": name}


def _activity(measure: Measure, performer: Mapping[str, str]) -> dict[str, Any]:
    """The plan activity of one measure (see the spec's rows)."""
    system, code, display = measure.target
    extension: list[dict[str, Any]] = [
        {"url": OWNING_SECTOR, "valueCoding": {"system": SECTOR_SYSTEM, "code": SECTOR, "display": "School welfare"}}
    ]
    if measure.waiting is not None:
        extension.append({"url": FIRST_APPOINTMENT_WAIT, "valueUnsignedInt": measure.waiting})
    detail: dict[str, Any] = {
        "code": {
            "coding": [{"system": system, "code": code, "display": display}],
            "text": measure.description or display,
        },
        "status": "in-progress",
        "performer": [dict(performer)],
    }
    if measure.school:
        detail["location"] = {"display": measure.school}
    if measure.meetings:
        detail["scheduledString"] = measure.meetings
    if measure.description:
        detail["description"] = measure.description
    return {"id": activity_id(measure.code), "extension": extension, "detail": detail}


def _owner(activity: Mapping[str, Any]) -> str | None:
    for extension in activity.get("extension", []) or []:
        if isinstance(extension, Mapping) and extension.get("url") == OWNING_SECTOR:
            coding = extension.get("valueCoding")
            return coding.get("code") if isinstance(coding, Mapping) else None
    return None


def _canonical(activities: list[dict[str, Any]]) -> str:
    return json.dumps(sorted(activities, key=lambda a: str(a.get("id"))), sort_keys=True, ensure_ascii=False)


def _why(answer: Any) -> str:
    """The diagnostics of an OperationOutcome answer, or its status."""
    try:
        issues = answer.json().get("issue", [])
    except ValueError:
        issues = []
    texts = [str(i.get("diagnostics") or i.get("details", {}).get("text") or "") for i in issues if isinstance(i, dict)]
    return "; ".join(t for t in texts if t) or f"HTTP {answer.status_code}"

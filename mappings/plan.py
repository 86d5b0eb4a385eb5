"""A sector's activities in a client's shared plan, written through the gateway as that sector's system.

The school welfare and youth services exports say, per client, which measures the sector has
agreed with them. `import_records(client, records, sector, ...)` makes each client's plan say
the same, and answers one `Outcome` per record:
- the client is found by the henkilötunnus (never created), and their one active shared plan;
- each professional is found in the directory by name (`professional_query`, matched by the
  whole name), among the PractitionerRoles of the sector's roles in the system's organisation;
- the plan's activities owned by the sector become exactly the record's, each keyed by
  `activity_id(sector, code)` of its local code; the other sectors' activities, and every part
  hidden from the system, are left as the gateway keeps them; one update, with If-Match;
- a plan already so is `unchanged` and is not written, so a re-run changes no version; with
  `dry_run` nothing is written and the outcome says what would be done;
- a record the reader rejected (`Rejected`), a client or plan not found or found twice, a
  professional not found or ambiguous, or a refusal of the gateway (its OperationOutcome's
  text) makes the outcome `rejected`, and nothing of that record is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from gateway.fhir.systems import HETU_SYSTEM, OWNING_SECTOR, SECTOR_SYSTEM, TEAM_ROLE_SYSTEM
from mappings.client import GatewayClient, outcome_text

__all__ = [
    "Activity",
    "ClientRecord",
    "Outcome",
    "PlanNotFound",
    "Rejected",
    "Sector",
    "Status",
    "activity_id",
    "import_records",
    "owner_of",
    "professional_query",
    "read_plan",
]

Status = Literal["created", "updated", "unchanged", "rejected"]


@dataclass(frozen=True)
class Sector:
    """The sector whose activities an import sets: its code and display, the team roles its
    professionals hold, the organisation of its system, and the source's column (or field)
    names for the client and the professional (named in rejections)."""

    code: str
    display: str
    roles: tuple[str, ...]
    organization: str
    client_field: str
    professional_field: str


@dataclass(frozen=True)
class Activity:
    """One agreed measure: its local code, the translated code (system, code, display), and
    what the plan activity says of it; `extensions` are further activity extensions."""

    key: str
    target: tuple[str, str, str]
    professional: str
    description: str = ""
    location: str = ""
    scheduled: str = ""
    progress: str = ""
    extensions: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ClientRecord:
    """One client's record: the henkilötunnus, where it came from (lines or positions), its
    activities, and notes for the report."""

    hetu: str
    lines: tuple[int, ...]
    activities: tuple[Activity, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """A record (or a row) that is not written: where, which column or field, and why."""

    hetu: str | None
    lines: tuple[int, ...]
    column: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What became of one record: its status, the client and plan, why (if rejected), notes."""

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


def activity_id(sector: str, code: str) -> str:
    """The id of the plan activity of `sector`'s measure `code` (the upsert key)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", code.strip()).strip("-").lower()
    return f"{sector}-{slug}"[:64]


def professional_query(name: str) -> list[tuple[str, str]]:
    """The directory search for a professional called `name` ("Laura Heikkinen"): by the last
    word of it (the store matches a name part); the answers are then matched by the whole name."""
    words = name.split()
    return [("name", words[-1] if words else name)]


async def import_records(
    client: GatewayClient,
    records: Sequence[ClientRecord | Rejected],
    sector: Sector,
    *,
    dry_run: bool = False,
    advance: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Write each of `records` through `client`; see the module doc. `advance` is called after
    each record (a progress bar)."""
    outcomes = []
    for record in records:
        if isinstance(record, Rejected):
            outcome = Outcome(record.lines, "rejected", column=record.column, reason=record.reason, dry_run=dry_run)
        else:
            outcome = await _import_one(client, record, sector, dry_run)
        outcomes.append(outcome)
        if advance is not None:
            advance()
    return outcomes


class _Refused(Exception):
    def __init__(self, column: str, reason: str) -> None:
        self.column, self.reason = column, reason


async def _import_one(client: GatewayClient, record: ClientRecord, sector: Sector, dry_run: bool) -> Outcome:
    try:
        subject, plan = await _plan_of(client, record.hetu, sector)
        names = dict.fromkeys(activity.professional for activity in record.activities)
        performers = {name: await _professional(client, name, sector) for name in names}
    except _Refused as refused:
        return Outcome(record.lines, "rejected", column=refused.column, reason=refused.reason, dry_run=dry_run)
    wanted = [_activity(sector, activity, performers[activity.professional]) for activity in record.activities]
    activities = plan.get("activity", [])
    others = [a for a in activities if owner_of(a) != sector.code]
    ours = [a for a in activities if owner_of(a) == sector.code]
    seen = Outcome(record.lines, "unchanged", subject, f"CarePlan/{plan['id']}", notes=record.notes, dry_run=dry_run)
    if _canonical(ours) == _canonical(wanted):
        return seen
    if dry_run:
        return replace(seen, status="updated")
    updated = {**plan, "activity": others + wanted}
    etag = f'W/"{plan["meta"]["versionId"]}"'
    answer = await client.request("PUT", f"CarePlan/{plan['id']}", body=updated, headers={"If-Match": etag})
    if answer.status_code != 200:
        return replace(seen, status="rejected", reason=outcome_text(answer))
    return replace(seen, status="updated")


class PlanNotFound(LookupError):
    """The client or their one active shared plan is not to be found, as the system sees it."""


async def read_plan(client: GatewayClient, hetu: str, sector: Sector) -> dict[str, Any]:
    """The active shared plan of the client `hetu`, as the sector's system may see it (the
    gateway's redaction applied); `PlanNotFound` saying why if there is none to see."""
    try:
        return (await _plan_of(client, hetu, sector))[1]
    except _Refused as refused:
        raise PlanNotFound(refused.reason) from None


async def _plan_of(client: GatewayClient, hetu: str, sector: Sector) -> tuple[str, dict[str, Any]]:
    """The client's reference and their one active shared plan; `_Refused` if not found."""
    patient = await _one(client, "Patient", [("identifier", f"{HETU_SYSTEM}|{hetu}")], "client", sector)
    subject = f"Patient/{patient['id']}"
    plans = [("subject", subject), ("category", "shared-plan"), ("status", "active")]
    return subject, await _one(client, "CarePlan", plans, "active shared plan of the client", sector)


async def _one(
    client: GatewayClient, resource_type: str, params: list[tuple[str, str]], what: str, sector: Sector
) -> dict[str, Any]:
    """The one resource a search finds; `_Refused` if none or several (or the search fails)."""
    answer = await client.request("GET", resource_type, params=params)
    if answer.status_code != 200:
        raise _Refused("", f"the {what} could not be searched: {outcome_text(answer)}")
    entries = answer.json().get("entry", [])
    found = [e["resource"] for e in entries if e.get("resource", {}).get("resourceType") == resource_type]
    if len(found) != 1:
        raise _Refused(sector.client_field, f"{'no' if not found else 'more than one'} {what} found")
    resource: dict[str, Any] = found[0]
    return resource


async def _professional(client: GatewayClient, name: str, sector: Sector) -> dict[str, str]:
    """The PractitionerRole reference of the sector's professional called `name`."""
    people = await client.request("GET", "Practitioner", params=professional_query(name))
    entries = people.json().get("entry", []) if people.status_code == 200 else []
    ids = [e["resource"]["id"] for e in entries if _called(e.get("resource", {}), name)]
    roles: list[str] = []
    for practitioner in ids:
        params = [
            ("practitioner", f"Practitioner/{practitioner}"),
            ("organization", sector.organization),
            ("role", ",".join(f"{TEAM_ROLE_SYSTEM}|{role}" for role in sector.roles)),
        ]
        answer = await client.request("GET", "PractitionerRole", params=params)
        if answer.status_code == 200:
            roles += [e["resource"]["id"] for e in answer.json().get("entry", [])]
    if len(roles) != 1:
        count = "no" if not roles else "more than one"
        who = " or ".join(sector.roles)
        raise _Refused(sector.professional_field, f"{count} {who} called {name!r} in {sector.organization}")
    return {"reference": f"PractitionerRole/{roles[0]}", "display": name}


def _called(practitioner: Mapping[str, Any], name: str) -> bool:
    """Whether one of `practitioner`'s names, given names then family name, is `name`."""
    wanted = " ".join(name.split()).casefold()
    for human in practitioner.get("name", []) or []:
        parts = [*human.get("given", []), human.get("family", "")] if isinstance(human, Mapping) else []
        if " ".join(str(p) for p in parts if p).casefold() == wanted:
            return True
    return False


def _activity(sector: Sector, activity: Activity, performer: Mapping[str, str]) -> dict[str, Any]:
    """The plan activity of one measure."""
    system, code, display = activity.target
    owner = {
        "url": OWNING_SECTOR,
        "valueCoding": {"system": SECTOR_SYSTEM, "code": sector.code, "display": sector.display},
    }
    detail: dict[str, Any] = {
        "code": {
            "coding": [{"system": system, "code": code, "display": display}],
            "text": activity.description or display,
        },
        "status": "in-progress",
        "performer": [dict(performer)],
    }
    if activity.location:
        detail["location"] = {"display": activity.location}
    if activity.scheduled:
        detail["scheduledString"] = activity.scheduled
    if activity.description:
        detail["description"] = activity.description
    shown: dict[str, Any] = {
        "id": activity_id(sector.code, activity.key),
        "extension": [owner, *(dict(e) for e in activity.extensions)],
    }
    if activity.progress:
        shown["progress"] = [{"text": activity.progress}]
    shown["detail"] = detail
    return shown


def owner_of(activity: Mapping[str, Any]) -> str | None:
    """The sector that owns a plan activity (its `activity-owning-sector`), if it names one."""
    for extension in activity.get("extension", []) or []:
        if isinstance(extension, Mapping) and extension.get("url") == OWNING_SECTOR:
            coding = extension.get("valueCoding")
            return coding.get("code") if isinstance(coding, Mapping) else None
    return None


def _canonical(activities: list[dict[str, Any]]) -> str:
    return json.dumps(sorted(activities, key=lambda a: str(a.get("id"))), sort_keys=True, ensure_ascii=False)

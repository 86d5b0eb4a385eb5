"""The client's record as the psychiatry EHR may see it, as HL7 v2.5 PPR and PGL messages.

`read_record(client, hetu)` reads, through the gateway as the EHR's system (so the gateway's
redaction applies: nothing the EHR may not see is in it), the client, her problems
(Condition), her goals (Goal) and her one active team, every sector's. `record_messages(record,
now)` writes them, built with hl7apy and checked by parsing them back strictly:

- PPR^PC2 (structure PPR_PC1) with one PROBLEM group per problem: PRB-1 UP (DE for one entered
  in error), PRB-3 its code (ICD-10 as I10; a code of another system goes out as its text),
  PRB-4 its key (`mappings.psychiatry.fields.ei_of`: the EHR's own instance id for what it sent,
  else the shared plan's id in namespace `YHTEYS`), PRB-7 recorded, PRB-14 clinical status,
  PRB-16 onset, PRB-25 its sensitivity label;
- PGL^PC7 (structure PGL_PC6) with one GOAL group per goal: GOL-1 UP (or DE), GOL-3 its
  description (the EHR's goal code, 99YGOL, where it has one), GOL-4 its key, GOL-7 start,
  GOL-8 the first target date, GOL-16 achievement and GOL-18 life cycle status;
- the team's open memberships as ROL segments in the first group of the first message: one per
  role of a PractitionerRole member, ROL-3 the EHR's local role code where the ConceptMap
  `psychiatry-ehr-role` maps one back (99YROL), else our team-role code (99YTR), ROL-4 the
  PractitionerRole's id in namespace `YHTEYS`, ROL-5 the membership's start.

What the messages say maps back, through `mappings.psychiatry.careplan`, to exactly what the
store holds, so sending them back to the shared plan changes nothing. Line breaks in texts go
out as spaces (hl7apy cannot carry `\\X0D\\`). No message is written for a kind with nothing in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from gateway.fhir.labels import ETH, PSY, R
from gateway.fhir.systems import HETU_SYSTEM, TEAM_ROLE_SYSTEM
from mappings.client import GatewayClient, outcome_text
from mappings.psychiatry.ack import Acknowledgement, escape, new_control_id
from mappings.psychiatry.adt import parse_strict
from mappings.psychiatry.careplan import (
    CONDITION_CODE_SYSTEMS,
    EHR_GOAL_SYSTEM,
    EHR_ROLE_SYSTEM,
    NAMESPACE_BASE,
    OUR_ROLE_CODES,
)
from mappings.psychiatry.fields import SHARED_NAMESPACE, ei_of, hl7_ts
from mappings.translate import ConceptMapTable

__all__ = ["PsychiatryRecord", "RecordNotFound", "read_record", "record_messages"]

_HETU_OID = HETU_SYSTEM.removeprefix("urn:oid:")
_CE3 = {system: name for name, system in CONDITION_CODE_SYSTEMS.items() if name == "I10"}


class RecordNotFound(LookupError):
    """The client cannot be found (or read) as the EHR's system sees it; the message says why."""


@dataclass(frozen=True)
class PsychiatryRecord:
    """The client, her problems, goals and active team as the EHR's system sees them."""

    hetu: str
    patient: Mapping[str, Any]
    conditions: tuple[Mapping[str, Any], ...]
    goals: tuple[Mapping[str, Any], ...]
    team: Mapping[str, Any] | None


async def read_record(client: GatewayClient, hetu: str, *, page_size: int = 100) -> PsychiatryRecord:
    """The record of the client `hetu` through `client` (searches read `page_size` a page, every
    page); `RecordNotFound` if there is none to see."""
    patients = await _search(client, "Patient", [("identifier", f"{HETU_SYSTEM}|{hetu}")], page_size)
    if len(patients) != 1:
        raise RecordNotFound(f"{'no' if not patients else 'more than one'} client with this henkilötunnus")
    subject = f"Patient/{patients[0]['id']}"
    conditions = await _search(client, "Condition", [("subject", subject)], page_size)
    goals = await _search(client, "Goal", [("subject", subject)], page_size)
    teams = await _search(client, "CareTeam", [("subject", subject), ("status", "active")], page_size)
    return PsychiatryRecord(hetu, patients[0], tuple(conditions), tuple(goals), teams[0] if len(teams) == 1 else None)


async def _search(
    client: GatewayClient, resource_type: str, params: list[tuple[str, str]], page_size: int
) -> list[dict[str, Any]]:
    """Every match of a search, all pages; `RecordNotFound` if the gateway refuses it."""
    found: list[dict[str, Any]] = []
    answer = await client.request("GET", resource_type, params=[*params, ("_count", str(page_size))])
    while True:
        if answer.status_code != 200:
            raise RecordNotFound(f"the {resource_type} search was refused: {outcome_text(answer)}")
        bundle = answer.json()
        found += [
            e["resource"] for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType") == resource_type
        ]
        following = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
        if following is None:
            return found
        link = urlsplit(following)
        base = urlsplit(client.base_url).path.rstrip("/")
        if not link.path.startswith(base):
            raise RecordNotFound(f"the {resource_type} search's next page is not on the gateway ({following})")
        answer = await client.request("GET", link.path.removeprefix(base), params=parse_qsl(link.query))


def record_messages(record: PsychiatryRecord, now: datetime, roles: ConceptMapTable | None = None) -> list[str]:
    """The PPR and PGL messages (ER7, segments separated by CR) that say `record`; see the module doc."""
    table = roles or ConceptMapTable.load("psychiatry-ehr-role")
    members = _members(record.team, table) if record.team else []
    messages = []
    if record.conditions:
        messages.append(_problems(record, now, members))
        members = []
    if record.goals:
        messages.append(_goals(record, now, members))
    for message in messages:
        checked = parse_strict(message)
        if isinstance(checked, Acknowledgement):
            raise ValueError(f"a message written does not parse back: {checked.text}")
    return messages


def _message(structure: str, trigger: str, record: PsychiatryRecord, now: datetime) -> Any:
    message = Message(structure, version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msh = message.msh
    msh.msh_3, msh.msh_5 = "YHTEYS", "ESKO"
    msh.msh_7 = now.strftime("%Y%m%d%H%M%S%z")
    msh.msh_9 = f"{structure[:3]}^{trigger}^{structure}"
    msh.msh_10 = new_control_id()
    msh.msh_11 = "P"
    msh.msh_18 = "UNICODE UTF-8"
    pid = message.pid
    pid.pid_1 = "1"
    pid.pid_3 = f"{escape(record.hetu)}^^^&{_HETU_OID}&ISO^NNFIN"
    name: Mapping[str, Any] = next(iter(record.patient.get("name", [])), {})
    if name:
        pid.pid_5 = f"{_text(name.get('family', ''))}^{_text(' '.join(name.get('given', [])))}"
    if record.patient.get("birthDate"):
        pid.pid_7 = hl7_ts(str(record.patient["birthDate"]))
    return message


def _problems(record: PsychiatryRecord, now: datetime, members: Sequence[str]) -> str:
    message = _message("PPR_PC1", "PC2", record, now)
    for number, condition in enumerate(record.conditions):
        group = message.add_group("PPR_PC1_PROBLEM")
        prb = group.prb
        deleted = _code(condition.get("verificationStatus")) == "entered-in-error"
        prb.prb_1 = "DE" if deleted else "UP"
        prb.prb_2 = now.strftime("%Y%m%d%H%M%S%z")
        prb.prb_3 = _condition_code(condition.get("code", {}))
        prb.prb_4 = ei_of(_identifier(condition), str(condition["id"]), NAMESPACE_BASE)
        if condition.get("recordedDate"):
            prb.prb_7 = hl7_ts(str(condition["recordedDate"]))
        status = _code(condition.get("clinicalStatus"))
        if status and not deleted:
            prb.prb_14 = f"{escape(status)}^^HL70766"
        if condition.get("onsetDateTime"):
            prb.prb_16 = hl7_ts(str(condition["onsetDateTime"]))
        label = _sensitivity(condition)
        if label:
            prb.prb_25 = f"{label}^^HL70952"
        if number == 0:
            for rol in members:
                group.add_group("PPR_PC1_PROBLEM_ROLE").rol = rol
    er7: str = message.to_er7()
    return er7


def _goals(record: PsychiatryRecord, now: datetime, members: Sequence[str]) -> str:
    message = _message("PGL_PC6", "PC7", record, now)
    for number, goal in enumerate(record.goals):
        group = message.add_group("PGL_PC6_GOAL")
        gol = group.gol
        deleted = goal.get("lifecycleStatus") == "entered-in-error"
        gol.gol_1 = "DE" if deleted else "UP"
        gol.gol_2 = now.strftime("%Y%m%d%H%M%S%z")
        gol.gol_3 = _goal_description(goal.get("description", {}))
        gol.gol_4 = ei_of(_identifier(goal), str(goal["id"]), NAMESPACE_BASE)
        if goal.get("startDate"):
            gol.gol_7 = hl7_ts(str(goal["startDate"]))
        due = next((t["dueDate"] for t in goal.get("target", []) if t.get("dueDate")), None)
        if due:
            gol.gol_8 = hl7_ts(str(due))
        achievement = _code(goal.get("achievementStatus"))
        if achievement:
            gol.gol_16 = f"{escape(achievement)}^^HL7"
        if goal.get("lifecycleStatus") and not deleted:
            gol.gol_18 = f"{escape(str(goal['lifecycleStatus']))}^^HL7"
        if number == 0:
            for rol in members:
                group.add_group("PGL_PC6_GOAL_ROLE").rol = rol
    er7: str = message.to_er7()
    return er7


def _members(team: Mapping[str, Any], roles: ConceptMapTable) -> list[str]:
    """The ROL segments (ER7) of the team's open memberships of professionals."""
    segments = []
    for participant in team.get("participant", []):
        reference = str(participant.get("member", {}).get("reference", ""))
        if not reference.startswith("PractitionerRole/") or participant.get("period", {}).get("end"):
            continue
        start = participant.get("period", {}).get("start")
        for role in participant.get("role", []):
            for coding in role.get("coding", []):
                if coding.get("system") != TEAM_ROLE_SYSTEM:
                    continue
                code, display = str(coding.get("code", "")), _text(str(coding.get("display", "")))
                local = roles.source_of(EHR_ROLE_SYSTEM, (TEAM_ROLE_SYSTEM, code))
                ce = f"{escape(local)}^{display}^99YROL" if local else f"{escape(code)}^{display}^{OUR_ROLE_CODES}"
                person = f"{escape(reference.removeprefix('PractitionerRole/'))}^^^^^^^^{SHARED_NAMESPACE}"
                fields = ["ROL", "", "UP", ce, person, hl7_ts(str(start)) if start else ""]
                segments.append("|".join(fields).rstrip("|"))
    return segments


def _identifier(resource: Mapping[str, Any]) -> dict[str, Any] | None:
    """The EHR's own identifier of a problem or goal (an OID or one of its namespaces), if any."""
    for identifier in resource.get("identifier", []):
        system = str(identifier.get("system", ""))
        if system.startswith(f"{NAMESPACE_BASE}/") or (system.startswith("urn:oid:") and identifier.get("value")):
            return dict(identifier)
    return None


def _condition_code(concept: Mapping[str, Any]) -> str:
    text = _text(str(concept.get("text", "")))
    for coding in concept.get("coding", []):
        name = _CE3.get(str(coding.get("system", "")))
        if name and coding.get("code"):
            return f"{escape(str(coding['code']))}^{text or _text(str(coding.get('display', '')))}^{name}"
    return f"^{text}"


def _goal_description(concept: Mapping[str, Any]) -> str:
    text = _text(str(concept.get("text", "")))
    for coding in concept.get("coding", []):
        if coding.get("system") == EHR_GOAL_SYSTEM and coding.get("code"):
            return f"{escape(str(coding['code']))}^{text}^99YGOL"
    return f"^{text}"


def _sensitivity(resource: Mapping[str, Any]) -> str:
    """The PRB-25 code of a resource's labels: ETH or R before PSY ("" if none of them)."""
    codes = {(c.get("system"), c.get("code")) for c in resource.get("meta", {}).get("security", [])}
    for label in (ETH, R, PSY):
        if (label.system, label.code) in codes:
            return label.code
    return ""


def _code(concept: Any) -> str:
    """The code of the first Coding of a CodeableConcept ("" if none)."""
    codings = concept.get("coding", []) if isinstance(concept, Mapping) else []
    return str(codings[0].get("code", "")) if codings else ""


def _text(text: str) -> str:
    """`text` escaped for a field, its line breaks as spaces."""
    return escape(" ".join(text.splitlines()))

"""PPR^PC1-PC3 and PGL^PC6-PC8 from the psychiatry EHR: its problems, goals and team members in the client's plan.

`PlanMessages(client, organization).handle_parsed(message)` answers one parsed problem (PPR) or
goal (PGL) message, as the MLLP listener's handler (`mappings.psychiatry.inbound`) calls it.
The mapping is `mappings/specs/psychiatry-hl7v2.yaml`:

- PID names the client (`mappings.psychiatry.adt.identify`); nothing is written for a client
  the EHR's system cannot find.
- Each PRB becomes a Condition and each GOL a Goal, keyed by its instance id (PRB-4, GOL-4;
  `mappings.psychiatry.fields.instance_key`): a new one is created owned by hospital-psychiatry
  (`activity-owning-sector`), labelled PSY (with PRB-25's ETH or R if it says so), recorded
  or expressed by the acting professional; a goal in a problem's group (or a problem in a
  goal's) is linked to it by `Goal.addresses` when created. An existing one is updated in
  the elements the message carries (`mapped_condition`, `mapped_goal`) and only if they
  differ, so a repeated message changes no version.
- The action code (table 0287) of each segment decides: AD, UP and CO create or update; DE
  marks the problem or goal entered-in-error (it is never deleted) and must name one that
  exists; LI, UN and UC are not taken (AR).
- Each ROL is a member of the client's one active team (`CareTeam` participant): its role
  (ROL-3) translated by the ConceptMap `psychiatry-ehr-role`, or given in our team-role codes
  (coding system `99YTR`); the person (ROL-4) a professional of the EHR's organisation found by
  Valvira number, or a PractitionerRole of the shared plan (XCN.9 `YHTEYS`, as our exports name
  every member). AD and UP add a member of the EHR's organisation, owned by hospital-psychiatry
  and labelled PSY, or set the period of the open membership of that person in that role (a
  member named by `YHTEYS` must have one: nobody else joins the team through the EHR); DE ends
  it (ROL-6, else the message's date).

Everything one message says is one transaction through the gateway: all of it is written or
none. The gateway decides it as any write of the EHR's system (role policy: psychiatry writes
only its own problems, goals and team members; consent; audit); its refusal is the AE's text.
AA says what was created, updated and left unchanged; AE and AR carry ERR segments naming the
segment and field, and then nothing is written. With `dry_run` everything is read and checked
but the transaction is not sent (AA says what would be done); the gateway's own decision on the
write is then not known.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.fhir.labels import ETH, PSY, Label, R
from gateway.fhir.systems import (
    OWNING_SECTOR,
    PLAN_SECURITY_LABEL,
    SECTOR_SYSTEM,
    TEAM_ROLE_SYSTEM,
    VALVIRA_SYSTEM,
)
from mappings.client import GatewayClient, outcome_text
from mappings.psychiatry.ack import AckCode, Acknowledgement, ErrorCode, ErrorLocation, Problem
from mappings.psychiatry.adt import identify
from mappings.psychiatry.fields import (
    SHARED_NAMESPACE,
    FieldError,
    Key,
    coded,
    fhir_date,
    fhir_datetime,
    instance_key,
    text_of,
)
from mappings.translate import ConceptMapTable

__all__ = [
    "CONDITION_CODE_SYSTEMS",
    "EHR_GOAL_SYSTEM",
    "EHR_ROLE_SYSTEM",
    "NAMESPACE_BASE",
    "OUR_ROLE_CODES",
    "PlanMessages",
    "mapped_condition",
    "mapped_goal",
]

SECTOR = "hospital-psychiatry"
NAMESPACE_BASE = "https://yhteys.fi/fhir/sid/psychiatry-ehr"
"""Identifier systems of the EHR's own namespaces (EI.2 without an OID): `<base>/<namespace>`."""
EHR_ROLE_SYSTEM = "https://yhteys.fi/fhir/CodeSystem/psychiatry-ehr-role"
EHR_GOAL_SYSTEM = "https://yhteys.fi/fhir/CodeSystem/psychiatry-ehr-goal"
"""The EHR's goal codes (GOL-3 with coding system 99YGOL), kept as they are."""
OUR_ROLE_CODES = "99YTR"
"""ROL-3's coding system when the role is one of our team-role codes (as our exports write it)."""
CONDITION_CODE_SYSTEMS = {"I10": "http://hl7.org/fhir/sid/icd-10", "ICD10": "http://hl7.org/fhir/sid/icd-10"}
"""PRB-3's coding systems (CE.3) and the FHIR systems they are."""
_ROLE_SYSTEMS = {"99YROL": EHR_ROLE_SYSTEM, "HL70443": "http://terminology.hl7.org/CodeSystem/v2-0443"}
_KINDS = {"PPR": ("PC1", "PC2", "PC3"), "PGL": ("PC6", "PC7", "PC8")}
_UPSERT = frozenset({"AD", "UP", "CO"})
_DELETE = "DE"
_NOT_TAKEN = frozenset({"LI", "UN", "UC"})
_CLINICAL = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
_ACHIEVEMENT = frozenset(
    {"in-progress", "improving", "worsening", "no-change", "achieved", "sustaining", "not-achieved", "no-progress",
     "not-attainable"}
)  # fmt: skip
_LIFECYCLE = frozenset({"proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "rejected"})
_PRB25_LABELS: Mapping[str, Label] = {"PSY": PSY, "ETH": ETH, "R": R}
_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_GOAL_PROFILE = "https://yhteys.fi/fhir/StructureDefinition/ClientGoal"
_STORE_META = ("versionId", "lastUpdated", "source")


class _Bad(Exception):
    """What is wrong with the message: the ACK code and the problem."""

    def __init__(self, code: AckCode, problem: Problem) -> None:
        super().__init__(problem.text)
        self.code, self.problem = code, problem


@dataclass
class _Item:
    """One problem or goal of the message: its key, the resource it maps to, whether it is
    deleted, where it is, and the item (problem or goal) it is linked to, if any."""

    kind: str
    key: Key
    wanted: dict[str, Any]
    delete: bool
    location: ErrorLocation
    linked: _Item | None = None
    full_url: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")


@dataclass(frozen=True)
class _Member:
    """One ROL: the action, the role (a team-role Coding), the person's reference and display,
    the period given, and where it is."""

    delete: bool
    role: Mapping[str, str]
    member: str
    display: str
    start: str
    end: str
    location: ErrorLocation


def mapped_condition(condition: Mapping[str, Any]) -> dict[str, Any]:
    """The elements of a Condition that a PRB carries (those an update may change)."""
    keys = ("clinicalStatus", "verificationStatus", "code", "onsetDateTime", "recordedDate")
    return {key: condition[key] for key in keys if key in condition}


def mapped_goal(goal: Mapping[str, Any]) -> dict[str, Any]:
    """The elements of a Goal that a GOL carries (those an update may change)."""
    keys = ("lifecycleStatus", "description", "startDate", "target", "achievementStatus")
    return {key: goal[key] for key in keys if key in goal}


_MAPPED = {"Condition": mapped_condition, "Goal": mapped_goal}
_CREATED: Mapping[str, Mapping[str, Any]] = {
    "Condition": {"clinicalStatus": {"coding": [{"system": _CLINICAL_SYSTEM, "code": "active"}]}},
    "Goal": {"lifecycleStatus": "active"},
}
"""What a new problem or goal says where the message does not say it."""


class PlanMessages:
    """The handler of PPR and PGL messages of the EHR's system (`client`, of `organization`)."""

    def __init__(
        self, client: GatewayClient, organization: str, roles: ConceptMapTable | None = None, *, dry_run: bool = False
    ) -> None:
        self._client = client
        self._organization = organization
        self._roles = roles or ConceptMapTable.load("psychiatry-ehr-role")
        self._dry_run = dry_run

    @staticmethod
    def takes(code: str, event: str) -> bool:
        """Whether `code^event` is a message this handler answers."""
        return event in _KINDS.get(code, ())

    async def handle_parsed(self, message: Any) -> Acknowledgement:
        """The acknowledgement of one parsed PPR or PGL message; see the module doc."""
        code = message.msh.msh_9.msg_1.to_er7()
        found = await identify(self._client, message)
        if isinstance(found, Acknowledgement):
            return found
        when = message.msh.msh_7.to_er7()
        try:
            items, members = self._read(message, code, found)
            return await self._apply(found, items, members, fhir_date(when) if when else "")
        except _Bad as bad:
            return Acknowledgement(bad.code, bad.problem.text, (bad.problem,))

    # -- reading the message (no store access) ----------------------------------------------
    def _read(self, message: Any, code: str, patient: str) -> tuple[list[_Item], list[_Member]]:
        items: list[_Item] = []
        members: list[_Member] = []
        counts = {"PRB": 0, "GOL": 0, "ROL": 0}

        def place(segment: str) -> int:
            counts[segment] += 1
            return counts[segment]

        outer, inner = ("PRB", "GOL") if code == "PPR" else ("GOL", "PRB")
        prefix = f"{message.name.lower()}_"
        for group in _children(message, f"{prefix}{'problem' if code == 'PPR' else 'goal'}"):
            head = self._item(outer, getattr(group, outer.lower()), patient, place(outer))
            items.append(head)
            for child in group.children:
                name = child.name.removeprefix(message.name + "_")
                if name in ("PROBLEM_ROLE", "GOAL_ROLE"):
                    members.append(self._member(child.rol, place("ROL")))
                elif name in ("GOAL", "PROBLEM"):
                    linked = self._item(inner, getattr(child, inner.lower()), patient, place(inner))
                    goal, problem = (linked, head) if inner == "GOL" else (head, linked)
                    goal.linked = problem
                    items.append(linked)
                    for role in child.children:
                        if role.name.endswith("_ROLE"):
                            members.append(self._member(role.rol, place("ROL")))
        if not items:
            raise _Bad(AckCode.AR, Problem(ErrorCode.SEGMENT_SEQUENCE_ERROR, f"the {code} message has no {outer}"))
        seen: set[tuple[str, Key]] = set()
        for item in items:
            if (item.kind, item.key) in seen:
                text = f"{item.location.segment}-4 {item.key.value} comes twice in the message"
                raise _Bad(AckCode.AE, Problem(ErrorCode.DUPLICATE_KEY_IDENTIFIER, text, _at(item.location, 4)))
            seen.add((item.kind, item.key))
        return items, members

    def _item(self, segment_name: str, segment: Any, patient: str, sequence: int) -> _Item:
        action = text_of(getattr(segment, f"{segment_name.lower()}_1"))
        where = ErrorLocation(segment_name, sequence, 1)
        if action in _NOT_TAKEN:
            raise _Bad(
                AckCode.AR,
                Problem(
                    ErrorCode.TABLE_VALUE_NOT_FOUND, f"{segment_name}-1 {action} (link, unlink) is not taken", where
                ),
            )
        if action not in _UPSERT and action != _DELETE:
            raise _Bad(
                AckCode.AE,
                Problem(
                    ErrorCode.TABLE_VALUE_NOT_FOUND,
                    f"{segment_name}-1 {action!r} is no action code of table 0287",
                    where,
                ),
            )
        try:
            key = instance_key(getattr(segment, f"{segment_name.lower()}_4"), NAMESPACE_BASE)
        except FieldError as exc:
            raise _Bad(
                AckCode.AE, Problem(ErrorCode.REQUIRED_FIELD_MISSING, f"{segment_name}-4: {exc}", _at(where, 4))
            ) from None
        build = self._condition if segment_name == "PRB" else self._goal
        kind = "Condition" if segment_name == "PRB" else "Goal"
        return _Item(kind, key, build(segment, patient, where), action == _DELETE, where)

    def _condition(self, prb: Any, patient: str, where: ErrorLocation) -> dict[str, Any]:
        code, text, system = coded(prb.prb_3)
        if not code and not text:
            raise _Bad(AckCode.AE, Problem(ErrorCode.REQUIRED_FIELD_MISSING, "PRB-3 names no problem", _at(where, 3)))
        concept: dict[str, Any] = {"text": text or code}
        if code:
            fhir_system = CONDITION_CODE_SYSTEMS.get(system)
            if fhir_system is None:
                raise _Bad(
                    AckCode.AE,
                    Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, f"PRB-3.3 {system!r} is no coding system taken here (I10)",
                            _at(where, 3, 3)),
                )  # fmt: skip
            concept["coding"] = [{"system": fhir_system, "code": code, **({"display": text} if text else {})}]
        labels = [PSY]
        sensitivity = _table_code(prb.prb_25, _PRB25_LABELS, "PSY, ETH or R", where, 25)
        if sensitivity:
            labels.append(_PRB25_LABELS[sensitivity])
        status = _table_code(prb.prb_14, _CLINICAL, "a clinical status", where, 14)
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            "meta": {"security": [{"system": label.system, "code": label.code} for label in dict.fromkeys(labels)]},
            "extension": [_owner()],
            "category": [{"coding": [{"system": _CATEGORY_SYSTEM, "code": "problem-list-item"}]}],
            "code": concept,
            "subject": {"reference": patient},
        }
        if status:
            condition["clinicalStatus"] = {"coding": [{"system": _CLINICAL_SYSTEM, "code": status}]}
        for number, element in ((16, "onsetDateTime"), (7, "recordedDate")):
            value = _time(prb, "prb", number, where, fhir_datetime)
            if value:
                condition[element] = value
        condition["recorder"] = {"reference": self._client.system.practitioner_role}
        return condition

    def _goal(self, gol: Any, patient: str, where: ErrorLocation) -> dict[str, Any]:
        code, text, system = coded(gol.gol_3)
        if not code and not text:
            raise _Bad(AckCode.AE, Problem(ErrorCode.REQUIRED_FIELD_MISSING, "GOL-3 names no goal", _at(where, 3)))
        description: dict[str, Any] = {"text": text or code}
        if code and system:
            if system != "99YGOL":
                raise _Bad(
                    AckCode.AE,
                    Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, f"GOL-3.3 {system!r} is no coding system taken here (99YGOL)",
                            _at(where, 3, 3)),
                )  # fmt: skip
            description["coding"] = [{"system": EHR_GOAL_SYSTEM, "code": code, **({"display": text} if text else {})}]
        goal: dict[str, Any] = {
            "resourceType": "Goal",
            "meta": {"profile": [_GOAL_PROFILE], "security": [{"system": PSY.system, "code": PSY.code}]},
            "extension": [_owner()],
            "description": description,
            "subject": {"reference": patient},
        }
        start = _time(gol, "gol", 7, where, fhir_date)
        if start:
            goal["startDate"] = start
        due = _time(gol, "gol", 8, where, fhir_date)
        if due:
            goal["target"] = [{"dueDate": due}]
        lifecycle = _table_code(gol.gol_18, _LIFECYCLE, "a goal life cycle status", where, 18)
        if lifecycle:
            goal["lifecycleStatus"] = lifecycle
        achievement = _table_code(gol.gol_16, _ACHIEVEMENT, "a goal achievement status", where, 16)
        if achievement:
            goal["achievementStatus"] = {"coding": [{"system": _ACHIEVEMENT_SYSTEM, "code": achievement}]}
        goal["expressedBy"] = {"reference": self._client.system.practitioner_role}
        return goal

    def _member(self, rol: Any, sequence: int) -> _Member:
        where = ErrorLocation("ROL", sequence, 2)
        action = text_of(rol.rol_2)
        if action not in _UPSERT and action != _DELETE:
            raise _Bad(
                AckCode.AE,
                Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, f"ROL-2 {action!r} is no action code taken here", where),
            )
        code, text, system = coded(rol.rol_3)
        if system == OUR_ROLE_CODES:
            role = {"system": TEAM_ROLE_SYSTEM, "code": code, **({"display": text} if text else {})}
        else:
            translated = self._roles.translate(_ROLE_SYSTEMS.get(system, ""), code)
            if translated is None:
                raise _Bad(
                    AckCode.AE,
                    Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, f"ROL-3 {code}^{system} has no team role (psychiatry-ehr-role)",
                            _at(where, 3)),
                )  # fmt: skip
            role = {"system": translated.system, "code": translated.code, "display": translated.display}
        people = rol.rol_4
        person: Any = people[0] if len(people) else None
        number = text_of(person.xcn_1) if person is not None else ""
        if person is None or not number:
            raise _Bad(
                AckCode.AE, Problem(ErrorCode.REQUIRED_FIELD_MISSING, "ROL-4 names no person (XCN.1)", _at(where, 4))
            )
        authority = text_of(person.xcn_9.hd_1)
        display = " ".join(part for part in (text_of(person.xcn_3), text_of(person.xcn_2.fn_1)) if part)
        member = f"PractitionerRole/{number}" if authority == SHARED_NAMESPACE else number
        return _Member(
            action == _DELETE,
            role,
            member,
            display,
            _time(rol, "rol", 5, where, fhir_date),
            _time(rol, "rol", 6, where, fhir_date),
            where,
        )

    # -- applying it through the gateway ----------------------------------------------------
    async def _apply(self, patient: str, items: list[_Item], members: list[_Member], today: str) -> Acknowledgement:
        entries: list[dict[str, Any]] = []
        tally = {"created": 0, "updated": 0, "unchanged": 0}
        for item in items:
            entry = await self._entry(patient, item, items)
            if entry is None:
                tally["unchanged"] += 1
                continue
            tally["created" if entry["request"]["method"] == "POST" else "updated"] += 1
            entries.append(entry)
        team_note = ""
        if members:
            team_entry, team_note = await self._team(patient, members, today)
            if team_entry is not None:
                entries.append(team_entry)
        said = ", ".join(f"{count} {what}" for what, count in tally.items() if count) or "nothing"
        summary = f"{said} of {len(items)} problems and goals" + (f"; team {team_note}" if team_note else "")
        if not entries:
            return Acknowledgement(AckCode.AA, f"nothing changed: {summary}")
        if self._dry_run:
            return Acknowledgement(AckCode.AA, f"dry run, nothing written: would be {summary}")
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        answer = await self._client.request("POST", "", body=bundle)
        if answer.status_code != 200:
            code = (
                ErrorCode.APPLICATION_RECORD_LOCKED
                if answer.status_code in (409, 412)
                else ErrorCode.APPLICATION_INTERNAL_ERROR
            )
            text = f"the shared plan service refused the message ({answer.status_code}): {outcome_text(answer)}"
            return Acknowledgement(AckCode.AE, text, (Problem(code, text),))
        return Acknowledgement(AckCode.AA, summary)

    async def _entry(self, patient: str, item: _Item, items: list[_Item]) -> dict[str, Any] | None:
        """The transaction entry that makes the store say what `item` says, or None if it does."""
        current = await self._current(patient, item)
        wanted = copy.deepcopy(item.wanted)
        if current is None:
            if item.delete:
                raise _Bad(
                    AckCode.AE,
                    Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"there is no {item.kind.lower()} {item.key.value} to delete",
                            _at(item.location, 4)),
                )  # fmt: skip
            if item.key.shared:
                raise _Bad(
                    AckCode.AE,
                    Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"{item.kind}/{item.key.value} is not in the shared plan",
                            _at(item.location, 4)),
                )  # fmt: skip
            wanted["identifier"] = [{"system": item.key.system, "value": item.key.value}]
            wanted.update({key: value for key, value in _CREATED[item.kind].items() if key not in wanted})
            if item.kind == "Goal" and item.linked is not None:
                wanted["addresses"] = [{"reference": item.linked.full_url}]
            return {"fullUrl": item.full_url, "resource": wanted, "request": {"method": "POST", "url": item.kind}}
        if item.delete:
            target = _deleted(item.kind, current)
        else:
            target = {**current, **_MAPPED[item.kind](wanted)}
        if _comparable(target) == _comparable(current):
            return None
        version = str(current.get("meta", {}).get("versionId", ""))
        item.full_url = f"{item.kind}/{current['id']}"
        body = {key: value for key, value in target.items() if key != "meta"}
        body["meta"] = {k: v for k, v in current.get("meta", {}).items() if k not in _STORE_META}
        return {
            "resource": body,
            "request": {"method": "PUT", "url": f"{item.kind}/{current['id']}", "ifMatch": f'W/"{version}"'},
        }

    async def _current(self, patient: str, item: _Item) -> dict[str, Any] | None:
        """The stored problem or goal `item` names, as the system sees it; `_Bad` if it is another client's."""
        if item.key.shared:
            answer = await self._client.request("GET", f"{item.kind}/{item.key.value}")
            found = [answer.json()] if answer.status_code == 200 else []
            if answer.status_code not in (200, 404, 410):
                raise _lookup_failed(item.kind, answer)
        else:
            params = [("identifier", f"{item.key.system}|{item.key.value}")]
            answer = await self._client.request("GET", item.kind, params=params)
            if answer.status_code != 200:
                raise _lookup_failed(item.kind, answer)
            found = [
                e["resource"] for e in answer.json().get("entry", []) if e.get("search", {}).get("mode") != "include"
            ]
        if len(found) > 1:
            raise _Bad(
                AckCode.AE,
                Problem(ErrorCode.DUPLICATE_KEY_IDENTIFIER, f"more than one {item.kind.lower()} has the id {item.key.value}",
                        _at(item.location, 4)),
            )  # fmt: skip
        if not found:
            return None
        current: dict[str, Any] = found[0]
        if current.get("subject", {}).get("reference") != patient:
            raise _Bad(
                AckCode.AE,
                Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"{item.kind.lower()} {item.key.value} is another client's",
                        _at(item.location, 4)),
            )  # fmt: skip
        return current

    async def _team(self, patient: str, members: list[_Member], today: str) -> tuple[dict[str, Any] | None, str]:
        """The update of the client's team the ROLs ask for (None if the team already says it) and a note."""
        params = [("subject", patient), ("status", "active")]
        answer = await self._client.request("GET", "CareTeam", params=params)
        teams = [e["resource"] for e in answer.json().get("entry", [])] if answer.status_code == 200 else []
        if len(teams) != 1:
            which = "no active team" if not teams else "more than one active team"
            raise _Bad(
                AckCode.AE, Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"the client has {which}", members[0].location)
            )
        team = copy.deepcopy(teams[0])
        before = json.dumps(team.get("participant", []), sort_keys=True)
        added = ended = changed = 0
        for wanted in members:
            reference = await self._professional(wanted)
            participants = team.setdefault("participant", [])
            open_one = next((p for p in participants if _holds(p, reference, wanted.role)), None)
            if wanted.delete:
                if open_one is not None:
                    open_one.setdefault("period", {})["end"] = wanted.end or today
                    ended += 1
                continue
            if open_one is None:
                if wanted.member.startswith("PractitionerRole/"):
                    raise _Bad(
                        AckCode.AE,
                        Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"ROL-4: {wanted.member} is no open member in this "
                                "role; only the EHR's own professionals (by Valvira number) join the team from here",
                                _at(wanted.location, 4)),
                    )  # fmt: skip
                participants.append(_participant(wanted, reference, today))
                added += 1
                continue
            period = dict(open_one.get("period", {}))
            if wanted.start:
                period["start"] = wanted.start
            if wanted.end:
                period["end"] = wanted.end
            if period != open_one.get("period", {}):
                open_one["period"] = period
                changed += 1
        note = ", ".join(f"{n} {what}" for what, n in (("added", added), ("changed", changed), ("ended", ended)) if n)
        if json.dumps(team.get("participant", []), sort_keys=True) == before:
            return None, "unchanged"
        version = str(team.get("meta", {}).get("versionId", ""))
        team["meta"] = {k: v for k, v in team.get("meta", {}).items() if k not in _STORE_META}
        entry = {
            "resource": team,
            "request": {"method": "PUT", "url": f"CareTeam/{team['id']}", "ifMatch": f'W/"{version}"'},
        }
        return entry, note

    async def _professional(self, wanted: _Member) -> str:
        """The PractitionerRole a ROL names; `_Bad` if there is not exactly one."""
        if wanted.member.startswith("PractitionerRole/"):
            answer = await self._client.request("GET", wanted.member)
            if answer.status_code == 200:
                return wanted.member
            raise _Bad(
                AckCode.AE,
                Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"ROL-4: no {wanted.member}", _at(wanted.location, 4)),
            )
        people = await self._client.request(
            "GET", "Practitioner", params=[("identifier", f"{VALVIRA_SYSTEM}|{wanted.member}")]
        )
        ids = [e["resource"]["id"] for e in people.json().get("entry", [])] if people.status_code == 200 else []
        roles: list[dict[str, Any]] = []
        for practitioner in ids:
            params = [("practitioner", f"Practitioner/{practitioner}"), ("organization", self._organization)]
            answer = await self._client.request("GET", "PractitionerRole", params=params)
            roles += [e["resource"] for e in answer.json().get("entry", [])] if answer.status_code == 200 else []
        if len(roles) > 1:
            roles = [
                r
                for r in roles
                if any(c.get("code") == wanted.role["code"] for cc in r.get("code", []) for c in cc.get("coding", []))
            ]
        if len(roles) != 1:
            count = "no" if not roles else "more than one"
            raise _Bad(
                AckCode.AE,
                Problem(ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"ROL-4: {count} professional with Valvira number {wanted.member} "
                        f"in {self._organization}", _at(wanted.location, 4)),
            )  # fmt: skip
        return f"PractitionerRole/{roles[0]['id']}"


def _children(message: Any, name: str) -> list[Any]:
    """The message's children called `name` (groups), in order."""
    return [child for child in message.children if child.name.lower() == name]


def _at(where: ErrorLocation, field_number: int, component: int | None = None) -> ErrorLocation:
    return ErrorLocation(where.segment, where.sequence, field_number, component)


def _table_code(ce: Any, allowed: Collection[str], what: str, where: ErrorLocation, number: int) -> str:
    """CE.1 of a coded field if it is one of `allowed` ("" if not valued); `_Bad` (AE 103) if not."""
    code = coded(ce)[0]
    if code and code not in allowed:
        text = f"{where.segment}-{number} {code!r} is not {what}"
        raise _Bad(AckCode.AE, Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, text, _at(where, number)))
    return code


def _time(segment: Any, prefix: str, number: int, where: ErrorLocation, convert: Any) -> str:
    """A TS field of `segment` converted by `convert` ("" if not valued); `_Bad` if it is no TS."""
    raw = text_of(getattr(segment, f"{prefix}_{number}"))
    if not raw:
        return ""
    try:
        value: str = convert(raw.split("^")[0])
    except FieldError as exc:
        raise _Bad(
            AckCode.AE, Problem(ErrorCode.DATA_TYPE_ERROR, f"{prefix.upper()}-{number}: {exc}", _at(where, number))
        ) from None
    return value


def _owner() -> dict[str, Any]:
    return {
        "url": OWNING_SECTOR,
        "valueCoding": {"system": SECTOR_SYSTEM, "code": SECTOR, "display": "Hospital psychiatry"},
    }


def _participant(wanted: _Member, reference: str, today: str) -> dict[str, Any]:
    period = {"start": wanted.start or today, **({"end": wanted.end} if wanted.end else {})}
    psy = {"url": PLAN_SECURITY_LABEL, "valueCoding": {"system": PSY.system, "code": PSY.code}}
    member = {"reference": reference, **({"display": wanted.display} if wanted.display else {})}
    return {"extension": [_owner(), psy], "role": [{"coding": [dict(wanted.role)]}], "member": member, "period": period}


def _holds(participant: Mapping[str, Any], reference: str, role: Mapping[str, str]) -> bool:
    """Whether `participant` is an open membership of `reference` in `role`."""
    if participant.get("member", {}).get("reference") != reference or participant.get("period", {}).get("end"):
        return False
    codes = {(c.get("system"), c.get("code")) for r in participant.get("role", []) for c in r.get("coding", [])}
    return (role["system"], role["code"]) in codes


def _deleted(kind: str, current: Mapping[str, Any]) -> dict[str, Any]:
    """`current` marked entered-in-error."""
    target = dict(current)
    if kind == "Goal":
        target["lifecycleStatus"] = "entered-in-error"
    else:
        target.pop("clinicalStatus", None)
        target["verificationStatus"] = {"coding": [{"system": _VERIFICATION_SYSTEM, "code": "entered-in-error"}]}
    return target


def _comparable(value: Any) -> Any:
    """`value` without the displays of its Codings and the store's meta: what a message can say."""
    if isinstance(value, Mapping):
        drop = {"display"} if "code" in value and "system" in value else set()
        return {k: _comparable(v) for k, v in value.items() if k not in drop and k not in _STORE_META}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _lookup_failed(kind: str, answer: Any) -> _Bad:
    text = f"the {kind.lower()} could not be looked up ({answer.status_code}): {outcome_text(answer)}"
    return _Bad(AckCode.AE, Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, text))

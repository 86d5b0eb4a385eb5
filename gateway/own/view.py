"""What the client's own plan page shows, read from the store and shaped for her: pure reading.

`own_plan(resources, patient, person, lang, today)` takes the resources found for client `patient`
("Patient/<id>") — her CarePlans, Goals and CareTeams, and the PractitionerRoles, Practitioners
and Organizations they name — and returns an `OwnPlan`: each plan's title, description, status
and period; each goal in her words (its description), who expressed it (she herself, marked) and
its status and due date (`hers`: expressed by `person`, who looks — she, or her guardian); and her team: each member's name, role (in `lang`, from
CodeSystem/team-role) and organisation, with the personal worker first and marked, with the
telephone and e-mail of their PractitionerRole, so that she knows how to reach them.

Only resources whose subject is `patient` count (`gateway.access.subjects.patient_of`); anything
else given is ignored, so a wrong search cannot show her someone else's data. A client sees all
of her own plan: withholding a part of it from her is a professional's decision the plan would
record, which ours does not yet model. Ended team memberships (period.end in the past) are left
out, as is the client's own membership (the page is hers); dates are shown as the store holds
them (dates, not instants).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.access.subjects import patient_of
from gateway.fhir.codes import PERSONAL_WORKER
from gateway.fhir.reading import mapping, mappings, reference_of
from gateway.fhir.systems import TEAM_ROLE_SYSTEM
from gateway.terminology import display

__all__ = ["Member", "OwnGoal", "OwnPlan", "PlanSummary", "own_plan"]


@dataclass(frozen=True)
class PlanSummary:
    reference: str
    title: str
    description: str
    status: str
    start: str
    end: str


@dataclass(frozen=True)
class OwnGoal:
    reference: str
    text: str
    status: str
    due: str
    hers: bool


@dataclass(frozen=True)
class Member:
    name: str
    roles: tuple[str, ...]
    organization: str
    personal_worker: bool
    phone: str
    email: str


@dataclass(frozen=True)
class OwnPlan:
    plans: tuple[PlanSummary, ...]
    goals: tuple[OwnGoal, ...]
    team: tuple[Member, ...]

    @property
    def references(self) -> tuple[str, ...]:
        """The client's resources the page shows (for the audit record)."""
        return tuple(p.reference for p in self.plans) + tuple(g.reference for g in self.goals)


def own_plan(resources: Iterable[Mapping[str, Any]], patient: str, person: str, lang: str, today: date) -> OwnPlan:
    """Her plan page's content; see the module doc."""
    by_reference = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources}
    hers = [r for r in by_reference.values() if patient_of(r) == patient]
    plans = tuple(_plan(r) for r in hers if r.get("resourceType") == "CarePlan")
    goals = tuple(_goal(r, person) for r in hers if r.get("resourceType") == "Goal")
    members = [
        _member(participant, by_reference, lang)
        for team in hers
        if team.get("resourceType") == "CareTeam" and team.get("status") == "active"
        for participant in mappings(team.get("participant"))
        if _open(participant.get("period"), today)
        and not reference_of(participant.get("member")).startswith("Patient/")  # she herself is no row
    ]
    merged: dict[tuple[str, str], Member] = {}
    for member in members:  # one row per person and organisation, their roles together
        key = (member.name, member.organization)
        if key in merged:
            known = merged[key]
            roles = known.roles + tuple(r for r in member.roles if r not in known.roles)
            member = Member(
                known.name, roles, known.organization, known.personal_worker or member.personal_worker,
                known.phone or member.phone, known.email or member.email,
            )  # fmt: skip
        merged[key] = member
    team = tuple(sorted(merged.values(), key=lambda m: (not m.personal_worker, m.name)))
    return OwnPlan(plans, goals, team)


def _plan(plan: Mapping[str, Any]) -> PlanSummary:
    period = mapping(plan.get("period"))
    return PlanSummary(
        f"CarePlan/{plan.get('id')}",
        str(plan.get("title", "")),
        str(plan.get("description", "")),
        str(plan.get("status", "")),
        str(period.get("start", "")),
        str(period.get("end", "")),
    )


def _goal(goal: Mapping[str, Any], person: str) -> OwnGoal:
    description = mapping(goal.get("description"))
    targets = mappings(goal.get("target"))
    expressed = mapping(goal.get("expressedBy"))
    return OwnGoal(
        f"Goal/{goal.get('id')}",
        str(description.get("text", "")),
        str(goal.get("lifecycleStatus", "")),
        next((str(t["dueDate"]) for t in targets if "dueDate" in t), ""),
        expressed.get("reference") == person,
    )


def _member(participant: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], lang: str) -> Member:
    codes = [
        str(coding.get("code"))
        for concept in mappings(participant.get("role"))
        for coding in mappings(concept.get("coding"))
        if coding.get("system") == TEAM_ROLE_SYSTEM
    ]
    member = mapping(participant.get("member"))
    role = resources.get(str(member.get("reference", ""))) or {}
    practitioner = resources.get(reference_of(role.get("practitioner"))) or {}
    organization = resources.get(reference_of(role.get("organization"))) or {}
    telecom = mappings(role.get("telecom")) + mappings(practitioner.get("telecom"))
    return Member(
        name=_person_name(practitioner) or str(member.get("display", "")),
        roles=tuple(display("team-role", code, lang) or code for code in codes if code != PERSONAL_WORKER),
        organization=str(organization.get("name", "")),
        personal_worker=PERSONAL_WORKER in codes,
        phone=next((str(t.get("value")) for t in telecom if t.get("system") == "phone"), ""),
        email=next((str(t.get("value")) for t in telecom if t.get("system") == "email"), ""),
    )


def _open(period: object, today: date) -> bool:
    """Whether a participation `period` has not ended before `today`."""
    end = period.get("end") if isinstance(period, dict) else None
    return not isinstance(end, str) or end[:10] >= today.isoformat()


def _person_name(practitioner: Mapping[str, Any]) -> str:
    for name in mappings(practitioner.get("name")):
        given = " ".join(str(g) for g in name.get("given", []) if isinstance(g, str))
        return " ".join(part for part in (given, str(name.get("family", ""))) if part).strip()
    return ""

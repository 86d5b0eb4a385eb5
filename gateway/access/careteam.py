"""The client's personal worker and the rules a change of the team must keep; pure, on JSON.

The personal worker (omatyöntekijä) is a relation to one client, never a claim of a token:
- `personal_worker_of(team)` is the PractitionerRole reference of the one open
  personal-worker participant of an active team (SupportTeam's invariant yht-team-1), or
  `None` when the team is not active or has no such participant (or, against the profile,
  several);
- `is_personal_worker(role, teams)`: `role` is the client's personal worker only if it is the
  one personal worker of all the client's active `teams`; several or none make nobody it.

The profile SupportTeam (invariant yht-team-1, enforced by the store) keeps one team right:
an active team has exactly one open personal-worker participant. What one resource cannot
say is checked here:

- `handover_problems(current, proposed)`: an update keeps the history of the role. Every
  closed personal-worker participant of `current` stays as it was; when the personal worker
  changes or leaves without a successor, the outgoing one stays in the team with its period
  closed (`period.end`, same start), and an incoming one's period starts no earlier than
  that end (by date).
- `competing_teams(proposed, active_teams)`: the client's other active teams that have a
  personal worker; one for `proposed` (if it is active with one) would make two personal
  workers for one client, so the caller refuses the write (409).

Problems are plain English sentences for the OperationOutcome; an empty list is no problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.fhir.codes import PERSONAL_WORKER
from gateway.fhir.ids import PRACTITIONER_ROLE_REFERENCE
from gateway.fhir.systems import TEAM_ROLE_SYSTEM

__all__ = ["competing_teams", "handover_problems", "is_personal_worker", "personal_worker_of"]


def personal_worker_of(team: Mapping[str, Any]) -> str | None:
    """The current personal worker's PractitionerRole reference; see the module doc."""
    if team.get("resourceType") != "CareTeam" or team.get("status") != "active":
        return None
    found = [_member(p) for p in _participants(team) if _is_personal_worker(p) and not _end(p)]
    if len(found) != 1 or not PRACTITIONER_ROLE_REFERENCE.fullmatch(found[0]):
        return None
    return found[0]


def is_personal_worker(practitioner_role: str, teams: Sequence[Mapping[str, Any]]) -> bool:
    """Whether `practitioner_role` is the one personal worker of the client's active `teams`."""
    return {personal_worker_of(team) for team in teams} - {None} == {practitioner_role}


def handover_problems(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> list[str]:
    """What is wrong with `proposed` as the next version of the team `current`; see the module doc."""
    problems = []
    after = [p for p in _participants(proposed) if _is_personal_worker(p)]
    for closed in (p for p in _participants(current) if _is_personal_worker(p) and _end(p)):
        if closed not in after:
            problems.append(f"the closed personal-worker period of {_member(closed)} must be kept unchanged")
    outgoing = _open_personal_worker(current)
    opened = [p for p in after if not _end(p)]
    incoming = opened[0] if len(opened) == 1 else None
    if outgoing is None or len(opened) > 1 or (incoming is not None and _member(outgoing) == _member(incoming)):
        return problems  # several open ones: the profile's yht-team-1 refuses the team
    handed = [p for p in after if _member(p) == _member(outgoing) and _end(p) and _start(p) == _start(outgoing)]
    if not handed:
        problems.append(
            f"the outgoing personal worker {_member(outgoing)} stays in the team with its period closed (period.end)"
        )
    elif incoming is not None and (not _start(incoming) or _start(incoming)[:10] < _end(handed[0])[:10]):
        problems.append("the incoming personal worker's period must start no earlier than the outgoing one's ends")
    return problems


def competing_teams(proposed: Mapping[str, Any], active_teams: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ids of the client's other active teams with a personal worker, if `proposed` has one."""
    if personal_worker_of(proposed) is None:
        return []
    return [
        str(team.get("id"))
        for team in active_teams
        if team.get("id") != proposed.get("id") and personal_worker_of(team) is not None
    ]


def _open_personal_worker(team: Mapping[str, Any]) -> Mapping[str, Any] | None:
    found = [p for p in _participants(team) if _is_personal_worker(p) and not _end(p)]
    return found[0] if len(found) == 1 else None


def _participants(team: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = team.get("participant")
    return [p for p in value if isinstance(p, Mapping)] if isinstance(value, list) else []


def _is_personal_worker(participant: Mapping[str, Any]) -> bool:
    return any(
        isinstance(coding, Mapping)
        and coding.get("system") == TEAM_ROLE_SYSTEM
        and coding.get("code") == PERSONAL_WORKER
        for role in _list(participant.get("role"))
        for coding in _list(role.get("coding") if isinstance(role, Mapping) else None)
    )


def _member(participant: Mapping[str, Any]) -> str:
    member = participant.get("member")
    reference = member.get("reference") if isinstance(member, Mapping) else None
    return reference if isinstance(reference, str) else "(no member)"


def _start(participant: Mapping[str, Any]) -> str:
    return _period(participant).get("start") or ""


def _end(participant: Mapping[str, Any]) -> str:
    return _period(participant).get("end") or ""


def _period(participant: Mapping[str, Any]) -> Mapping[str, str]:
    period = participant.get("period")
    if not isinstance(period, Mapping):
        return {}
    return {key: value for key, value in period.items() if isinstance(value, str)}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []

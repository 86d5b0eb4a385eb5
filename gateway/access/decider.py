"""Access decisions for the resources of one request, each for its own client, read afresh.

A `Decider` lives for one request. Before deciding, the request path reads what the decisions
depend on, once per client and never from a cache:
- `read_consents(resources)`: the consents of every client the resources belong to;
- `read_teams(patient)` (writes only): the client's active care teams, from which the
  caller's `personal-worker` role is derived (`gateway.subjects.personal_worker_of`: the
  caller is the client's personal worker only if it is the one open personal worker of the
  client's active teams; several or none make nobody the personal worker).
Then `decide(resource, ...)` combines the role policy and that client's consent
(`gateway.access.combine`); a resource of no client (directory data) is decided by role
alone; a client whose consents were not read is decided as unreadable (deny).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from auth.principal import Principal
from gateway.access.careteam import personal_worker_of
from gateway.access.consent.decider import ConsentPolicy, ConsentsRead, ConsentUnreadable
from gateway.access.labels import resource_labels
from gateway.access.policy import RolePolicy
from gateway.access.seam import AccessDecision, AccessRequest, Effect, Reason, UnknownPatient, combine
from gateway.access.subjects import NoClient, patient_of
from gateway.errors import UpstreamUnavailable
from gateway.fhir.codes import Interaction
from gateway.fhir.labels import Label
from gateway.proxy.merge import WriteEffect
from gateway.proxy.redaction import Withheld
from gateway.store.client import Upstream
from gateway.store.consents import read_consents
from gateway.store.search import SearchFailed, search_all

__all__ = ["Decider"]

_UNREADABLE = ConsentUnreadable("the resource names no client whose consent could be read")


class Decider:
    """Decisions for one request of `principal`, whose interaction is `interaction`."""

    def __init__(
        self,
        principal: Principal,
        role_policy: RolePolicy,
        consent_policy: ConsentPolicy,
        store: Upstream,
        interaction: Interaction,
    ) -> None:
        self._principal = principal
        self._interaction = interaction
        self._role_policy = role_policy
        self._consent_policy = consent_policy
        self._store = store
        self._on_file: dict[str, ConsentsRead] = {}
        self._teams: dict[str, tuple[Mapping[str, Any], ...]] = {}
        self._reasons: dict[Reason, None] = {}

    async def read_consents(self, resources: Sequence[Mapping[str, Any]]) -> None:
        """Read the consents of every client these resources belong to (once per client)."""
        patients = {patient_of(resource) for resource in resources}
        wanted = sorted(p for p in patients if isinstance(p, str) and p not in self._on_file)
        found = await asyncio.gather(*(read_consents(self._store, p) for p in wanted))
        self._on_file.update(zip(wanted, found, strict=False))

    async def read_teams(self, patient: str) -> tuple[Mapping[str, Any], ...]:
        """The active CareTeams of `patient`; `UpstreamUnavailable` if they cannot be read."""
        if patient not in self._teams:
            try:
                found = await search_all(self._store, "CareTeam", {"subject": patient, "status": "active"})
            except SearchFailed as exc:
                raise UpstreamUnavailable("the client's care team could not be read, so nothing is changed") from exc
            self._teams[patient] = tuple(found)
        return self._teams[patient]

    def decide(
        self,
        resource: Mapping[str, Any],
        interaction: Interaction | None = None,
        write: WriteEffect | None = None,
    ) -> AccessDecision:
        """Role policy and the client's consent for `interaction` (default: the request's) on
        `resource`, combined.

        For a write, `write` describes it (`gateway.proxy.merge`), and the caller must have read the
        client's teams first (else the caller is not the personal worker).
        """
        interaction = interaction or self._interaction
        patient = patient_of(resource)
        rtype = resource.get("resourceType")
        request = AccessRequest.of(
            self._principal,
            interaction,
            rtype if isinstance(rtype, str) else None,
            patient=patient if isinstance(patient, (str, UnknownPatient)) else UnknownPatient("no client"),
            resource_id=resource.get("id") if isinstance(resource.get("id"), str) else None,
            owning_sectors=write.owning_sectors if write else (),
            changed_elements=write.changed_elements if write else frozenset(),
            labels=write.labels if write else resource_labels(resource),
            personal_worker=isinstance(patient, str) and self._is_personal_worker(patient),
        )
        role = self._role_policy.check(request)
        if isinstance(patient, NoClient):
            decision = combine(role)
        else:
            on_file = self._on_file.get(patient) if isinstance(patient, str) else None
            decision = combine(role, self._consent_policy.check(request, on_file or _UNREADABLE))
        self._reasons.update(dict.fromkeys(decision.reasons))
        return decision

    def hidden_for(self, resource: Mapping[str, Any]) -> frozenset[Label] | Withheld:
        """The labels hidden from the caller in `resource`, or `Withheld` (not permitted)."""
        decision = self.decide(resource)
        if decision.effect is not Effect.PERMIT:
            return Withheld(frozenset())
        return decision.redactions.hidden

    def patients(self) -> tuple[str, ...]:
        """The clients whose data this request touched (their consents were read)."""
        return tuple(sorted(self._on_file))

    def reasons(self) -> tuple[Reason, ...]:
        """Every reason of every decision so far, first occurrence kept."""
        return tuple(self._reasons)

    def _is_personal_worker(self, patient: str) -> bool:
        workers = {personal_worker_of(team) for team in self._teams.get(patient, ())} - {None}
        return workers == {self._principal.practitioner_role}

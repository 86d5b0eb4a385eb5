"""The references a write carries: literal, and to resources the caller may see.

A reference the store is left to resolve is a search the caller never made: HAPI resolves a
`Type?param=value` in a write body to the id it finds (or answers whether anything matched),
past the search allow-list, the role policy and the consent. So the gateway lets a write
carry only references it has checked itself:

- `check_form(resource, local)` — before anything is read: every `reference` at any depth is
  a literal `Type/id` of a type the gateway serves, or, inside a transaction, one of `local`
  (the `urn:uuid:` fullUrls of the same Bundle's creates). A search URL, an absolute URL, a
  versioned or contained (`#id`) reference, an id made only of dots, or `contained`
  resources are refused (`Unprocessable`, naming where). Answers the literal references.
- `await check_visible(context, store, resource, references)` — after the write was decided:
  each of `references` (the ones the caller adds; those it already sees in the current
  version need no second look) is read from the store and decided for the caller as a read.
  A reference to a resource that does not exist and one to a resource the caller may not
  see are refused alike (`UnresolvableReference`, the same text; the reasons go to the
  audit only), so the check is no oracle. A reference into another client's data is refused
  too: a resource links only its own client's data and the directory.

- `await check_member_owners(store, current, team)` — a team member that names its owning
  sector (and is new or changed) must be a professional of an organisation of that sector:
  its PractitionerRole's organization's `type`; otherwise `Unprocessable` naming the member.
  A sector writes only its own members, so it may not label another organisation's
  professional (or the client) as its own.

The caller must run them before the write is sent and send nothing when one raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.access.labels import claims_owner, owner_of
from gateway.access.seam import Effect, Reason, Withheld
from gateway.access.subjects import NoClient, patient_of
from gateway.errors import Unprocessable, UnresolvableReference, UpstreamFailure
from gateway.fhir.codes import Interaction, Sector
from gateway.fhir.ids import reference_pattern
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.resources import SERVED_TYPES
from gateway.fhir.systems import SECTOR_SYSTEM
from gateway.proxy.context import RequestContext
from gateway.proxy.parts import canonical
from gateway.proxy.redaction import redact
from gateway.store.client import Upstream

__all__ = ["check_form", "check_member_owners", "check_visible", "references_of", "stored"]

_LITERAL = reference_pattern(*sorted(SERVED_TYPES))
_UNRESOLVABLE = "{location}: {reference} cannot be resolved"


def references_of(resource: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    """Every `reference` element at any depth of `resource`: (location, value), in order."""
    yield from _walk(resource, resource.get("resourceType", "resource"))


def check_form(resource: Mapping[str, Any], local: frozenset[str] = frozenset()) -> dict[str, str]:
    """The literal references of `resource` (reference → first location); see the module doc."""
    kind = resource.get("resourceType", "resource")
    if "contained" in resource:
        raise Unprocessable(f"{kind}.contained: contained resources are not accepted; write each one by itself")
    found: dict[str, str] = {}
    for location, value in references_of(resource):
        if isinstance(value, str) and value in local:
            continue
        match = _LITERAL.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise Unprocessable(
                f"{location}: a reference must be a literal Type/id of a resource you may see"
                " (in a transaction also the urn:uuid: of an entry created in it); searches,"
                " absolute, versioned and contained references are not accepted"
            )
        found.setdefault(match.group(0), location)
    return found


async def check_visible(
    context: RequestContext, store: Upstream, resource: Mapping[str, Any], references: Mapping[str, str]
) -> None:
    """Refuse the write unless every one of `references` names a resource the caller may see."""
    own = patient_of(resource)
    targets = [reference for reference in references if reference != own]
    found = await asyncio.gather(*(stored(store, reference) for reference in targets))
    present = [target for target in found if target is not None]
    decider = await context.decider(present, Interaction.READ) if present else None
    for reference, target in zip(targets, found, strict=True):
        reasons: tuple[Reason, ...] = ()
        if target is not None and decider is not None:
            decision = decider.decide(target, Interaction.READ)
            visible = decision.effect is Effect.PERMIT
            visible = visible and not isinstance(redact(target, decision.redactions.hidden), Withheld)
            reasons = decision.reasons
            if visible and not _same_client(own, patient_of(target)):
                raise Unprocessable(
                    f"{references[reference]}: {reference} belongs to another client; "
                    "a resource may reference only its own client's data and the directory"
                )
            if visible:
                continue
        raise UnresolvableReference(_UNRESOLVABLE.format(location=references[reference], reference=reference), reasons)


async def check_member_owners(store: Upstream, current: Mapping[str, Any] | None, team: Mapping[str, Any]) -> None:
    """Every new or changed owned member of `team` belongs to its owner's sector; see the module doc."""
    before = {canonical(p) for p in (current or {}).get("participant", []) or []}
    for index, participant in enumerate(team.get("participant", []) or []):
        if not isinstance(participant, Mapping) or not claims_owner(participant) or canonical(participant) in before:
            continue
        owner = owner_of(participant)
        member = participant.get("member")
        reference = member.get("reference") if isinstance(member, Mapping) else None
        if not isinstance(owner, Sector) or owner.value not in await _sectors_of(store, reference):
            named = owner.value if isinstance(owner, Sector) else "an unknown sector"
            raise Unprocessable(
                f"CareTeam.participant[{index}]: a member owned by {named} must be a professional of an organisation "
                f"of that sector"
            )


async def _sectors_of(store: Upstream, reference: object) -> frozenset[str]:
    """The sectors of the organisation of a PractitionerRole `reference` (none for anything else)."""
    if not isinstance(reference, str) or not reference.startswith("PractitionerRole/"):
        return frozenset()
    role = await stored(store, reference)
    organization = (role or {}).get("organization")
    target = organization.get("reference") if isinstance(organization, Mapping) else None
    if not isinstance(target, str) or not target.startswith("Organization/"):
        return frozenset()
    found = await stored(store, target) or {}
    return frozenset(
        str(coding.get("code"))
        for kind in found.get("type", []) or []
        if isinstance(kind, Mapping)
        for coding in kind.get("coding", []) or []
        if isinstance(coding, Mapping) and coding.get("system") == SECTOR_SYSTEM
    )


def _same_client(own: object, theirs: object) -> bool:
    return isinstance(theirs, NoClient) or theirs == own


async def stored(store: Upstream, reference: str) -> dict[str, Any] | None:
    """The current version of `reference` on the store, or None if there is none."""
    answer = await store.send("GET", reference, headers={"Accept": FHIR_JSON})
    if answer.status in (404, 410):
        return None
    body = answer.json() if answer.status == 200 else None
    if not isinstance(body, dict):
        raise UpstreamFailure(f"the FHIR store answered {answer.status} when a referenced resource was read")
    return body


def _walk(node: object, location: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{location}.{key}"
            if key == "reference" and not isinstance(value, Mapping | list):
                yield where, value
            else:
                yield from _walk(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{location}[{index}]")

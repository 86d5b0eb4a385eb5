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

The caller must run both before the write is sent and send nothing when either raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.access.seam import Effect, Reason, Withheld
from gateway.access.subjects import NoClient, patient_of
from gateway.errors import Unprocessable, UnresolvableReference, UpstreamFailure
from gateway.fhir.codes import Interaction
from gateway.fhir.ids import reference_pattern
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.resources import SERVED_TYPES
from gateway.proxy.context import RequestContext
from gateway.proxy.redaction import redact
from gateway.store.client import Upstream

__all__ = ["check_form", "check_visible", "references_of"]

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
    found = await asyncio.gather(*(_stored(store, reference) for reference in targets))
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


def _same_client(own: object, theirs: object) -> bool:
    return isinstance(theirs, NoClient) or theirs == own


async def _stored(store: Upstream, reference: str) -> dict[str, Any] | None:
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

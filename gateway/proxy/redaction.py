"""Removing what a caller may not see from FHIR JSON, with nothing left behind.

`redact(resource, hidden)` answers the resource as the caller may see it, or `Withheld`:
- a resource carrying a hidden label in `meta.security` is withheld whole;
- a Patient under a protection order (TURVAKIELTO) loses its address, and the addresses of
  its contacts (they may give the client's away), for every caller;
- a resource with labelled parts (`gateway.fhir.labels.LABELLED_PARTS`: a CarePlan's
  activities, goal, addresses and contributor references, a CareTeam's participants) keeps
  only the parts without hidden labels (extension `plan-security-label`); what is removed
  leaves no stub (a reference to a hidden goal would reveal its id, a participant from
  psychiatry the care), and nothing else of the resource is touched;
- a Bundle keeps only the entries whose resource survives (each redacted the same way); it
  loses `total`, since a count over the store would count hidden resources too. An entry
  without a resource is kept only in a batch or transaction response (where it reports the
  caller's own write); in a search or history it could name a hidden resource (a deletion),
  so it goes.

Pure functions on dicts; the input is never modified. The caller must apply the hidden set of
the decision that covers each resource's client (see `gateway.access.seam.combine`) and must deny,
not send, when it cannot decide.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from gateway.access.labels import has_protection_order, part_labels, resource_labels
from gateway.access.seam import Withheld
from gateway.fhir.labels import LABELLED_PARTS, Label

__all__ = ["HiddenFor", "redact", "redact_bundle"]

_RESPONSE_BUNDLES = frozenset({"batch-response", "transaction-response"})

HiddenFor = Callable[[Mapping[str, Any]], "frozenset[Label] | Withheld"]
"""For one resource of a response: the labels hidden from the caller, or `Withheld`."""


def redact(resource: Mapping[str, Any], hidden: frozenset[Label]) -> dict[str, Any] | Withheld:
    """`resource` as a caller who may not see `hidden` sees it."""
    carried = resource_labels(resource) & hidden
    if carried:
        return Withheld(carried)
    shown = copy.deepcopy(dict(resource))
    if shown.get("resourceType") == "Patient" and has_protection_order(shown):
        shown.pop("address", None)
        contacts = [
            {k: v for k, v in c.items() if k != "address"}
            for c in shown.pop("contact", None) or []
            if isinstance(c, dict)
        ]
        if any(contacts):
            shown["contact"] = [contact for contact in contacts if contact]
    for element in LABELLED_PARTS.get(str(shown.get("resourceType")), ()):
        parts = shown.get(element)
        if parts is None:
            continue
        if not isinstance(parts, list):  # one part not in a list: malformed, but judged all the same
            parts = [parts]
        # a malformed part (not an object) is dropped too: it cannot be shown to be harmless
        kept = [p for p in parts if isinstance(p, Mapping) and not part_labels(p) & hidden]
        if kept:
            shown[element] = kept
        else:
            del shown[element]
    return shown


def redact_bundle(bundle: Mapping[str, Any], hidden_for: HiddenFor) -> dict[str, Any]:
    """`bundle` with each entry's resource redacted by `hidden_for(resource)`; see the module doc.

    `hidden_for` returns the labels hidden for that resource's client, or `Withheld` to drop
    the entry whatever it carries (e.g. a client whose consent denies the caller).
    """
    shown = {key: copy.deepcopy(value) for key, value in bundle.items() if key not in ("entry", "total")}
    entries = []
    for entry in bundle.get("entry", []) or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if resource is None:
            if bundle.get("type") in _RESPONSE_BUNDLES:
                entries.append(copy.deepcopy(entry))
            continue
        hidden = hidden_for(resource)
        result = hidden if isinstance(hidden, Withheld) else redact(resource, hidden)
        if not isinstance(result, Withheld):
            entries.append({**{k: copy.deepcopy(v) for k, v in entry.items() if k != "resource"}, "resource": result})
    if entries:
        shown["entry"] = entries
    return shown

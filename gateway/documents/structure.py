"""The rules a FHIR document Bundle must keep before it is signed, stored or taken in; pure.

`document_problems(bundle)` answers every way `bundle` breaks them, in words naming the rule and
the place (an empty list is a sound document):

- the Bundle is of type `document` (R4 bdl-9: `identifier.system` and `identifier.value`;
  bdl-10: `timestamp`; bdl-11: the first entry is a Composition), and its `timestamp` is not
  before the Composition's `date`;
- every entry has a `fullUrl` and a `resource`, and no two entries the same `fullUrl` (bdl-7)
  nor one with a version (bdl-8); no entry carries `request`, `response` or `search` (bdl-3, 4);
- every reference in every resource resolves to an entry of the Bundle (by its `fullUrl`, or
  `Type/id` to an entry whose resource is that), so the document stands on its own;
- every entry is the Composition or is referenced, directly or through others, from it: a
  document holds only what its Composition references.

References are read from every `reference` string in a resource, wherever it is (contained
resources and `#` fragments are local to their resource and are not followed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

__all__ = ["closure", "document_problems", "references_of", "relative_reference"]


def document_problems(bundle: Mapping[str, Any]) -> list[str]:
    """Every way `bundle` is not a sound FHIR document; see the module doc."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "document":
        return ["the resource is not a Bundle of type document"]
    problems = []
    identifier = bundle.get("identifier")
    if not isinstance(identifier, Mapping) or not identifier.get("system") or not identifier.get("value"):
        problems.append("bdl-9: a document has Bundle.identifier with system and value")
    if not bundle.get("timestamp"):
        problems.append("bdl-10: a document has Bundle.timestamp")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        return [*problems, "bdl-11: a document's first entry is a Composition (it has no entries)"]
    first = entries[0].get("resource") if isinstance(entries[0], Mapping) else None
    if not isinstance(first, Mapping) or first.get("resourceType") != "Composition":
        problems.append("bdl-11: a document's first entry is a Composition")
    elif _before(bundle.get("timestamp"), first.get("date")):
        problems.append("Bundle.timestamp is before Composition.date: a document is assembled after it is written")
    by_url: dict[str, Mapping[str, Any]] = {}
    for number, entry in enumerate(entries):
        where = f"Bundle.entry[{number}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            problems.append(f"{where} has no resource")
            continue
        url = entry.get("fullUrl")
        if not isinstance(url, str) or not url:
            problems.append(f"{where} has no fullUrl")
            continue
        if "/_history/" in url:
            problems.append(f"bdl-8: {where}.fullUrl names a version")
        if url in by_url:
            problems.append(f"bdl-7: {where}.fullUrl {url} is another entry's too")
        by_url[url] = entry["resource"]
        for element in ("request", "response", "search"):
            if element in entry:
                problems.append(f"{where}.{element} is not allowed in a document")
    if problems:
        return problems
    return _closure_problems(entries, by_url)


def references_of(resource: Mapping[str, Any]) -> Iterator[str]:
    """Every `reference` string in `resource`, at any depth (not local `#` ones)."""
    stack: list[Any] = [resource]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "reference" and isinstance(item, str) and not item.startswith("#"):
                    yield item
                elif key != "contained":
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)


def closure(
    pool: Mapping[str, Mapping[str, Any]], starts: Iterable[str]
) -> tuple[dict[str, Mapping[str, Any]], list[str]]:
    """The resources of `pool` (`Type/id` → resource) that `starts` reach through references, and
    the references among them that name nothing in `pool` (sorted)."""
    reached: dict[str, Mapping[str, Any]] = {}
    missing: set[str] = set()
    pending = list(starts)
    while pending:
        reference = relative_reference(pending.pop())
        if reference in reached:
            continue
        if reference not in pool:
            missing.add(reference)
            continue
        reached[reference] = pool[reference]
        pending.extend(references_of(pool[reference]))
    return reached, sorted(missing)


def _closure_problems(entries: list[Any], by_url: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """References that do not resolve, and entries the Composition does not reach."""
    problems = []
    typed = {f"{r.get('resourceType')}/{r.get('id')}": url for url, r in by_url.items() if r.get("id")}
    reached: set[str] = set()
    pending = [str(entries[0]["fullUrl"])]
    while pending:
        url = pending.pop()
        if url in reached:
            continue
        reached.add(url)
        for reference in references_of(by_url[url]):
            target = reference if reference in by_url else typed.get(relative_reference(reference))
            if target is None:
                problems.append(f"a reference to {reference} (in {url}) does not resolve inside the document")
            else:
                pending.append(target)
    for number, entry in enumerate(entries):
        if entry["fullUrl"] not in reached:
            problems.append(f"Bundle.entry[{number}] ({entry['fullUrl']}) is not referenced from the Composition")
    return sorted(set(problems), key=problems.index)


def _before(timestamp: object, date: object) -> bool:
    """Whether instant `timestamp` is before dateTime `date` (False when either cannot be read:
    a missing timestamp is bdl-10's to name)."""
    try:
        moment, written = datetime.fromisoformat(str(timestamp)), datetime.fromisoformat(str(date))
    except ValueError:
        return False
    if (moment.tzinfo is None) != (written.tzinfo is None):
        return False
    return moment < written


def relative_reference(reference: str) -> str:
    """`Type/id` of a reference given absolutely or relatively."""
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference

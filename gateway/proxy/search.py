"""Which search parameters reach the FHIR store: an allow-list, as data (policy/search.yaml).

`SearchRules.check(call)` raises `UnsupportedParameter` (400) for the first parameter of a
search that the list does not allow, naming it; `BadRequest` when a required one is missing.
`_sort` may name only allowed parameters of the type (or `_id`, `_lastUpdated`). An instance
history takes only `_count`, `_format` and `_pretty`.
A plan or a team (`gateway.proxy.versions.NAMED_TYPES`) is neither searched nor sorted by
`_lastUpdated`: the store's time counts edits to parts hidden from the caller, whose
`lastUpdated` is the time of the last change it can see (`gateway.proxy.history`).

Reference parameters over labelled parts (`labelled` in the file: `CarePlan.goal`,
`CareTeam.participant.member`) find resources by a reference the caller may not see; the
store cannot know that. `terms(call)` picks them out of a search, and `view_matches(type,
terms, view)` says whether what the caller sees of a match still matches them: a match that
does not is left out, as if the store had not found it. Such parameters take no modifier
(`:missing`, `:not` would match on the hidden part) and sort nothing.
Refused on principle, whatever the file says: `_has` (reverse chaining), chained names
(`subject.name`), `_contained`, `_containedType`, `_filter`, `_query`, `_text`, `_content`,
`_list`, `_elements`, `_summary` and `_total` — each can reveal hidden data or counts of it.

The rules apply to searches (GET or POST _search) and to the query of reads; `_getpages`
(paging) is handled by the request path, which re-authorises every page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import BadRequest, UnsupportedParameter
from gateway.fhir.codes import Interaction
from gateway.proxy.call import FhirCall
from gateway.proxy.versions import NAMED_TYPES

__all__ = ["SEARCH_RULES_PATH", "NEVER", "SearchRules", "SearchRulesError", "check_supported", "load_search_rules"]

SEARCH_RULES_PATH = Path(__file__).with_name("search.yaml")

NEVER = frozenset(
    {
        "_has",
        "_contained",
        "_containedType",
        "_filter",
        "_query",
        "_text",
        "_content",
        "_list",
        "_elements",
        "_summary",
        "_total",
        "_graphql",
    }
)
"""Parameters refused whatever the rules file says."""

_HISTORY_PARAMS = frozenset({"_count", "_format", "_pretty"})
"""What an instance history may carry: the gateway pages it itself (`gateway.proxy.pages`)."""
_BY_STORE_TIME = (
    "a {type} is not {what} by _lastUpdated here: its lastUpdated is when what you see of it last"
    " changed, which the store does not know; compare meta.versionId with the one you have"
)
_KEYS = {"version", "common", "formats", "modifiers", "types", "include", "revinclude", "required", "labelled"}


class SearchRulesError(ValueError):
    """The rules file is malformed; the message says where."""


@dataclass(frozen=True)
class SearchRules:
    """The allow-list, loaded once."""

    common: frozenset[str]
    formats: frozenset[str]
    modifiers: frozenset[str]
    types: dict[str, frozenset[str]]
    include: frozenset[str]
    revinclude: frozenset[str]
    required: dict[str, frozenset[str]]
    labelled: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per type, the reference parameters over labelled parts and the path each searches."""

    def check(self, call: FhirCall) -> None:
        """Raise unless every parameter of `call` is allowed (and required ones are present)."""
        allowed = self.types.get(call.resource_type or "", frozenset())
        for name, value in call.params:
            self._check_param(call, allowed, name, value)
        if call.interaction is Interaction.SEARCH:
            missing = self.required.get(call.resource_type or "", frozenset()) - {
                name.split(":", 1)[0] for name in call.param_names()
            }
            if missing:
                raise BadRequest(f"a {call.resource_type} search must give {', '.join(sorted(missing))}")

    def _check_param(self, call: FhirCall, allowed: frozenset[str], name: str, value: str) -> None:
        base, _, modifier = name.partition(":")
        if base in NEVER or "." in base:
            raise UnsupportedParameter(f"the search parameter {name!r} is not supported by this gateway")
        if base == "_format":
            if value not in self.formats:
                raise UnsupportedParameter("only JSON is served (_format=json)")
            return
        if base == "_include" or base == "_revinclude":
            values = self.include if base == "_include" else self.revinclude
            if modifier or value not in values:
                raise UnsupportedParameter(f"{name}={value!r} is not allowed; allowed: {', '.join(sorted(values))}")
            return
        if call.interaction is Interaction.HISTORY and base not in _HISTORY_PARAMS:
            raise UnsupportedParameter(f"an instance history takes only {', '.join(sorted(_HISTORY_PARAMS))}")
        if base == "_lastUpdated" and call.resource_type in NAMED_TYPES:
            raise UnsupportedParameter(_BY_STORE_TIME.format(what="searched", type=call.resource_type))
        if base in self.common:
            if modifier:
                raise UnsupportedParameter(f"the modifier {modifier!r} is not allowed on {base}")
            if base == "_sort":
                self._check_sort(value, allowed, call.resource_type)
            return
        if call.interaction is not Interaction.SEARCH or base not in allowed:
            raise UnsupportedParameter(
                f"the search parameter {name!r} is not allowed on {call.resource_type or 'this interaction'}"
            )
        if modifier and (modifier not in self.modifiers or base in self._labelled(call.resource_type)):
            raise UnsupportedParameter(f"the modifier {modifier!r} is not allowed on {base}")

    def _check_sort(self, value: str, allowed: frozenset[str], resource_type: str | None) -> None:
        """Sort keys are allowed parameters of the type (or `_id`, `_lastUpdated`), optionally
        descending, and not over labelled parts: sorting by anything else orders results by
        data the caller may not see."""
        for key in value.split(","):
            name = key.removeprefix("-")
            if (name not in allowed and name not in ("_id", "_lastUpdated")) or name in self._labelled(resource_type):
                raise UnsupportedParameter(f"sorting by {name!r} is not allowed")
            if name == "_lastUpdated" and resource_type in NAMED_TYPES:
                raise UnsupportedParameter(_BY_STORE_TIME.format(what="sorted", type=resource_type))

    def terms(self, call: FhirCall) -> tuple[tuple[str, str], ...]:
        """The parameters of `call` that search labelled parts (checked by `view_matches`)."""
        labelled = self._labelled(call.resource_type)
        return tuple((name, value) for name, value in call.params if name in labelled)

    def view_matches(
        self, resource_type: str | None, terms: tuple[tuple[str, str], ...], view: Mapping[str, Any]
    ) -> bool:
        """Whether `view` (a match as the caller sees it) matches every one of `terms` (each
        a parameter of `terms(call)`: one of its comma-separated references is in the path)."""
        labelled = self._labelled(resource_type)
        for name, value in terms:
            found = {_reference_key(ref) for ref in _references_at(view, labelled[name].split("."))}
            wanted = [_reference_key(item) for item in value.split(",")]
            if not any(_same_target(want, have) for want in wanted for have in found):
                return False
        return True

    def _labelled(self, resource_type: str | None) -> Mapping[str, str]:
        return self.labelled.get(resource_type or "", {})


def load_search_rules(path: Path = SEARCH_RULES_PATH) -> SearchRules:
    """Read and check the rules file; raise `SearchRulesError` naming the fault."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SearchRulesError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(data, dict) or set(data) - _KEYS or data.get("version") != 1:
        raise SearchRulesError(f"{path}: must be a mapping with version 1 and only {sorted(_KEYS)}")
    types = _mapping_of_lists(path, data, "types")
    required = _mapping_of_lists(path, data, "required")
    for rtype, names in required.items():
        if not names <= types.get(rtype, frozenset()):
            raise SearchRulesError(f"{path}: required {rtype} parameters must also be allowed")
    rules = SearchRules(
        common=_names(path, data, "common"),
        formats=_names(path, data, "formats"),
        modifiers=_names(path, data, "modifiers"),
        types=types,
        include=_names(path, data, "include"),
        revinclude=_names(path, data, "revinclude"),
        required=required,
        labelled=_labelled_paths(path, data, types),
    )
    listed = rules.common.union(*rules.types.values())
    if listed & NEVER:
        raise SearchRulesError(f"{path}: lists parameters that are never allowed: {sorted(listed & NEVER)}")
    return rules


_RESULT_PARAMETERS = frozenset({"_count", "_sort", "_pretty", "_format", "_include", "_revinclude"})
"""Parameters FHIR defines for every search that shape the answer and are no search parameter
of a type, so a CapabilityStatement does not list them in `searchParam`."""


def check_supported(rules: SearchRules, statement: Mapping[str, Any]) -> None:
    """Raise `SearchRulesError` naming every name the rules allow that the store's
    CapabilityStatement `statement` does not declare, else return None.

    Checked, against `rest[].resource[]` of the statement: every type of `types` is a resource
    of the store; its parameters are in that resource's `searchParam`; every `common` parameter
    but the result parameters (`_count`, `_sort`, ...) is a `searchParam` of every listed type;
    an `include` `Type:param` is in that Type's `searchInclude`; a `revinclude` is in some
    resource's `searchRevInclude`. A parameter the store does not know is refused or ignored
    by it, so a rule naming one is a mistake; start-up stops on it. A statement without these
    lists fails every name (closed).
    """
    params: dict[str, set[str]] = {}
    includes: dict[str, set[str]] = {}
    revincludes: set[str] = set()
    for rest in _objects(statement.get("rest")):
        for resource in _objects(rest.get("resource")):
            rtype = str(resource.get("type"))
            params.setdefault(rtype, set()).update(str(p.get("name")) for p in _objects(resource.get("searchParam")))
            includes.setdefault(rtype, set()).update(map(str, _list(resource.get("searchInclude"))))
            revincludes.update(map(str, _list(resource.get("searchRevInclude"))))
    unknown = [f"resource type {rtype}" for rtype in sorted(rules.types) if rtype not in params]
    common = sorted(rules.common - _RESULT_PARAMETERS)
    for rtype, names in sorted(rules.types.items()):
        known = params.get(rtype, set())
        unknown += [f"{rtype} search parameter {name}" for name in [*sorted(names), *common] if name not in known]
    unknown += [
        f"_include={name}" for name in sorted(rules.include) if name not in includes.get(name.split(":", 1)[0], set())
    ]
    unknown += [f"_revinclude={name}" for name in sorted(rules.revinclude) if name not in revincludes]
    if unknown:
        raise SearchRulesError(
            "the search rules name what the FHIR store's CapabilityStatement does not declare: " + "; ".join(unknown)
        )


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [item for item in _list(value) if isinstance(item, Mapping)]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _names(path: Path, data: dict[str, Any], key: str) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SearchRulesError(f"{path}: {key} must be a list of names")
    return frozenset(value)


def _mapping_of_lists(path: Path, data: dict[str, Any], key: str) -> dict[str, frozenset[str]]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SearchRulesError(f"{path}: {key} must map resource types to lists of names")
    return {str(rtype): _names(path, value, str(rtype)) for rtype in value}


def _labelled_paths(path: Path, data: dict[str, Any], types: dict[str, frozenset[str]]) -> dict[str, dict[str, str]]:
    value = data.get("labelled", {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise SearchRulesError(f"{path}: labelled must map resource types to parameter: path")
    result: dict[str, dict[str, str]] = {}
    for rtype, params in value.items():
        for name, where in params.items():
            if name not in types.get(str(rtype), frozenset()) or not isinstance(where, str) or not where:
                raise SearchRulesError(f"{path}: labelled {rtype}.{name} must be an allowed parameter with a path")
        result[str(rtype)] = {str(name): where for name, where in params.items()}
    return result


def _references_at(element: object, steps: list[str]) -> Iterator[str]:
    """The `reference` strings found by following `steps` from `element` through lists."""
    if isinstance(element, list):
        for item in element:
            yield from _references_at(item, steps)
    elif isinstance(element, Mapping):
        if not steps:
            if isinstance(element.get("reference"), str):
                yield element["reference"]
        else:
            yield from _references_at(element.get(steps[0]), steps[1:])


def _reference_key(reference: str) -> tuple[str | None, str]:
    """(type or None, id) of a reference or a search value: `Type/id`, `id`, an absolute URL
    ending in `Type/id`, each possibly versioned (`/_history/n`)."""
    parts = reference.strip().split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) == 1:
        return None, parts[0]
    return parts[-2], parts[-1]


def _same_target(wanted: tuple[str | None, str], have: tuple[str | None, str]) -> bool:
    return bool(wanted[1]) and wanted[1] == have[1] and (wanted[0] is None or wanted[0] == have[0])

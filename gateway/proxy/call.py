"""What a FHIR REST request asks for, read off its method, path and query.

`fhir_path_of(raw_path)` is the path relative to the FHIR base `/fhir`, as the request sent it
(the ASGI scope's `raw_path`, still percent-encoded: a decoded path no longer tells `%2F` from
`/`). `parse_call(method, path, query)` returns a frozen `FhirCall` — interaction, resource type,
id, version, operation and the query as ordered pairs — or raises a `gateway.errors` error:
`InvalidId` for an id that is not a FHIR id (`gateway.fhir.ids`), `NotFound` for a path that is not
a FHIR interaction or names a resource type the store does not serve, `MethodNotAllowed` for a
method the path does not take. The caller passes the store's resource types (read once from
its CapabilityStatement). Nothing here decides access.

Paths are relative to the FHIR base: "" (system), "CarePlan", "CarePlan/x",
"CarePlan/x/_history/2", "CarePlan/_search", "CarePlan/x/$everything", "metadata", ...
Each segment is percent-decoded once; a segment that decodes to one holding `/`, or to one
made only of dots (`.`, `..`, `%2e`, ...), is refused (`BadRequest`): the store, or any URL
library on the way, would resolve it into another path than the one decided on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

from gateway.errors import BadRequest, InvalidId, MethodNotAllowed, NotFound, Unexpected
from gateway.fhir.codes import Interaction
from gateway.fhir.ids import PATIENT_REFERENCE, is_id

__all__ = ["FHIR_BASE_PATH", "FhirCall", "fhir_path_of", "parse_call"]

FHIR_BASE_PATH = "/fhir"
"""Where the FHIR path is served on the gateway's origin."""

_OPERATION = re.compile(r"\$[A-Za-z][A-Za-z0-9\-]*")


@dataclass(frozen=True)
class FhirCall:
    """One FHIR REST call. `params` keeps the query's order and repeats."""

    method: str
    interaction: Interaction
    resource_type: str | None
    resource_id: str | None
    version_id: str | None
    operation: str | None
    params: tuple[tuple[str, str], ...]

    def param_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.params)

    def named_clients(self) -> tuple[str, ...]:
        """The clients ("Patient/<id>") the call names in its path or query, as it names them:
        `Patient/<id>` in the path; `patient`, `subject` (and `:Patient`-typed) search values, as
        references or, for `patient` and the typed ones, as bare ids; `_id` of a Patient search.
        Only well-formed ones; nothing is read: a refused request is recorded with them."""
        named = [f"Patient/{self.resource_id}"] if self.resource_type == "Patient" and self.resource_id else []
        for name, value in self.params:
            base, _, modifier = name.partition(":")
            bare = base == "patient" or modifier == "Patient" or (self.resource_type == "Patient" and base == "_id")
            if base not in ("patient", "subject", "_id") or (base == "_id" and self.resource_type != "Patient"):
                continue
            for item in value.split(","):
                if PATIENT_REFERENCE.fullmatch(item):
                    named.append(item)
                elif bare and is_id(item):
                    named.append(f"Patient/{item}")
        return tuple(dict.fromkeys(named))


def fhir_path_of(raw_path: bytes | str | None) -> str:
    """The still-encoded path after `/fhir` of a request's raw path; `NotFound` if it is not under it.

    The caller's duty: pass the raw path as the request sent it (ASGI `raw_path`), never the
    decoded one. None (a server that gives no raw path) is a fault of the assembly: `Unexpected`.
    """
    if raw_path is None:
        raise Unexpected()
    raw = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else raw_path
    raw = raw.partition("?")[0]
    if raw != FHIR_BASE_PATH and not raw.startswith(FHIR_BASE_PATH + "/"):
        raise NotFound(f"{raw[:200]!r} is not on the FHIR base {FHIR_BASE_PATH}")
    return raw[len(FHIR_BASE_PATH) :]


def parse_call(method: str, path: str, query: str, resource_types: frozenset[str]) -> FhirCall:
    """Classify a request on the FHIR base; raise for anything that is not a FHIR interaction.

    `path` may be percent-encoded (see the module doc on what is refused)."""
    parts = [_segment(part) for part in path.strip("/").split("/")] if path.strip("/") else []
    if any(not part for part in parts):
        raise NotFound(f"/{path.strip('/')[:200]} is not a FHIR interaction")
    shape = _shape(parts, resource_types)
    method = method.upper()
    return FhirCall(
        method=method,
        interaction=_only(method, shape.methods),
        resource_type=shape.resource_type,
        resource_id=shape.resource_id,
        version_id=shape.version_id,
        operation=shape.operation,
        params=tuple(parse_qsl(query, keep_blank_values=True)),
    )


class _Shape(NamedTuple):
    """A path's form: the interaction each method means on it, and what it names."""

    methods: Mapping[str, Interaction]
    resource_type: str | None = None
    resource_id: str | None = None
    version_id: str | None = None
    operation: str | None = None


_I = Interaction
_SYSTEM = {"POST": _I.TRANSACTION, "GET": _I.HISTORY}
_TYPE = {"GET": _I.SEARCH, "POST": _I.CREATE}
_INSTANCE = {"GET": _I.READ, "PUT": _I.UPDATE, "PATCH": _I.PATCH, "DELETE": _I.DELETE}
_SEARCH_POST = {"POST": _I.SEARCH}
_HISTORY = {"GET": _I.HISTORY}
_VREAD = {"GET": _I.VREAD}
_CAPABILITIES = {"GET": _I.CAPABILITIES}
_OPERATION_METHODS = {"GET": _I.OPERATION, "POST": _I.OPERATION}


def _shape(parts: list[str], resource_types: frozenset[str]) -> _Shape:
    match parts:
        case []:
            return _Shape(_SYSTEM)
        case ["metadata"]:
            return _Shape(_CAPABILITIES)
        case ["_history"]:
            return _Shape(_HISTORY)
        case [operation] if _OPERATION.fullmatch(operation):
            return _Shape(_OPERATION_METHODS, operation=operation)
        case [rtype, *_] if rtype not in resource_types:
            raise NotFound(f"{rtype[:70]!r} is not a resource type this FHIR store serves")
        case [rtype]:
            return _Shape(_TYPE, rtype)
        case [rtype, "_search"]:
            return _Shape(_SEARCH_POST, rtype)
        case [rtype, "_history"]:
            return _Shape(_HISTORY, rtype)
        case [rtype, operation] if _OPERATION.fullmatch(operation):
            return _Shape(_OPERATION_METHODS, rtype, operation=operation)
        case [rtype, rid]:
            return _Shape(_INSTANCE, rtype, _id(rid))
        case [rtype, rid, "_history"]:
            return _Shape(_HISTORY, rtype, _id(rid))
        case [rtype, rid, "_history", vid]:
            return _Shape(_VREAD, rtype, _id(rid), _id(vid))
        case [rtype, rid, operation] if _OPERATION.fullmatch(operation):
            return _Shape(_OPERATION_METHODS, rtype, _id(rid), operation=operation)
    raise NotFound(f"/{'/'.join(parts)[:200]} is not a FHIR interaction")


def _only(method: str, allowed: Mapping[str, Interaction]) -> Interaction:
    try:
        return allowed[method]
    except KeyError:
        raise MethodNotAllowed(f"{method} is not allowed here; allowed: {', '.join(sorted(allowed))}") from None


def _segment(raw: str) -> str:
    """One path segment, decoded once; refused if it would change the path's shape."""
    try:
        part = unquote(raw, errors="strict") if "%" in raw else raw
    except UnicodeDecodeError:
        raise BadRequest(f"the path segment {raw[:70]!r} is not percent-encoded UTF-8") from None
    if "/" in part or (part and set(part) == {"."}):
        raise BadRequest(f"the path segment {raw[:70]!r} is not accepted: it names no resource")
    return part


def _id(value: str) -> str:
    if not is_id(value):
        raise InvalidId(f"{value[:70]!r} is not a valid FHIR id")
    return value

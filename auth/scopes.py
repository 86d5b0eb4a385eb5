"""SMART App Launch v2 resource scopes, and the grant that is never wider than asked or allowed.

Grammar (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):

    scope       = context "/" type "." permissions [ "?" param *( "&" param ) ]
    context     = "patient" / "user" / "system"
    type        = "*" / a FHIR resource type name (e.g. "CarePlan")
    permissions = a non-empty subsequence of "cruds" in that order
                  / "read" (= "rs") / "write" (= "cud") / "*" (= "cruds")   SMART v1 forms
    param       = name "=" value                                            e.g. "category=PSY"

`str(Scope)` is the canonical v2 form: v1 permissions rewritten, parameters sorted.
Everything here is a pure function; nothing raises on a *requested* scope — a request that
cannot be parsed or granted is dropped and reported in `ScopeGrant.dropped`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "PERMISSION_ORDER",
    "Scope",
    "ScopeContext",
    "ScopeGrant",
    "ScopeSyntaxError",
    "grant",
    "grant_requested",
    "parse_scope",
]

PERMISSION_ORDER = "cruds"
"""The five SMART v2 permissions in their canonical order."""

_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_TYPE = re.compile(r"\*|[A-Z][A-Za-z]{1,63}")
_PERMISSIONS = re.compile(r"c?r?u?d?s?")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.:]{0,63}")
_PARAM_VALUE = re.compile(r"[^\s&?#=]{1,200}")
_MAX_SCOPE_LENGTH = 512


class ScopeSyntaxError(ValueError):
    """A string is not a SMART v2 (or v1) resource scope; the message says why."""


class ScopeContext(StrEnum):
    """Whose data a scope reaches: the patient in context, the user's, or the system's."""

    PATIENT = "patient"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class Scope:
    """One resource scope in canonical form.

    `permissions` is a non-empty subsequence of "cruds"; `params` is sorted and free of
    duplicates. Construct through `parse_scope` or with already-canonical values; the
    constructor refuses anything else with `ScopeSyntaxError`.
    """

    context: ScopeContext
    resource_type: str
    permissions: str
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _TYPE.fullmatch(self.resource_type):
            raise ScopeSyntaxError(f"{self.resource_type!r} is not '*' or a resource type")
        if not self.permissions or not _PERMISSIONS.fullmatch(self.permissions):
            raise ScopeSyntaxError(f"{self.permissions!r} is not a subsequence of 'cruds'")
        if list(self.params) != sorted(set(self.params)):
            raise ScopeSyntaxError("scope parameters must be sorted and unique")
        for name, value in self.params:
            if not _PARAM_NAME.fullmatch(name) or not _PARAM_VALUE.fullmatch(value):
                raise ScopeSyntaxError(f"bad scope parameter {name!r}")

    def __str__(self) -> str:
        text = f"{self.context.value}/{self.resource_type}.{self.permissions}"
        if self.params:
            text += "?" + "&".join(f"{name}={value}" for name, value in self.params)
        return text


@dataclass(frozen=True)
class ScopeGrant:
    """The outcome of a scope request: what is granted, and which requested words were dropped.

    `dropped` holds each requested word, verbatim, that was unparseable, not a resource scope
    (e.g. "openid"), or not covered by any allowed scope. It is for logging and diagnostics;
    the words are client input, so callers must not treat them as trusted.
    """

    granted: tuple[Scope, ...]
    dropped: tuple[str, ...]

    @property
    def scope_text(self) -> str:
        """The granted scopes as the space-separated string of an OAuth `scope` field."""
        return " ".join(str(scope) for scope in self.granted)


def parse_scope(text: str) -> Scope:
    """Parse one scope string; raise `ScopeSyntaxError` (with the reason) if it is not one."""
    if len(text) > _MAX_SCOPE_LENGTH:
        raise ScopeSyntaxError("scope is too long")
    context_text, slash, rest = text.partition("/")
    if not slash:
        raise ScopeSyntaxError(f"{text!r} has no '<context>/' prefix")
    try:
        context = ScopeContext(context_text)
    except ValueError:
        raise ScopeSyntaxError(f"{context_text!r} is not patient, user or system") from None
    body, question, query = rest.partition("?")
    resource_type, dot, permission_text = body.partition(".")
    if not dot:
        raise ScopeSyntaxError(f"{text!r} has no '.<permissions>'")
    permissions = _V1_PERMISSIONS.get(permission_text, permission_text)
    params = _parse_params(query) if question else ()
    return Scope(context, resource_type, permissions, params)


def grant(requested: Iterable[Scope], allowed: Iterable[Scope]) -> tuple[Scope, ...]:
    """The scopes to grant: each requested scope intersected with each allowed scope.

    Guarantees, for every granted scope and every (context, type, permission) it carries:
    some requested scope and some allowed scope both cover it. Contexts must be equal; an
    allowed `*` type covers any type and a requested `*` is narrowed to the allowed type. A
    requested scope with parameters is granted only by an allowed scope with exactly those
    parameters or none; a requested scope without parameters is narrowed to an allowed
    scope's parameters. Results with the same context, type and parameters are merged.
    The order follows the requested scopes, then the allowed ones.
    """
    allowed_scopes = tuple(allowed)
    common = (_intersect(wanted, permitted) for wanted in requested for permitted in allowed_scopes)
    return _merge(scope for scope in common if scope is not None)


def grant_requested(scope_text: str, allowed: Iterable[Scope]) -> ScopeGrant:
    """Grant from an OAuth `scope` string (space-separated); never raises on client input."""
    allowed_scopes = tuple(allowed)
    granted: list[Scope] = []
    dropped: list[str] = []
    for word in scope_text.split():
        try:
            wanted = parse_scope(word)
        except ScopeSyntaxError:
            dropped.append(word)
            continue
        this = grant([wanted], allowed_scopes)
        if this:
            granted.extend(this)
        else:
            dropped.append(word)
    return ScopeGrant(granted=_merge(granted), dropped=tuple(dropped))


def _parse_params(query: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if not equals or not _PARAM_NAME.fullmatch(name) or not _PARAM_VALUE.fullmatch(value):
            raise ScopeSyntaxError(f"{part!r} is not a 'name=value' scope parameter")
        pairs.append((name, value))
    if len(set(pairs)) != len(pairs):
        raise ScopeSyntaxError("a scope parameter is repeated")
    return tuple(sorted(pairs))


def _intersect(wanted: Scope, permitted: Scope) -> Scope | None:
    if wanted.context != permitted.context:
        return None
    if wanted.resource_type == "*":
        resource_type = permitted.resource_type
    elif permitted.resource_type in ("*", wanted.resource_type):
        resource_type = wanted.resource_type
    else:
        return None
    if wanted.params and permitted.params and wanted.params != permitted.params:
        return None
    params = wanted.params or permitted.params
    permissions = "".join(p for p in PERMISSION_ORDER if p in wanted.permissions and p in permitted.permissions)
    if not permissions:
        return None
    return Scope(wanted.context, resource_type, permissions, params)


def _merge(scopes: Iterable[Scope]) -> tuple[Scope, ...]:
    merged: dict[tuple[ScopeContext, str, tuple[tuple[str, str], ...]], str] = {}
    for scope in scopes:
        key = (scope.context, scope.resource_type, scope.params)
        before = merged.get(key, "")
        merged[key] = "".join(p for p in PERMISSION_ORDER if p in before or p in scope.permissions)
    return tuple(Scope(context, type_, perms, params) for (context, type_, params), perms in merged.items())

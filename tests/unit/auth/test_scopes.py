"""SMART v2 scopes: parsing tables, grant tables, and the never-wider property."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from auth.scopes import PERMISSION_ORDER, Scope, ScopeContext, ScopeSyntaxError, grant, grant_requested, parse_scope


@dataclass(frozen=True)
class ParseCase:
    name: str
    text: str
    want: str  # canonical form, or "" when the text must be refused


PARSE_CASES = [
    ParseCase("v2 read and search", "system/CarePlan.rs", "system/CarePlan.rs"),
    ParseCase("v2 all five", "user/CareTeam.cruds", "user/CareTeam.cruds"),
    ParseCase("v2 single permission", "patient/Goal.d", "patient/Goal.d"),
    ParseCase("wildcard type", "system/*.rs", "system/*.rs"),
    ParseCase("v1 read is rs", "system/CarePlan.read", "system/CarePlan.rs"),
    ParseCase("v1 write is cud", "user/Goal.write", "user/Goal.cud"),
    ParseCase("v1 star is cruds", "system/*.*", "system/*.cruds"),
    ParseCase("one parameter", "user/Observation.rs?category=PSY", "user/Observation.rs?category=PSY"),
    ParseCase(
        "parameters sorted",
        "user/Observation.rs?status=final&category=laboratory",
        "user/Observation.rs?category=laboratory&status=final",
    ),
    ParseCase(
        "token parameter with system",
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
    ),
    ParseCase("permissions out of order", "system/CarePlan.sr", ""),
    ParseCase("permission repeated", "system/CarePlan.rrs", ""),
    ParseCase("unknown permission letter", "system/CarePlan.x", ""),
    ParseCase("empty permissions", "system/CarePlan.", ""),
    ParseCase("no permissions", "system/CarePlan", ""),
    ParseCase("unknown context", "admin/CarePlan.rs", ""),
    ParseCase("no context", "CarePlan.rs", ""),
    ParseCase("lower-case type", "system/careplan.rs", ""),
    ParseCase("type with digit", "system/Care1.rs", ""),
    ParseCase("empty query", "system/CarePlan.rs?", ""),
    ParseCase("parameter without value", "system/CarePlan.rs?category", ""),
    ParseCase("parameter with empty value", "system/CarePlan.rs?category=", ""),
    ParseCase("parameter repeated", "system/CarePlan.rs?a=1&a=1", ""),
    ParseCase("openid is not a resource scope", "openid", ""),
    ParseCase("launch context is not a resource scope", "launch/patient", ""),
    ParseCase("v1 mixed case", "system/CarePlan.Read", ""),
    ParseCase("too long", "system/CarePlan.rs?a=" + "x" * 600, ""),
]


@pytest.mark.parametrize("case", PARSE_CASES, ids=lambda case: case.name)
def test_parse_scope(case: ParseCase) -> None:
    if case.want:
        assert str(parse_scope(case.text)) == case.want
    else:
        with pytest.raises(ScopeSyntaxError):
            parse_scope(case.text)


@dataclass(frozen=True)
class GrantCase:
    name: str
    requested: str
    allowed: tuple[str, ...]
    want: str  # the granted scopes, canonical and space-separated
    want_dropped: tuple[str, ...] = ()


GRANT_CASES = [
    GrantCase("exact", "system/CarePlan.rs", ("system/CarePlan.rs",), "system/CarePlan.rs"),
    GrantCase("narrowed to allowed", "system/CarePlan.cruds", ("system/CarePlan.rs",), "system/CarePlan.rs"),
    GrantCase("narrowed to requested", "system/CarePlan.r", ("system/CarePlan.cruds",), "system/CarePlan.r"),
    GrantCase(
        "wildcard request narrowed to allowed types",
        "system/*.cruds",
        ("system/CarePlan.rs", "system/Goal.r"),
        "system/CarePlan.rs system/Goal.r",
    ),
    GrantCase("allowed wildcard covers a type", "system/CareTeam.rs", ("system/*.rs",), "system/CareTeam.rs"),
    GrantCase("both wildcards", "system/*.s", ("system/*.rs",), "system/*.s"),
    GrantCase(
        "context must match",
        "user/CarePlan.rs",
        ("system/CarePlan.rs",),
        "",
        ("user/CarePlan.rs",),
    ),
    GrantCase(
        "patient context is not system",
        "patient/*.rs",
        ("system/*.cruds",),
        "",
        ("patient/*.rs",),
    ),
    GrantCase("type must match", "system/Patient.r", ("system/CarePlan.rs",), "", ("system/Patient.r",)),
    GrantCase("disjoint permissions", "system/CarePlan.cud", ("system/CarePlan.rs",), "", ("system/CarePlan.cud",)),
    GrantCase("v1 read", "system/CarePlan.read", ("system/CarePlan.cruds",), "system/CarePlan.rs"),
    GrantCase(
        "v1 write against read-only", "system/CarePlan.write", ("system/CarePlan.rs",), "", ("system/CarePlan.write",)
    ),
    GrantCase("v1 star", "system/Goal.*", ("system/Goal.rs",), "system/Goal.rs"),
    GrantCase(
        "parameters covered exactly",
        "user/Observation.rs?category=PSY",
        ("user/Observation.rs?category=PSY",),
        "user/Observation.rs?category=PSY",
    ),
    GrantCase(
        "parameters covered by an unparameterised scope",
        "user/Observation.rs?category=PSY",
        ("user/Observation.cruds",),
        "user/Observation.rs?category=PSY",
    ),
    GrantCase(
        "different parameters refused",
        "user/Observation.rs?category=SOC",
        ("user/Observation.rs?category=PSY",),
        "",
        ("user/Observation.rs?category=SOC",),
    ),
    GrantCase(
        "more parameters than allowed refused",
        "user/Observation.rs?category=PSY&status=final",
        ("user/Observation.rs?category=PSY",),
        "",
        ("user/Observation.rs?category=PSY&status=final",),
    ),
    GrantCase(
        "unparameterised request narrowed to allowed parameters",
        "user/Observation.rs",
        ("user/Observation.r?category=PSY",),
        "user/Observation.r?category=PSY",
    ),
    GrantCase(
        "non-resource scopes dropped",
        "openid fhirUser launch system/CarePlan.rs",
        ("system/CarePlan.rs",),
        "system/CarePlan.rs",
        ("openid", "fhirUser", "launch"),
    ),
    GrantCase(
        "malformed scopes dropped, never an error",
        "system/CarePlan.sr system/CarePlan system/CarePlan.r",
        ("system/*.cruds",),
        "system/CarePlan.r",
        ("system/CarePlan.sr", "system/CarePlan"),
    ),
    GrantCase(
        "same type merged",
        "system/CarePlan.r system/CarePlan.s",
        ("system/CarePlan.cruds",),
        "system/CarePlan.rs",
    ),
    GrantCase(
        "merged across allowed scopes",
        "system/CarePlan.cruds",
        ("system/CarePlan.r", "system/*.s"),
        "system/CarePlan.rs",
    ),
    GrantCase("empty request", "", ("system/*.cruds",), ""),
    GrantCase("whitespace only", "   ", ("system/*.cruds",), ""),
    GrantCase(
        "escalation attempt against a read-only client",
        "system/*.cruds system/CarePlan.cud user/*.cruds patient/*.cruds",
        ("system/CarePlan.rs", "system/CareTeam.rs", "system/Goal.rs"),
        "system/CarePlan.rs system/CareTeam.rs system/Goal.rs",
        ("system/CarePlan.cud", "user/*.cruds", "patient/*.cruds"),
    ),
]


@pytest.mark.parametrize("case", GRANT_CASES, ids=lambda case: case.name)
def test_grant_requested(case: GrantCase) -> None:
    result = grant_requested(case.requested, [parse_scope(text) for text in case.allowed])
    assert result.scope_text == case.want
    assert result.dropped == case.want_dropped


def test_grant_of_parsed_scopes_matches_grant_requested() -> None:
    requested = [parse_scope("system/*.cruds")]
    allowed = [parse_scope("system/CarePlan.rs"), parse_scope("system/Goal.r")]
    assert [str(s) for s in grant(requested, allowed)] == ["system/CarePlan.rs", "system/Goal.r"]


def test_scope_constructor_refuses_non_canonical_values() -> None:
    with pytest.raises(ScopeSyntaxError):
        Scope(ScopeContext.SYSTEM, "CarePlan", "sr")
    with pytest.raises(ScopeSyntaxError):
        Scope(ScopeContext.SYSTEM, "CarePlan", "rs", (("b", "1"), ("a", "1")))
    with pytest.raises(ScopeSyntaxError):
        Scope(ScopeContext.SYSTEM, "", "rs")


def _covers(scope: Scope, granted: Scope, permission: str) -> bool:
    return (
        scope.context == granted.context
        and scope.resource_type in ("*", granted.resource_type)
        and permission in scope.permissions
        and (not scope.params or scope.params == granted.params)
    )


def _random_scope(rng: random.Random) -> Scope:
    permissions = "".join(p for p in PERMISSION_ORDER if rng.random() < 0.5) or "r"
    params = rng.choice([(), (), (("category", "PSY"),), (("category", "SOC"),)])
    return Scope(
        rng.choice(list(ScopeContext)),
        rng.choice(["*", "CarePlan", "Goal", "CareTeam"]),
        permissions,
        params,
    )


def test_grant_is_never_wider_than_requested_or_allowed() -> None:
    rng = random.Random(20260101)
    for _ in range(2000):
        requested = [_random_scope(rng) for _ in range(rng.randint(0, 4))]
        allowed = [_random_scope(rng) for _ in range(rng.randint(0, 4))]
        for granted in grant(requested, allowed):
            for permission in granted.permissions:
                assert any(_covers(r, granted, permission) for r in requested), (requested, allowed, granted)
                assert any(_covers(a, granted, permission) for a in allowed), (requested, allowed, granted)

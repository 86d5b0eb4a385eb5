"""Reading FHIR REST calls off method and path, and refusing what is not one."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest, GatewayError, InvalidId, MethodNotAllowed, NotFound, Unexpected
from gateway.fhir.codes import Interaction
from gateway.proxy.call import fhir_path_of, parse_call

TYPES = frozenset({"CarePlan", "Goal", "Patient", "CareTeam"})

CASES = [
    # method, path, want: (interaction, type, id, version, operation)
    ("GET", "metadata", (Interaction.CAPABILITIES, None, None, None, None)),
    ("POST", "", (Interaction.TRANSACTION, None, None, None, None)),
    ("GET", "_history", (Interaction.HISTORY, None, None, None, None)),
    ("GET", "CarePlan", (Interaction.SEARCH, "CarePlan", None, None, None)),
    ("POST", "CarePlan/_search", (Interaction.SEARCH, "CarePlan", None, None, None)),
    ("POST", "CarePlan", (Interaction.CREATE, "CarePlan", None, None, None)),
    ("GET", "CarePlan/demo-plan", (Interaction.READ, "CarePlan", "demo-plan", None, None)),
    ("PUT", "CarePlan/demo-plan", (Interaction.UPDATE, "CarePlan", "demo-plan", None, None)),
    ("PATCH", "CarePlan/demo-plan", (Interaction.PATCH, "CarePlan", "demo-plan", None, None)),
    ("DELETE", "Goal/g.1", (Interaction.DELETE, "Goal", "g.1", None, None)),
    ("GET", "CarePlan/demo-plan/_history", (Interaction.HISTORY, "CarePlan", "demo-plan", None, None)),
    ("GET", "CarePlan/demo-plan/_history/3", (Interaction.VREAD, "CarePlan", "demo-plan", "3", None)),
    ("GET", "CarePlan/_history", (Interaction.HISTORY, "CarePlan", None, None, None)),
    ("GET", "Patient/demo-client/$everything", (Interaction.OPERATION, "Patient", "demo-client", None, "$everything")),
    ("POST", "Patient/$validate", (Interaction.OPERATION, "Patient", None, None, "$validate")),
    ("POST", "$graphql", (Interaction.OPERATION, None, None, None, "$graphql")),
    ("get", "/CarePlan/demo-plan/", (Interaction.READ, "CarePlan", "demo-plan", None, None)),
    ("GET", "CarePlan/demo%2Dplan", (Interaction.READ, "CarePlan", "demo-plan", None, None)),  # decoded once
]


@pytest.mark.parametrize(("method", "path", "want"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_calls_are_classified(method: str, path: str, want: tuple[object, ...]) -> None:
    call = parse_call(method, path, "", TYPES)
    assert (call.interaction, call.resource_type, call.resource_id, call.version_id, call.operation) == want


def test_query_keeps_order_repeats_and_blanks() -> None:
    call = parse_call("GET", "Goal", "subject=Patient/x&_include=a&_include=b&_count=", TYPES)
    assert call.params == (("subject", "Patient/x"), ("_include", "a"), ("_include", "b"), ("_count", ""))
    assert call.param_names() == {"subject", "_include", "_count"}


REFUSALS: list[tuple[str, str, type[GatewayError]]] = [
    ("GET", "Observation", NotFound),  # a type the store does not serve
    ("GET", "careplan/x", NotFound),
    ("GET", "CarePlan/x/y", NotFound),
    ("GET", "CarePlan//x", NotFound),
    ("GET", "CarePlan/" + "a" * 65, InvalidId),
    ("GET", "CarePlan/bad id", InvalidId),
    ("GET", "CarePlan/x/_history/v 1", InvalidId),
    ("PUT", "CarePlan", MethodNotAllowed),
    ("DELETE", "", MethodNotAllowed),
    ("POST", "CarePlan/x", MethodNotAllowed),
    ("PUT", "metadata", MethodNotAllowed),
    # ids and segments the store (or a URL library) would resolve into another path
    ("GET", "CarePlan/.", BadRequest),
    ("GET", "CarePlan/..", BadRequest),
    ("GET", "CarePlan/%2e", BadRequest),
    ("GET", "CarePlan/%2E%2e", BadRequest),
    ("GET", "CarePlan/./x", BadRequest),
    ("GET", "CarePlan/x/_history/.", BadRequest),
    ("GET", "Patient/..%2f_history", BadRequest),
    ("GET", "Patient/x%2Fy", BadRequest),
    ("GET", "../_history", BadRequest),
    ("GET", "CarePlan/%252e", InvalidId),  # decoded once only: "%2e" is no id
    ("GET", "CarePlan/%e2%82", BadRequest),  # not UTF-8
]


@pytest.mark.parametrize(("method", "path", "error"), REFUSALS, ids=[f"{m} {p[:20]}" for m, p, _ in REFUSALS])
def test_what_is_not_a_fhir_call_is_refused(method: str, path: str, error: type[GatewayError]) -> None:
    with pytest.raises(error):
        parse_call(method, path, "", TYPES)


@pytest.mark.parametrize(
    ("raw", "want"),
    [(b"/fhir", ""), (b"/fhir/", "/"), (b"/fhir/CarePlan/%2e", "/CarePlan/%2e"), ("/fhir/Goal?x=1", "/Goal")],
)
def test_the_fhir_path_is_taken_as_sent(raw: bytes | str, want: str) -> None:
    assert fhir_path_of(raw) == want


@pytest.mark.parametrize(
    ("raw", "error"), [(b"/%66hir/Goal", NotFound), (b"/fhirx/Goal", NotFound), (None, Unexpected)]
)
def test_a_raw_path_off_the_fhir_base_is_refused(raw: bytes | None, error: type[GatewayError]) -> None:
    with pytest.raises(error):
        fhir_path_of(raw)


@pytest.mark.parametrize(
    ("method", "path", "query", "want"),
    [
        ("GET", "Condition", "subject=Patient/demo-client", ("Patient/demo-client",)),
        ("GET", "Goal", "patient=demo-client&_count=5", ("Patient/demo-client",)),
        ("GET", "CarePlan", "subject:Patient=a1,b2", ("Patient/a1", "Patient/b2")),
        ("GET", "CarePlan", "patient=Patient/a1&subject=Patient/a1", ("Patient/a1",)),
        ("GET", "Patient/demo-client", "", ("Patient/demo-client",)),
        ("GET", "Patient/demo-client/_history/2", "", ("Patient/demo-client",)),
        ("GET", "Patient", "_id=a1,b2", ("Patient/a1", "Patient/b2")),
        ("GET", "Goal", "_id=a1", ()),  # a Goal's id names no client
        ("GET", "Goal", "subject=a1", ()),  # subject may name a Group: only a reference counts
        ("GET", "Goal", "subject=Patient/a%20b&patient=..%2Fx", ()),  # not FHIR ids
        ("GET", "CareTeam", "subject.name=Aino", ()),  # chained: names no id
    ],
)
def test_the_clients_a_call_names(method: str, path: str, query: str, want: tuple[str, ...]) -> None:
    resource_types = frozenset({"Condition", "Goal", "CarePlan", "Patient", "CareTeam"})
    assert parse_call(method, path, query, resource_types).named_clients() == want

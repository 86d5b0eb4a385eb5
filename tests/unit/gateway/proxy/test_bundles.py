"""Batch and transaction Bundles: each entry becomes the request it stands for, or its own error."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.access.seam import Reason
from gateway.errors import (
    BadRequest,
    Forbidden,
    GatewayError,
    IdMismatch,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    PreconditionRequired,
    UnsupportedMediaType,
    UnsupportedParameter,
)
from gateway.fhir.codes import Interaction
from gateway.proxy.bundles import MAX_ENTRIES, BundleEntry, entry_error, parse_bundle

TYPES = frozenset({"CarePlan", "Goal", "CareTeam", "Patient", "Condition", "Consent"})
FHIR = "application/fhir+json"
NEW_GOAL_URL = "urn:uuid:8c5f2c4e-2b8f-4f0e-9a56-6d1f4a0c9e11"
GOAL = {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "Kesätyö"},
        "subject": {"reference": "Patient/demo-client"}}  # fmt: skip
PLAN = {"resourceType": "CarePlan", "id": "demo-plan", "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/demo-client"}}  # fmt: skip
OPERATIONS = [{"op": "replace", "path": "/status", "value": "completed"}]


def _binary(operations: object, content_type: str = "application/json-patch+json") -> dict[str, Any]:
    data = base64.b64encode(json.dumps(operations).encode("utf-8")).decode("ascii")
    return {"resourceType": "Binary", "contentType": content_type, "data": data}


def _body(*entries: object, kind: str = "batch") -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": list(entries)}).encode("utf-8")


def _only(entry: object, kind: str = "batch") -> BundleEntry | GatewayError:
    parsed_kind, items = parse_bundle(_body(entry, kind=kind), FHIR, TYPES)
    assert parsed_kind == kind and len(items) == 1
    return items[0]


MIXED = [
    {"request": {"method": "GET", "url": "Patient/demo-client"}},
    {
        "fullUrl": NEW_GOAL_URL,
        "resource": {**GOAL, "id": "client-chosen"},
        "request": {"method": "POST", "url": "Goal"},
    },
    {"resource": PLAN, "request": {"method": "PUT", "url": "CarePlan/demo-plan", "ifMatch": 'W/"3"'}},
    {"resource": _binary(OPERATIONS), "request": {"method": "PATCH", "url": "CarePlan/demo-plan", "ifMatch": 'W/"4"'}},
    {"request": {"method": "DELETE", "url": "/Goal/demo-goal-home", "ifMatch": '"2"'}},
    {"request": {"method": "GET", "url": "Goal?subject=Patient/demo-client&_count=5"}},
    {"request": {"method": "GET", "url": "CarePlan/demo-plan/_history/3"}},
]


def test_a_batch_of_reads_and_writes() -> None:
    kind, items = parse_bundle(_body(*MIXED), FHIR, TYPES)
    assert kind == "batch"
    entries = [item for item in items if isinstance(item, BundleEntry)]
    assert len(entries) == len(MIXED)
    assert [e.position for e in entries] == list(range(len(MIXED)))
    assert [(e.call.method, e.call.interaction, e.call.resource_type, e.call.resource_id) for e in entries] == [
        ("GET", Interaction.READ, "Patient", "demo-client"),
        ("POST", Interaction.CREATE, "Goal", None),
        ("PUT", Interaction.UPDATE, "CarePlan", "demo-plan"),
        ("PATCH", Interaction.PATCH, "CarePlan", "demo-plan"),
        ("DELETE", Interaction.DELETE, "Goal", "demo-goal-home"),
        ("GET", Interaction.SEARCH, "Goal", None),
        ("GET", Interaction.VREAD, "CarePlan", "demo-plan"),
    ]
    read, create, update, patch, delete, search, vread = entries
    assert read.given is None and search.given is None and vread.given is None
    assert search.call.params == (("subject", "Patient/demo-client"), ("_count", "5"))
    assert vread.call.version_id == "3"
    assert create.full_url == NEW_GOAL_URL and read.full_url is None
    assert create.given is not None and create.given.resource == GOAL  # the client's id is dropped
    assert (create.given.if_match, create.given.patch) == (None, None)
    assert update.given is not None and (update.given.resource, update.given.if_match) == (PLAN, "3")
    assert patch.given is not None and patch.given.resource is None and patch.given.if_match == "4"
    assert patch.given.patch is not None and patch.given.patch.patch == OPERATIONS
    assert delete.given is not None and (delete.given.resource, delete.given.patch, delete.given.if_match) == (
        None,
        None,
        "2",
    )


def test_a_search_by_a_token_with_its_system_is_a_relative_url() -> None:
    """Only the URL's path must be relative: a token's system in the query is an absolute URI."""
    item = _only(
        {"request": {"method": "GET", "url": "CarePlan?identifier=https://yhteys.fi/fhir/sid/care-plan|PLAN-2026-0001"}}
    )
    assert isinstance(item, BundleEntry), item
    assert item.call.interaction is Interaction.SEARCH
    assert item.call.params == (("identifier", "https://yhteys.fi/fhir/sid/care-plan|PLAN-2026-0001"),)


def test_a_transaction_is_read_the_same_way() -> None:
    kind, items = parse_bundle(_body(*MIXED[1:5], kind="transaction"), FHIR, TYPES)
    assert kind == "transaction"
    assert [item.call.interaction for item in items if isinstance(item, BundleEntry)] == [
        Interaction.CREATE, Interaction.UPDATE, Interaction.PATCH, Interaction.DELETE,
    ]  # fmt: skip


def test_an_empty_bundle_has_no_entries() -> None:
    assert parse_bundle(b'{"resourceType": "Bundle", "type": "batch"}', FHIR, TYPES) == ("batch", [])


@dataclass(frozen=True)
class BundleCase:
    name: str
    body: bytes
    want: type[GatewayError]
    content_type: str = FHIR


BUNDLE_CASES = [
    BundleCase("not JSON", b"{", MalformedBody),
    BundleCase("not a Bundle", json.dumps(PLAN).encode(), MalformedBody),
    BundleCase("an array", b"[]", MalformedBody),
    BundleCase("a searchset", _body(kind="searchset"), BadRequest),
    BundleCase("a collection", _body(kind="collection"), BadRequest),
    BundleCase("a batch-response", _body(kind="batch-response"), BadRequest),
    BundleCase("no type", b'{"resourceType": "Bundle"}', BadRequest),
    BundleCase("entry not a list", b'{"resourceType": "Bundle", "type": "batch", "entry": {}}', MalformedBody),
    BundleCase("XML", _body(), UnsupportedMediaType, "application/fhir+xml"),
    BundleCase("no media type", _body(), UnsupportedMediaType, ""),
    BundleCase("too many entries", _body(*[MIXED[0]] * (MAX_ENTRIES + 1)), BadRequest),
    BundleCase("too many in a transaction", _body(*[MIXED[4]] * (MAX_ENTRIES + 1), kind="transaction"), BadRequest),
]


@pytest.mark.parametrize("case", BUNDLE_CASES, ids=lambda case: case.name)
def test_a_body_that_is_no_batch_or_transaction_is_refused_whole(case: BundleCase) -> None:
    with pytest.raises(GatewayError) as caught:
        parse_bundle(case.body, case.content_type, TYPES)
    assert type(caught.value) is case.want, caught.value


def test_max_entries_are_accepted() -> None:
    _, items = parse_bundle(_body(*[MIXED[0]] * MAX_ENTRIES), FHIR, TYPES)
    assert len(items) == MAX_ENTRIES and all(isinstance(item, BundleEntry) for item in items)


@dataclass(frozen=True)
class EntryCase:
    name: str
    entry: object
    want: type[GatewayError]
    kind: str = "batch"


def _put(url: str, **request: str) -> dict[str, Any]:
    return {"resource": PLAN, "request": {"method": "PUT", "url": url, **request}}


ENTRY_CASES = [
    EntryCase(
        "PUT without ifMatch",
        {"resource": PLAN, "request": {"method": "PUT", "url": "CarePlan/demo-plan"}},
        PreconditionRequired,
    ),
    EntryCase("PUT with a blank ifMatch", _put("CarePlan/demo-plan", ifMatch=" "), PreconditionRequired),
    EntryCase("PUT with a malformed ifMatch", _put("CarePlan/demo-plan", ifMatch="3"), BadRequest),
    EntryCase(
        "PATCH without ifMatch",
        {"resource": _binary(OPERATIONS), "request": {"method": "PATCH", "url": "CarePlan/demo-plan"}},
        PreconditionRequired,
    ),
    EntryCase(
        "DELETE without ifMatch",
        {"request": {"method": "DELETE", "url": "Goal/demo-goal-home"}},
        PreconditionRequired,
        "transaction",
    ),
    EntryCase(
        "ifNoneExist",
        {"resource": GOAL, "request": {"method": "POST", "url": "Goal", "ifNoneExist": "identifier=x"}},
        UnsupportedParameter,
    ),
    EntryCase(
        "ifNoneMatch",
        {"request": {"method": "GET", "url": "Goal/demo-goal-home", "ifNoneMatch": 'W/"2"'}},
        UnsupportedParameter,
    ),
    EntryCase(
        "ifModifiedSince",
        {"request": {"method": "GET", "url": "Goal/demo-goal-home", "ifModifiedSince": "2026-01-01"}},
        UnsupportedParameter,
    ),
    EntryCase("conditional PUT", _put("CarePlan?identifier=PLAN-2026-0001", ifMatch='W/"3"'), MethodNotAllowed),
    EntryCase(
        "conditional DELETE",
        {"request": {"method": "DELETE", "url": "Goal?subject=Patient/demo-client", "ifMatch": 'W/"1"'}},
        MethodNotAllowed,
    ),
    EntryCase(
        "PUT with a query", _put("CarePlan/demo-plan?identifier=PLAN-2026-0001", ifMatch='W/"3"'), UnsupportedParameter
    ),
    EntryCase(
        "POST with a query",
        {"resource": GOAL, "request": {"method": "POST", "url": "Goal?identifier=x"}},
        UnsupportedParameter,
    ),
    EntryCase(
        "absolute URL",
        {"request": {"method": "GET", "url": "https://elsewhere.example/fhir/Patient/demo-client"}},
        MalformedBody,
    ),
    EntryCase("empty URL", {"request": {"method": "GET", "url": ""}}, MalformedBody),
    EntryCase("no method", {"request": {"url": "Patient/demo-client"}}, MalformedBody),
    EntryCase("no request", {"resource": GOAL}, MalformedBody),
    EntryCase("entry not an object", "GET Patient/demo-client", MalformedBody),
    EntryCase("unknown resource type", {"request": {"method": "GET", "url": "Observation/x"}}, NotFound),
    EntryCase(
        "instance operation", {"request": {"method": "GET", "url": "Patient/demo-client/$everything"}}, BadRequest
    ),
    EntryCase("type operation", {"request": {"method": "POST", "url": "CarePlan/$apply"}}, BadRequest),
    EntryCase("system operation", {"request": {"method": "POST", "url": "$process-message"}}, BadRequest),
    EntryCase("nested transaction", {"request": {"method": "POST", "url": "/"}}, BadRequest),
    EntryCase("history", {"request": {"method": "GET", "url": "CarePlan/demo-plan/_history"}}, BadRequest),
    EntryCase("capabilities", {"request": {"method": "GET", "url": "metadata"}}, BadRequest),
    EntryCase("create without a resource", {"request": {"method": "POST", "url": "Goal"}}, MalformedBody),
    EntryCase("create of another type", {"resource": PLAN, "request": {"method": "POST", "url": "Goal"}}, BadRequest),
    EntryCase("update of another id", _put("CarePlan/other-plan", ifMatch='W/"3"'), IdMismatch),
    EntryCase(
        "PATCH not in a Binary",
        {
            "resource": {"resourceType": "Parameters"},
            "request": {"method": "PATCH", "url": "CarePlan/demo-plan", "ifMatch": 'W/"4"'},
        },
        MalformedBody,
    ),
    EntryCase(
        "PATCH Binary not base64",
        {
            "resource": {**_binary(OPERATIONS), "data": "not base64!"},
            "request": {"method": "PATCH", "url": "CarePlan/demo-plan", "ifMatch": 'W/"4"'},
        },
        MalformedBody,
    ),
    EntryCase(
        "PATCH Binary of FHIRPath",
        {
            "resource": _binary({"resourceType": "Parameters"}, "application/fhir+json"),
            "request": {"method": "PATCH", "url": "CarePlan/demo-plan", "ifMatch": 'W/"4"'},
        },
        UnsupportedMediaType,
    ),
    EntryCase(
        "PATCH Binary of no patch",
        {
            "resource": _binary([{"op": "frobnicate", "path": "/status"}]),
            "request": {"method": "PATCH", "url": "CarePlan/demo-plan", "ifMatch": 'W/"4"'},
        },
        MalformedBody,
    ),
]


@pytest.mark.parametrize("case", ENTRY_CASES, ids=lambda case: case.name)
def test_a_refused_entry_becomes_its_own_error(case: EntryCase) -> None:
    _, items = parse_bundle(_body(MIXED[0], case.entry, MIXED[0], kind=case.kind), FHIR, TYPES)
    first, refused, last = items
    assert isinstance(first, BundleEntry) and isinstance(last, BundleEntry) and last.position == 2
    assert type(refused) is case.want, refused
    assert isinstance(refused, GatewayError) and refused.message.startswith("Bundle.entry[1]: ")
    assert refused.status_code == case.want.status_code and refused.issue_code == case.want.issue_code


def test_entry_error_keeps_class_status_and_reasons() -> None:
    reason = Reason("psy-hidden", "https://yhteys.fi/fhir/policy/rule/psy-hidden", "fi", "sv", "en")
    error = entry_error(7, Forbidden("access denied", (reason,)))
    assert type(error) is Forbidden and error.status_code == 403
    assert error.message == "Bundle.entry[7]: access denied" and str(error) == error.message
    assert error.reasons == (reason,)

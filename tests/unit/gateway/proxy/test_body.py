"""A write's body and preconditions are checked strictly, each failure with its own error class."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from gateway.errors import (
    BadRequest,
    GatewayError,
    IdMismatch,
    MalformedBody,
    PayloadTooLarge,
    PreconditionRequired,
    UnsupportedMediaType,
)
from gateway.proxy.body import if_match_version, patch_of, read_body, resource_of

FHIR = "application/fhir+json"
PATCH = "application/json-patch+json"
GOAL = {"resourceType": "Goal", "id": "demo-goal-home", "lifecycleStatus": "active"}


def _json(value: object) -> bytes:
    return json.dumps(value).encode("utf-8")


def _raises(kind: type[GatewayError], call: Any, *args: Any) -> GatewayError:
    """The error `call(*args)` raises, which must be exactly of class `kind`."""
    with pytest.raises(GatewayError) as caught:
        call(*args)
    assert type(caught.value) is kind, caught.value
    return caught.value


@pytest.mark.parametrize(
    "content_type", [FHIR, "application/json", "application/fhir+json; charset=utf-8", "Application/FHIR+JSON"]
)
def test_a_resource_in_a_fhir_media_type_is_read(content_type: str) -> None:
    assert resource_of(_json(GOAL), content_type, "Goal", "demo-goal-home") == GOAL


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/xml", "application/fhir+xml", PATCH, "application/json5"]
)
def test_a_resource_in_another_media_type_is_unsupported(content_type: str) -> None:
    error = _raises(UnsupportedMediaType, resource_of, _json(GOAL), content_type, "Goal", "demo-goal-home")
    assert error.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"resourceType": "Goal",}',
        b'{"resourceType": "Goal", "priority": NaN}',
        b'{"resourceType": "Goal", "priority": Infinity}',
        b'{"resourceType": "Goal", "priority": -Infinity}',
        b'{"resourceType": "Goal", "resourceType": "Goal"}',
        b'{"resourceType": "Goal", "note": [{"text": "a", "text": "b"}]}',
        '{"resourceType": "Goal", "id": "ä"}'.encode("latin-1"),
        b"\xef\xbb\xbf" + _json(GOAL),  # a byte-order mark is not JSON
        b"[]",
        b'"Goal"',
        _json([GOAL]),
        _json({"id": "demo-goal-home"}),
        _json({"resourceType": 7, "id": "demo-goal-home"}),
    ],
    ids=[
        "empty",
        "text",
        "trailing comma",
        "NaN",
        "Infinity",
        "-Infinity",
        "duplicate key",
        "nested duplicate key",
        "latin-1",
        "BOM",
        "empty array",
        "string",
        "array of resources",
        "no resourceType",
        "resourceType not a string",
    ],
)
def test_a_body_that_is_no_strict_json_resource_is_malformed(body: bytes) -> None:
    error = _raises(MalformedBody, resource_of, body, FHIR, "Goal", "demo-goal-home")
    assert error.status_code == 400 and error.issue_code == "structure"


DEEP = b"[" * 50_000 + b"]" * 50_000
"""A 100 kB array nested past Python's recursion limit: well under the body limit, and no JSON a store reads."""


@pytest.mark.parametrize(
    ("read", "content_type"),
    [(lambda body, content_type: resource_of(body, content_type, "Goal", None), FHIR), (patch_of, PATCH)],
    ids=["resource", "patch"],
)
def test_json_nested_too_deep_is_malformed_not_a_crash(read: Any, content_type: str) -> None:
    _raises(MalformedBody, read, DEEP, content_type)


def test_a_resource_of_another_type_than_the_url_is_a_bad_request() -> None:
    error = _raises(
        BadRequest, resource_of, _json({**GOAL, "resourceType": "CarePlan"}), FHIR, "Goal", "demo-goal-home"
    )
    assert "CarePlan" in error.message and "Goal" in error.message


@pytest.mark.parametrize(
    "body", [{**GOAL, "id": "demo-goal-studies"}, {k: v for k, v in GOAL.items() if k != "id"}, {**GOAL, "id": 5}]
)
def test_an_update_body_must_carry_the_urls_id(body: dict[str, Any]) -> None:
    assert _raises(IdMismatch, resource_of, _json(body), FHIR, "Goal", "demo-goal-home").status_code == 400


def test_a_create_drops_the_id() -> None:
    assert resource_of(_json(GOAL), FHIR, "Goal", None) == {"resourceType": "Goal", "lifecycleStatus": "active"}
    assert resource_of(_json({"resourceType": "Goal"}), FHIR, "Goal", None) == {"resourceType": "Goal"}


def test_unicode_is_kept() -> None:
    body = {**GOAL, "description": {"text": "Haluan muuttaa omaan kotiin – ääkköset ja 🏠"}}
    assert resource_of(json.dumps(body, ensure_ascii=False).encode("utf-8"), FHIR, "Goal", "demo-goal-home") == body


OPERATIONS = [{"op": "replace", "path": "/status", "value": "completed"}, {"op": "remove", "path": "/note/0"}]


@pytest.mark.parametrize("content_type", [PATCH, "application/json-patch+json; charset=utf-8"])
def test_a_json_patch_is_read(content_type: str) -> None:
    assert patch_of(_json(OPERATIONS), content_type).patch == OPERATIONS
    assert patch_of(b"[]", content_type).patch == []


@pytest.mark.parametrize("content_type", ["", FHIR, "application/json", "application/merge-patch+json"])
def test_a_patch_in_another_media_type_is_unsupported(content_type: str) -> None:
    assert _raises(UnsupportedMediaType, patch_of, _json(OPERATIONS), content_type).status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        _json(OPERATIONS[0]),
        _json({"resourceType": "Parameters"}),
        _json([OPERATIONS[0], "remove /note"]),
        _json([[OPERATIONS[0]]]),
        _json([{"op": "frobnicate", "path": "/status"}]),
        _json([{"path": "/status", "value": "completed"}]),
        _json([{"op": "replace", "value": "completed"}]),
        _json([{"op": "replace", "path": "status", "value": "completed"}]),
        _json([{"op": "replace", "path": 5, "value": "completed"}]),
        b'[{"op": "replace", "op": "remove", "path": "/status"}]',
    ],
    ids=[
        "not json",
        "an object",
        "FHIRPath patch",
        "a string operation",
        "nested array",
        "unknown op",
        "no op",
        "no path",
        "path without slash",
        "path not a string",
        "duplicate key",
    ],
)
def test_a_malformed_patch_is_refused(body: bytes) -> None:
    _raises(MalformedBody, patch_of, body, PATCH)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_if_match_is_a_required_precondition(value: str | None) -> None:
    assert _raises(PreconditionRequired, if_match_version, value).status_code == 428


@pytest.mark.parametrize(
    ("value", "version"), [('W/"3"', "3"), ('"3"', "3"), (' W/"12" ', "12"), ('W/"a-b.C"', "a-b.C")]
)
def test_if_match_names_one_version(value: str, version: str) -> None:
    assert if_match_version(value) == version


@pytest.mark.parametrize(
    "value", ["3", "W/3", "*", 'W/""', 'W/"3", W/"4"', 'w/"3"', 'W/"3 4"', 'W/"3"x', f'W/"{"9" * 65}"']
)
def test_a_malformed_if_match_is_a_bad_request(value: str) -> None:
    _raises(BadRequest, if_match_version, value)


def _request(chunks: list[bytes], content_length: int | None) -> tuple[Request, list[bytes]]:
    """A request streaming `chunks`, and the list of chunks it has handed out so far."""
    sent: list[bytes] = []
    remaining = list(chunks)

    async def receive() -> Message:
        if not remaining:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = remaining.pop(0)
        sent.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(remaining)}

    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/fhir/Goal", "query_string": b"", "headers": headers}
    return Request(scope, receive), sent


@pytest.mark.parametrize("declared", [True, False], ids=["with Content-Length", "streamed"])
def test_a_body_at_the_limit_is_read_whole(declared: bool) -> None:
    chunks = [b"a" * 4, b"b" * 4, b"c" * 2]
    request, _ = _request(chunks, 10 if declared else None)
    assert asyncio.run(read_body(request, 10)) == b"aaaabbbbcc"


def test_a_declared_body_over_the_limit_is_refused_before_reading() -> None:
    request, sent = _request([b"x" * 11], 11)
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(request, 10))
    assert sent == []


@pytest.mark.parametrize("declared", [None, 5], ids=["no Content-Length", "understated Content-Length"])
def test_a_streamed_body_over_the_limit_is_refused_while_reading(declared: int | None) -> None:
    request, sent = _request([b"x" * 6, b"y" * 5, b"z" * 100, b"never read"], declared)
    with pytest.raises(PayloadTooLarge) as caught:
        asyncio.run(read_body(request, 10))
    assert caught.value.status_code == 413
    assert sent == [b"x" * 6, b"y" * 5]  # it stops at the first chunk past the limit


def test_a_content_length_that_is_no_ascii_number_is_not_trusted() -> None:
    """'²' (latin-1 0xB2) passes str.isdigit but is no Content-Length: the body is read and limited as streamed."""
    request, _ = _request([b"{}"], None)
    request.scope["headers"] = [(b"content-length", b"\xb2")]
    assert asyncio.run(read_body(request, 10)) == b"{}"

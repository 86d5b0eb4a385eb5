"""What one page of a self-read may be: a searchset Bundle with every match and no `next` link."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gateway.store.client import Upstream, UpstreamResponse
from gateway.store.search import PAGE_SIZE, SearchFailed, _page, search_all

_CONSENT = {"resourceType": "Consent", "id": "c1"}


def _answer(body: Any, status: int = 200) -> UpstreamResponse:
    return UpstreamResponse(status, {}, json.dumps(body).encode())


def _bundle(*, link: list[dict[str, str]] | None = None, entry: list[Any] | None = None) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "link": link or [], "entry": entry or []}


def test_the_page_s_resources_are_read_and_outcomes_skipped() -> None:
    outcome = {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}
    answer = _answer(_bundle(link=[{"relation": "self", "url": "x"}], entry=[{"resource": _CONSENT}, outcome]))
    assert _page(answer, "Consent") == [_CONSENT]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (_answer(_bundle(link=[{"relation": "next", "url": "x"}], entry=[{"resource": _CONSENT}])), "a next link"),
        (_answer(_bundle(), status=404), "answered 404"),
        (_answer({"resourceType": "Bundle", "type": "batch-response"}), "not a searchset Bundle"),
        (_answer(_bundle(entry=[{"resource": {"resourceType": "Patient"}}])), "not a Consent"),
    ],
)
def test_anything_else_fails(answer: UpstreamResponse, why: str) -> None:
    with pytest.raises(SearchFailed, match=why):
        _page(answer, "Consent")


@pytest.mark.parametrize("page_size", [0, -1, PAGE_SIZE + 1])
def test_a_page_larger_than_the_stores_is_refused_before_anything_is_sent(page_size: int) -> None:
    nowhere = Upstream("http://127.0.0.1:9/fhir")  # a request that left would fail otherwise
    with pytest.raises(ValueError, match="page_size"):
        asyncio.run(search_all(nowhere, "Consent", {"patient": "Patient/x"}, page_size=page_size))

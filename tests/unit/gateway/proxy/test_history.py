"""What the caller is told of a plan's or a team's version: headers, Bundle responses, entries."""

from __future__ import annotations

from typing import Any

from gateway.proxy.history import seen_entry, seen_headers, seen_response

NAME = "0123456789abcdef0123456789abcdef"
VIEW: dict[str, Any] = {
    "resourceType": "CarePlan",
    "id": "p1",
    "meta": {"versionId": NAME, "lastUpdated": "2026-12-03T07:45:57.650+00:00"},
}
STORE_HEADERS = {
    "etag": 'W/"5"',
    "last-modified": "Thu, 03 Dec 2026 09:00:00 GMT",
    "location": "https://gw/fhir/CarePlan/p1/_history/5",
    "content-location": "https://gw/fhir/CarePlan/p1/_history/5",
}


def test_headers_name_the_version_seen_and_when_its_content_came_to_be() -> None:
    assert seen_headers(STORE_HEADERS, "CarePlan", VIEW) == {
        "etag": f'W/"{NAME}"',
        "last-modified": "Thu, 03 Dec 2026 07:45:57 GMT",
        "location": f"https://gw/fhir/CarePlan/p1/_history/{NAME}",
        "content-location": f"https://gw/fhir/CarePlan/p1/_history/{NAME}",
    }


def test_without_a_view_a_named_type_shows_no_store_version() -> None:
    assert seen_headers(STORE_HEADERS, "CareTeam", None) == {}
    assert seen_headers({"content-location": "https://gw/fhir/CareTeam/t"}, "CareTeam", None) == {
        "content-location": "https://gw/fhir/CareTeam/t"
    }


def test_other_types_keep_the_stores_versions() -> None:
    goal = {**VIEW, "resourceType": "Goal"}
    assert seen_headers(STORE_HEADERS, "Goal", goal) == STORE_HEADERS
    response = {"status": "200 OK", "etag": 'W/"5"', "location": "Goal/g/_history/5", "outcome": {}}
    assert seen_response(response, "Goal", goal) == {
        "status": "200 OK",
        "etag": 'W/"5"',
        "location": "Goal/g/_history/5",
    }


def test_a_transaction_response_names_the_version_seen() -> None:
    response = {
        "status": "200 OK",
        "location": "CarePlan/p1/_history/5",
        "etag": "5",
        "lastModified": "x",
        "outcome": {},
    }
    assert seen_response(response, "CarePlan", VIEW) == {
        "status": "200 OK",
        "location": f"CarePlan/p1/_history/{NAME}",
        "etag": f'W/"{NAME}"',
        "lastModified": "2026-12-03T07:45:57.650+00:00",
    }
    assert seen_response({"status": "204 No Content", "etag": "6"}, "CarePlan", None) == {"status": "204 No Content"}


def test_a_history_entry_names_the_version_seen() -> None:
    entry = {
        "fullUrl": "https://gw/fhir/CarePlan/p1",
        "request": {"method": "PUT", "url": "CarePlan/p1/_history/5"},
        "response": {"status": "200 OK", "etag": 'W/"5"', "lastModified": "2026-12-03T09:00:00Z"},
        "resource": {"resourceType": "CarePlan"},
    }
    assert seen_entry(entry, VIEW) == {
        "fullUrl": "https://gw/fhir/CarePlan/p1",
        "request": {"method": "PUT", "url": f"CarePlan/p1/_history/{NAME}"},
        "response": {"status": "200 OK", "etag": f'W/"{NAME}"'},
    }
    search = {"fullUrl": "https://gw/fhir/Goal/g", "search": {"mode": "match"}, "resource": {}}
    assert seen_entry(search, {**VIEW, "resourceType": "Goal"}) == {k: v for k, v in search.items() if k != "resource"}

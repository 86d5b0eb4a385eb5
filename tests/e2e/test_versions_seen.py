"""An edit only to hidden parts changes no version the caller sees (issue 9, item 8).

Against the real HAPI through the in-process gateway, on fresh copies of the demo client: the
plan's psychiatric activity and the team's psychiatric members are labelled PSY, hidden from
the youth worker and the curator, seen by the psychiatric nurse. A plan's or a team's version,
ETag, Last-Modified, history and vread are those of what the caller sees; If-Match names that
version and still guards the store's.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from gateway.fhir.media import FHIR_JSON
from tests.e2e.gateway_harness import (
    CURATOR,
    ISSUER,
    PSYCH_NURSE,
    WRITE_SCOPES,
    YOUTH_WORKER,
    Client,
    Gateway,
    Member,
    assert_answered_as_missing,
)
from tests.e2e.gateway_harness import token as _token

_SECTOR_URL = "https://yhteys.fi/fhir/StructureDefinition/activity-owning-sector"


def _read(call: Gateway, member: Member, path: str) -> httpx.Response:
    response = call("GET", f"/fhir/{path}", _token(member, WRITE_SCOPES))
    assert response.status_code == 200, response.text
    return response


def _put(call: Gateway, member: Member, resource: dict[str, Any], etag: str) -> httpx.Response:
    path = f"/fhir/{resource['resourceType']}/{resource['id']}"
    body = json.dumps(resource).encode()
    return call("PUT", path, _token(member, WRITE_SCOPES), body, FHIR_JSON, {"If-Match": etag})


def _activity(plan: dict[str, Any], sector: str) -> dict[str, Any]:
    return next(
        a for a in plan["activity"] if sector in json.dumps([e for e in a["extension"] if e["url"] == _SECTOR_URL])
    )


def _store(fhir: httpx.Client, path: str) -> dict[str, Any]:
    body: dict[str, Any] = fhir.get(f"/{path}", headers={"Cache-Control": "no-cache"}).json()
    return body


def _store_put(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    path = f"/{resource['resourceType']}/{resource['id']}"
    assert fhir.put(path, json=resource, headers={"Content-Type": FHIR_JSON}).status_code == 200


def _history(call: Gateway, member: Member, path: str) -> list[dict[str, Any]]:
    response = call("GET", f"/fhir/{path}/_history", _token(member))
    assert response.status_code == 200, response.text
    return list(response.json().get("entry", []))


def _nurse_edits_the_psy_activity(call: Gateway, client: Client, text: str) -> None:
    plan = _read(call, PSYCH_NURSE, client.ref("plan"))
    body = plan.json()
    _activity(body, "hospital-psychiatry")["detail"]["description"] = text
    answer = _put(call, PSYCH_NURSE, body, plan.headers["etag"])
    assert answer.status_code == 200, answer.text


def test_an_edit_only_to_hidden_parts_changes_nothing_the_caller_sees(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    before, history_before = _read(call, YOUTH_WORKER, plan), _history(call, YOUTH_WORKER, plan)
    _nurse_edits_the_psy_activity(call, client, "Lääkitys arvioidaan uudelleen.")
    assert _store(fhir, plan)["meta"]["versionId"] == "2"  # the store has a new version
    after = _read(call, YOUTH_WORKER, plan)
    assert after.content == before.content  # versionId, lastUpdated and source included
    assert after.headers["etag"] == before.headers["etag"]
    assert after.headers["last-modified"] == before.headers["last-modified"]
    seen_after = _history(call, YOUTH_WORKER, plan)
    assert seen_after == history_before and len(seen_after) == 1
    nurse = _history(call, PSYCH_NURSE, plan)  # who sees the edit sees both versions
    assert len(nurse) == 2 and nurse[0]["resource"]["meta"]["lastUpdated"] == _store(fhir, plan)["meta"]["lastUpdated"]
    for number in ("1", "2"):  # the store's numbers are no versions of the caller's
        hidden = call("GET", f"/fhir/{plan}/_history/{number}", _token(YOUTH_WORKER))
        missing = call("GET", f"/fhir/{plan}/_history/{'9' * 32}", _token(YOUTH_WORKER))
        assert_answered_as_missing(hidden, missing, f"{plan}/_history/{number}", f"{plan}/_history/{'9' * 32}")


def test_if_match_names_what_the_writer_saw_and_still_refuses_a_stale_version(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    read = _read(call, CURATOR, plan)
    _nurse_edits_the_psy_activity(call, client, "Lääkitys arvioidaan uudelleen.")
    mine = read.json()
    _activity(mine, "school-welfare")["detail"]["description"] = "Tapaamiset joka toinen viikko."
    written = _put(call, CURATOR, mine, read.headers["etag"])  # the hidden edit did not make it stale
    assert written.status_code == 200, written.text
    stored = _store(fhir, plan)
    assert stored["meta"]["versionId"] == "3"
    assert _activity(stored, "hospital-psychiatry")["detail"]["description"] == "Lääkitys arvioidaan uudelleen."
    version = written.json()["meta"]["versionId"]
    assert written.headers["etag"] == f'W/"{version}"' != read.headers["etag"]
    assert written.headers["content-location"] == f"{ISSUER}/fhir/{plan}/_history/{version}"
    again = _read(call, CURATOR, plan)
    assert again.headers["etag"] == written.headers["etag"] and again.json() == written.json()
    _activity(mine, "school-welfare")["detail"]["description"] = "Tapaamiset viikoittain."
    stale = _put(call, CURATOR, mine, read.headers["etag"])  # a change it can see did
    assert stale.status_code == 412, stale.text
    assert version in stale.text and "Lääkitys" not in stale.text
    assert _store(fhir, plan)["meta"]["versionId"] == "3"


def test_removing_a_hidden_member_or_activity_changes_no_version(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    for path, element in ((client.ref("team"), "participant"), (client.ref("plan"), "activity")):
        before = _read(call, YOUTH_WORKER, path)
        stored = _store(fhir, path)
        stored[element] = [part for part in stored[element] if "PSY" not in json.dumps(part)]
        _store_put(fhir, stored)
        after = _read(call, YOUTH_WORKER, path)
        assert (after.content, after.headers["etag"]) == (before.content, before.headers["etag"]), path
        assert len(_history(call, YOUTH_WORKER, path)) == 1
        assert len(_history(call, PSYCH_NURSE, path)) == 2


def _four_visible_versions(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    """The plan's activities given ids (with them, earlier activities pair with today's), then
    two changes the curator and the youth worker see, each followed by one they do not."""
    plan = client.ref("plan")
    stored = _store(fhir, plan)
    for number, activity in enumerate(stored["activity"]):
        activity["id"] = f"activity-{number}"
    _store_put(fhir, stored)
    for text in ("Tapaamiset kerran viikossa.", "Tapaamiset joka toinen viikko."):
        read = _read(call, CURATOR, plan)
        body = read.json()
        _activity(body, "school-welfare")["detail"]["description"] = text
        assert _put(call, CURATOR, body, read.headers["etag"]).status_code == 200
        _nurse_edits_the_psy_activity(call, client, f"Arvio: {text}")


def test_a_hidden_edit_between_pages_of_a_history_shifts_no_page(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    _four_visible_versions(call, fhir, client)
    for text in ("Tapaamiset kuukausittain.", "Tapaamiset tarvittaessa."):  # two it sees, newest first:
        read = _read(call, CURATOR, plan)  # moved one down, the second page would begin at the first
        body = read.json()
        _activity(body, "school-welfare")["detail"]["description"] = text
        assert _put(call, CURATOR, body, read.headers["etag"]).status_code == 200
    whole = _history(call, YOUTH_WORKER, plan)
    assert len(whole) == 6
    first = call("GET", f"/fhir/{plan}/_history?_count=1", _token(YOUTH_WORKER)).json()
    _nurse_edits_the_psy_activity(call, client, "Arvio välissä.")  # the store's history grows by one
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    rest = _pages(call, YOUTH_WORKER, link.removeprefix(ISSUER))
    assert [first["entry"][0], *(page["entry"][0] for page in rest)] == whole


def test_history_and_vread_name_the_versions_the_caller_sees(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan = client.ref("plan")
    _four_visible_versions(call, fhir, client)
    entries = _history(call, YOUTH_WORKER, plan)
    versions = [entry["resource"]["meta"]["versionId"] for entry in entries]
    assert len(versions) == len(set(versions)) == 4  # the first, the ids, and two visible changes
    assert versions[0] == _read(call, YOUTH_WORKER, plan).json()["meta"]["versionId"]
    updated = [entry["resource"]["meta"]["lastUpdated"] for entry in entries]
    assert updated == sorted(updated, reverse=True)
    for entry, version in zip(entries, versions, strict=True):
        assert entry["response"]["etag"] == f'W/"{version}"' and entry["request"]["url"].endswith(version)
        vread = call("GET", f"/fhir/{plan}/_history/{version}", _token(YOUTH_WORKER))
        assert vread.status_code == 200, vread.text
        assert vread.json() == entry["resource"] and vread.headers["etag"] == f'W/"{version}"'
    assert "Arvio" not in json.dumps(entries)
    paged = [page["entry"][0] for page in _pages(call, YOUTH_WORKER, f"/fhir/{plan}/_history?_count=1")]
    assert paged == entries


def _pages(call: Gateway, member: Member, path: str) -> list[dict[str, Any]]:
    pages, url = [], path
    while url:
        answer = call("GET", url, _token(member))
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        url = next((link["url"] for link in pages[-1]["link"] if link["relation"] == "next"), "").removeprefix(ISSUER)
    return pages


def test_a_transaction_answers_the_versions_the_writer_sees(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan = client.ref("plan")
    _nurse_edits_the_psy_activity(call, client, "Lääkitys arvioidaan uudelleen.")
    read = _read(call, CURATOR, plan)
    body = read.json()
    _activity(body, "school-welfare")["detail"]["description"] = "Tapaamiset kerran kuussa."
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": body, "request": {"method": "PUT", "url": plan, "ifMatch": read.headers["etag"]}}],
    }
    answer = call("POST", "/fhir", _token(CURATOR, WRITE_SCOPES), json.dumps(bundle).encode(), FHIR_JSON)
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["entry"]
    seen = _read(call, CURATOR, plan).json()
    version = seen["meta"]["versionId"]
    assert _store(fhir, plan)["meta"]["versionId"] == "3"
    assert entry["response"]["etag"] == f'W/"{version}"'
    assert entry["response"]["location"].endswith(f"{plan}/_history/{version}")
    assert entry["response"]["lastModified"] == seen["meta"]["lastUpdated"]


def test_a_caller_that_sees_everything_sees_every_store_version(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    _nurse_edits_the_psy_activity(call, client, "Lääkitys arvioidaan uudelleen.")
    read = _read(call, PSYCH_NURSE, plan)
    stored = _store(fhir, plan)
    assert read.json()["meta"]["lastUpdated"] == stored["meta"]["lastUpdated"]
    assert read.json()["meta"]["source"] == stored["meta"]["source"]
    shown = copy.deepcopy(read.json())
    for body in (shown, stored):
        body["meta"].pop("versionId")
    assert shown == stored  # nothing hidden: the store's version, named by its content


@pytest.mark.parametrize("query", ["CarePlan?_lastUpdated=gt2020-01-01", "CareTeam?_sort=-_lastUpdated"])
def test_plans_and_teams_are_not_searched_by_the_stores_time(call: Gateway, client: Client, query: str) -> None:
    refused = call("GET", f"/fhir/{query}&subject={client.ref('client')}", _token(YOUTH_WORKER))
    assert refused.status_code == 400, refused.text
    assert "lastUpdated" in refused.json()["issue"][0]["diagnostics"]
    goals = call("GET", f"/fhir/Goal?subject={client.ref('client')}&_lastUpdated=gt2020-01-01", _token(YOUTH_WORKER))
    assert goals.status_code == 200 and goals.json()["entry"]  # other types are


def test_a_patch_sees_the_version_the_caller_sees(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan = client.ref("plan")
    read = _read(call, CURATOR, plan)
    _nurse_edits_the_psy_activity(call, client, "Lääkitys arvioidaan uudelleen.")
    meta = read.json()["meta"]

    def patch(operations: list[dict[str, Any]]) -> httpx.Response:
        body = json.dumps(operations).encode()
        headers = {"If-Match": read.headers["etag"]}
        return call(
            "PATCH", f"/fhir/{plan}", _token(CURATOR, WRITE_SCOPES), body, "application/json-patch+json", headers
        )

    for probe in (
        {"path": "/meta/versionId", "value": "2"},
        {"path": "/meta/source", "value": _store(fhir, plan)["meta"]["source"]},
    ):
        refused = patch([{"op": "test", **probe}])  # the store's bookkeeping is not there to test
        assert refused.status_code == 422, refused.text
    mine = read.json()["activity"].index(_activity(read.json(), "school-welfare"))
    change = {"op": "replace", "path": f"/activity/{mine}/detail/description", "value": "Tapaamiset kuukausittain."}
    answer = patch([{"op": "test", "path": "/meta/versionId", "value": meta["versionId"]}, change])
    assert answer.status_code == 200, answer.text
    stored = _store(fhir, plan)
    assert _activity(stored, "school-welfare")["detail"]["description"] == "Tapaamiset kuukausittain."
    assert stored["meta"]["versionId"] == "3"

"""Hidden looks exactly like missing in histories, versions, pages and searches (issue 9, items 3–6;
item 8 in `test_versions_seen`).

Against the real HAPI through the in-process gateway. Each client is a fresh copy of the demo
client; its goal `goal-wellbeing` (and the plan's reference to it) is labelled PSY, which the
curator and the youth worker may not see. The baseline for "missing" is another copy from
which that goal has been moved to a third client, so the store does not find it at all.
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
    YOUTH_WORKER,
    Client,
    Gateway,
    Member,
    assert_answered_as_missing,
    copy_demo_client,
)
from tests.e2e.gateway_harness import token as _token

LABEL_URL = "https://yhteys.fi/fhir/StructureDefinition/plan-security-label"


def _put(fhir: httpx.Client, resource: dict[str, Any]) -> None:
    answer = fhir.put(
        f"/{resource['resourceType']}/{resource['id']}", json=resource, headers={"Content-Type": FHIR_JSON}
    )
    assert answer.status_code in (200, 201), answer.text


@pytest.fixture
def without_hidden_goal(fhir: httpx.Client) -> Client:
    """A copy of the demo client whose PSY goal belongs to someone else: for the store it is missing."""
    client, elsewhere = copy_demo_client(fhir), copy_demo_client(fhir)
    goal = fhir.get(f"/{client.ref('goal-wellbeing')}").json()
    goal["subject"] = {"reference": elsewhere.ref("client")}
    _put(fhir, goal)
    return client


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def _pages(call: Gateway, member: Member, path: str) -> list[dict[str, Any]]:
    """Every page of a search or history, following the gateway's next links."""
    pages = []
    url: str | None = path
    while url is not None:
        answer = call("GET", url, _token(member))
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        url = _next(pages[-1])
        assert url is None or url.startswith(f"{ISSUER}/fhir?_getpages=")
        url = url.removeprefix(ISSUER) if url else None
    return pages


def _shape(pages: list[dict[str, Any]], client: Client) -> list[tuple[list[str], list[str]]]:
    """What a caller can tell of the pages: the ids of each (the client's prefix taken out), its
    link relations; and the Bundle keys are only those of a search."""
    for page in pages:
        assert set(page) <= {"resourceType", "type", "link", "entry", "meta"} and "total" not in page
    return [
        (
            [e["resource"]["id"].replace(client.prefix, "c") for e in page.get("entry", [])],
            [link["relation"] for link in page["link"]],
        )
        for page in pages
    ]


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("order", ["_id", "-_id"])
def test_pages_of_a_search_are_those_of_a_store_that_has_no_hidden_match(
    call: Gateway, client: Client, without_hidden_goal: Client, count: int, order: str
) -> None:
    query = f"_count={count}&_sort={order}"
    hidden = _pages(call, CURATOR, f"/fhir/Goal?subject={client.ref('client')}&{query}")
    missing = _pages(call, CURATOR, f"/fhir/Goal?subject={without_hidden_goal.ref('client')}&{query}")
    assert _shape(hidden, client) == _shape(missing, without_hidden_goal)
    sizes = [len(page.get("entry", [])) for page in hidden]
    assert sum(sizes) == 2 and all(size == count for size in sizes[:-1]) and sizes[-1] >= 1
    assert "wellbeing" not in json.dumps(hidden)


def test_the_psychiatric_nurse_pages_through_every_match(call: Gateway, client: Client) -> None:
    pages = _pages(call, PSYCH_NURSE, f"/fhir/Goal?subject={client.ref('client')}&_count=1&_sort=_id")
    assert [page["entry"][0]["resource"]["id"] for page in pages] == [
        f"{client.prefix}-goal-home",
        f"{client.prefix}-goal-studies",
        f"{client.prefix}-goal-wellbeing",
    ]


def test_a_search_with_no_visible_match_is_one_empty_page(call: Gateway, client: Client) -> None:
    pages = _pages(call, CURATOR, f"/fhir/Goal?_id={client.prefix}-goal-wellbeing&_count=1")
    assert len(pages) == 1 and "entry" not in pages[0] and [link["relation"] for link in pages[0]["link"]] == ["self"]


def test_a_page_link_is_the_callers_own_and_cannot_be_changed(call: Gateway, client: Client) -> None:
    first = call("GET", f"/fhir/Goal?subject={client.ref('client')}&_count=1&_sort=_id", _token(CURATOR)).json()
    link = _next(first)
    assert link is not None
    page = link.removeprefix(ISSUER)
    token = page.split("_getpages=", 1)[1]
    assert client.prefix not in token and "offset" not in page  # nothing of the store's search shows
    assert call("GET", page, _token(CURATOR)).status_code == 200
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for refused in (
        call("GET", page, _token(YOUTH_WORKER)),  # another professional
        call("GET", f"/fhir?_getpages={flipped}", _token(CURATOR)),  # one character changed
        call("GET", "/fhir?_getpages=made-up", _token(CURATOR)),
    ):
        assert refused.status_code == 410, refused.text
        assert refused.json()["resourceType"] == "OperationOutcome" and client.prefix not in refused.text
    for extra in ("_getpagesoffset=0", "_count=50", "_bundletype=searchset"):  # the cursor says where and how many
        refused = call("GET", f"{page}&{extra}", _token(CURATOR))
        assert refused.status_code == 400, (extra, refused.text)


def test_history_and_versions_of_a_hidden_resource_are_those_of_a_missing_one(call: Gateway, client: Client) -> None:
    goal, nowhere = client.ref("goal-wellbeing"), f"Goal/{client.prefix}-goal-nowhere"
    for suffix in ("/_history", "/_history/1", "/_history/2", ""):
        hidden = call("GET", f"/fhir/{goal}{suffix}", _token(YOUTH_WORKER))
        missing = call("GET", f"/fhir/{nowhere}{suffix}", _token(YOUTH_WORKER))
        assert_answered_as_missing(hidden, missing, goal, nowhere)
    assert call("GET", f"/fhir/{goal}/_history", _token(PSYCH_NURSE)).status_code == 200


def test_history_of_a_deleted_resource_is_that_of_a_missing_one(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    team = client.ref("team")
    assert call("GET", f"/fhir/{team}/_history", _token(YOUTH_WORKER)).status_code == 200
    plan = fhir.get(f"/{client.ref('plan')}").json()
    plan.pop("careTeam", None)
    _put(fhir, plan)
    assert fhir.delete(f"/{team}").status_code in (200, 204)
    nowhere = f"CareTeam/{client.prefix}-team-nowhere"
    for suffix in ("/_history", "/_history/1"):
        deleted = call("GET", f"/fhir/{team}{suffix}", _token(YOUTH_WORKER))
        missing = call("GET", f"/fhir/{nowhere}{suffix}", _token(YOUTH_WORKER))
        assert_answered_as_missing(deleted, missing, team, nowhere)


def test_a_search_by_a_hidden_reference_finds_nothing(call: Gateway, client: Client) -> None:
    plan = f"{client.prefix}-plan"
    hidden = call("GET", f"/fhir/CarePlan?goal={client.ref('goal-wellbeing')}", _token(YOUTH_WORKER))
    missing = call("GET", f"/fhir/CarePlan?goal=Goal/{client.prefix}-goal-nowhere", _token(YOUTH_WORKER))
    assert hidden.status_code == missing.status_code == 200
    assert "entry" not in hidden.json() and "entry" not in missing.json()
    bare = call("GET", f"/fhir/CarePlan?goal={client.prefix}-goal-wellbeing", _token(YOUTH_WORKER))
    assert "entry" not in bare.json()  # the id without its type is the same search
    either = call(
        "GET", f"/fhir/CarePlan?goal={client.ref('goal-wellbeing')},{client.ref('goal-home')}", _token(YOUTH_WORKER)
    )
    assert [e["resource"]["id"] for e in either.json()["entry"]] == [plan]  # found by the goal it sees
    nurse = call("GET", f"/fhir/CarePlan?goal={client.ref('goal-wellbeing')}", _token(PSYCH_NURSE))
    assert [e["resource"]["id"] for e in nurse.json()["entry"]] == [plan]
    for query in ("goal:missing=false", f"goal:not={client.ref('goal-home')}", "_sort=goal"):
        refused = call("GET", f"/fhir/CarePlan?subject={client.ref('client')}&{query}", _token(YOUTH_WORKER))
        assert refused.status_code == 400, (query, refused.text)


def _unlabelled(resource: dict[str, Any]) -> dict[str, Any]:
    """`resource` with every part's sensitivity label taken off (as before they were added)."""
    resource = copy.deepcopy(resource)
    for element in ("activity", "goal", "addresses", "contributor", "participant"):
        for part in resource.get(element, []):
            part["extension"] = [e for e in part.get("extension", []) if e["url"] != LABEL_URL]
            if not part["extension"]:
                del part["extension"]
    return resource


@pytest.mark.parametrize("kind", ["plan", "team"])
def test_parts_labelled_later_stay_hidden_in_earlier_versions(
    call: Gateway, fhir: httpx.Client, client: Client, kind: str
) -> None:
    labelled = fhir.get(f"/{client.ref(kind)}").json()
    _put(fhir, _unlabelled(labelled))  # version 2: nothing labelled yet
    _put(fhir, {**labelled, "meta": {"profile": labelled["meta"]["profile"]}})  # version 3: labelled again
    before = fhir.get(f"/{client.ref(kind)}/_history/2").json()
    assert "psych" in json.dumps(before) and LABEL_URL not in json.dumps(before)  # the store's v2 is plain
    current = call("GET", f"/fhir/{client.ref(kind)}", _token(YOUTH_WORKER))
    assert current.status_code == 200 and "psych" not in current.text
    history = _pages(call, YOUTH_WORKER, f"/fhir/{client.ref(kind)}/_history?_count=1")
    # what it sees of version 2 is what it sees of 1 and 3: one version, as if nothing changed
    assert [page["entry"][0]["resource"]["meta"]["versionId"] for page in history] == [
        current.json()["meta"]["versionId"]
    ]
    vread = call(
        "GET", f"/fhir/{client.ref(kind)}/_history/{current.json()['meta']['versionId']}", _token(YOUTH_WORKER)
    )
    assert vread.status_code == 200, vread.text
    for shown in (vread.text, json.dumps(history)):
        for trace in ("psych", "wellbeing", "anxiety", "PSY"):
            assert trace not in shown
    kept = vread.json().get("participant" if kind == "team" else "contributor", [])
    assert any("youth-worker" in json.dumps(part) for part in kept)  # the visible parts are still there
    nurse = _pages(call, PSYCH_NURSE, f"/fhir/{client.ref(kind)}/_history")[0]["entry"]
    assert len(nurse) == 3  # who may see them sees them in every version
    assert all("demo-role-psych-nurse" in json.dumps(entry["resource"]) for entry in nurse)

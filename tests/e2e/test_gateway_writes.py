"""Writes through the gateway against the real HAPI: each role changes only what it may.

Every test works on its own copy of the demo client (`client`): patient, needs, goals, team,
plan and consent under fresh ids, so tests neither see nor disturb each other's writes. What
was stored is always checked on HAPI directly, not through the gateway.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping
from typing import Any

import httpx

from gateway.fhir.media import FHIR_JSON
from tests.e2e.gateway_harness import (
    CURATOR,
    PSYCH_NURSE,
    PUBLIC_BASE,
    SOCIAL_WORKER,
    WRITE_SCOPES,
    YOUTH_WORKER,
    Client,
    Gateway,
    Member,
    token,
)

PATCH = "application/json-patch+json"
_TEAM_ROLE = "https://yhteys.fi/fhir/CodeSystem/team-role"


def _writer(member: Member) -> str:
    return token(member, WRITE_SCOPES)


def _read(call: Gateway, member: Member, path: str) -> tuple[dict[str, Any], str]:
    response = call("GET", f"/fhir/{path}", _writer(member))
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


def _put(call: Gateway, member: Member, resource: dict[str, Any], etag: str | None) -> httpx.Response:
    path = f"/fhir/{resource['resourceType']}/{resource['id']}"
    headers = {"If-Match": etag} if etag else {}
    return call("PUT", path, _writer(member), json.dumps(resource).encode(), FHIR_JSON, headers)


def _stored(fhir: httpx.Client, path: str) -> dict[str, Any]:
    response = fhir.get(f"/{path}", headers={"Cache-Control": "no-cache"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _owner(activity: dict[str, Any]) -> str:
    code: str = next(
        e["valueCoding"]["code"] for e in activity["extension"] if e["url"].endswith("activity-owning-sector")
    )
    return code


def _activity(plan: dict[str, Any], sector: str) -> dict[str, Any]:
    return next(a for a in plan["activity"] if _owner(a) == sector)


def _reason_codes(response: httpx.Response) -> set[str]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return {c["code"] for issue in body["issue"] for c in issue.get("details", {}).get("coding", [])}


# --- updates: If-Match, own sector, hidden parts -------------------------------------------------


def test_an_update_needs_if_match_and_the_current_version(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    _activity(plan, "school-welfare")["detail"]["status"] = "on-hold"
    missing = _put(call, CURATOR, plan, None)
    assert missing.status_code == 428 and missing.json()["issue"][0]["code"] == "required"
    stale = _put(call, CURATOR, plan, 'W/"0"')
    assert stale.status_code == 412
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"  # nothing was written
    assert _put(call, CURATOR, plan, etag).status_code == 200


def test_a_writer_who_cannot_see_psy_changes_its_activity_and_the_hidden_parts_survive(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    before = _stored(fhir, client.ref("plan"))
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    assert len(plan["activity"]) == 3  # the PSY activity is hidden from the curator
    _activity(plan, "school-welfare")["detail"]["description"] = "Tapaamiset kahden viikon välein."
    response = _put(call, CURATOR, plan, etag)
    assert response.status_code == 200, response.text
    assert "PSY" not in response.text and len(response.json()["activity"]) == 3  # the answer is redacted
    assert response.headers["etag"] == f'W/"{response.json()["meta"]["versionId"]}"' != etag
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "2"
    stored = _stored(fhir, client.ref("plan"))
    assert _activity(stored, "school-welfare")["detail"]["description"] == "Tapaamiset kahden viikon välein."
    for element in ("goal", "addresses"):
        assert stored[element] == before[element]  # PSY goal and need references kept, in place
    assert [a for a in stored["activity"] if _owner(a) != "school-welfare"] == [
        a for a in before["activity"] if _owner(a) != "school-welfare"
    ]


def test_a_writer_may_not_change_another_sectors_activity(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    _activity(plan, "child-protection")["detail"]["status"] = "cancelled"
    response = _put(call, CURATOR, plan, etag)
    assert response.status_code == 403
    assert "write-outside-own-sector" in _reason_codes(response)
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


def test_a_writer_may_not_add_what_it_may_not_see(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    smuggled = copy.deepcopy(_activity(plan, "school-welfare"))
    smuggled["extension"].append(
        {
            "url": "https://yhteys.fi/fhir/StructureDefinition/plan-security-label",
            "valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"},
        }
    )
    plan["activity"].append(smuggled)
    response = _put(call, CURATOR, plan, etag)
    assert response.status_code == 403
    assert "write-touches-hidden-label" in _reason_codes(response)
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


def test_the_psychiatric_nurse_changes_the_psychiatric_activity(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan, etag = _read(call, PSYCH_NURSE, client.ref("plan"))
    _activity(plan, "hospital-psychiatry")["detail"]["status"] = "completed"
    response = _put(call, PSYCH_NURSE, plan, etag)
    assert response.status_code == 200, response.text
    assert _activity(_stored(fhir, client.ref("plan")), "hospital-psychiatry")["detail"]["status"] == "completed"


def test_an_update_never_creates(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, _ = _read(call, CURATOR, client.ref("plan"))
    plan["id"] = f"{client.prefix}-other"
    response = _put(call, CURATOR, plan, 'W/"1"')
    assert response.status_code == 404
    assert fhir.get(f"/CarePlan/{client.prefix}-other").status_code == 404


# --- JSON Patch ------------------------------------------------------------------------------------


def _patch(call: Gateway, member: Member, path: str, operations: list[dict[str, Any]], etag: str) -> httpx.Response:
    return call("PATCH", f"/fhir/{path}", _writer(member), json.dumps(operations).encode(), PATCH, {"If-Match": etag})


def test_a_patch_applies_to_the_plan_as_the_caller_sees_it(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, YOUTH_WORKER, client.ref("plan"))
    index = [_owner(a) for a in plan["activity"]].index("municipal-youth-services")
    operations = [{"op": "replace", "path": f"/activity/{index}/detail/status", "value": "completed"}]
    response = _patch(call, YOUTH_WORKER, client.ref("plan"), operations, etag)
    assert response.status_code == 200, response.text
    stored = _stored(fhir, client.ref("plan"))
    assert _activity(stored, "municipal-youth-services")["detail"]["status"] == "completed"
    assert _activity(stored, "hospital-psychiatry")["detail"]["status"] == "in-progress"
    assert len(stored["activity"]) == 4


def test_patches_that_are_not_allowed_or_cannot_apply_are_refused(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    other = [_owner(a) for a in plan["activity"]].index("child-protection")
    cases = [
        ([{"op": "remove", "path": f"/activity/{other}"}], PATCH, 403),
        ([{"op": "replace", "path": "/status", "value": "revoked"}], PATCH, 403),  # only the personal worker
        ([{"op": "replace", "path": "/activity/9/detail/status", "value": "completed"}], PATCH, 422),
        ([{"op": "replace", "path": "/id", "value": "elsewhere"}], PATCH, 422),
        ([{"op": "jump", "path": "/status"}], PATCH, 400),
        ([{"op": "replace", "path": "/status", "value": "revoked"}], FHIR_JSON, 415),
    ]
    for operations, media, status in cases:
        response = call(
            "PATCH",
            f"/fhir/{client.ref('plan')}",
            _writer(CURATOR),
            json.dumps(operations).encode(),
            media,
            {"If-Match": etag},
        )
        assert response.status_code == status, (operations, response.text)
        assert response.json()["resourceType"] == "OperationOutcome"
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


# --- the personal worker, derived from the client's team ------------------------------------------


def _set_status(call: Gateway, member: Member, client: Client, status: str) -> httpx.Response:
    _, etag = _read(call, member, client.ref("plan"))
    return _patch(call, member, client.ref("plan"), [{"op": "replace", "path": "/status", "value": status}], etag)


def _handover(team: dict[str, Any], outgoing: str, incoming: str, day: str) -> dict[str, Any]:
    team = copy.deepcopy(team)
    for participant in team["participant"]:
        roles = {c["code"] for r in participant["role"] for c in r["coding"]}
        if (
            "personal-worker" in roles
            and participant["member"]["reference"] == outgoing
            and "end" not in participant["period"]
        ):
            participant["period"]["end"] = day
    team["participant"].append(
        {
            "role": [{"coding": [{"system": _TEAM_ROLE, "code": "personal-worker"}]}],
            "member": {"reference": incoming},
            "period": {"start": day},
        }
    )
    return team


def test_the_personal_worker_updates_the_plan_status_and_hands_over(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    # the token of neither says "personal-worker": the team does
    assert _set_status(call, CURATOR, client, "on-hold").status_code == 403
    assert _set_status(call, SOCIAL_WORKER, client, "on-hold").status_code == 200
    team, etag = _read(call, SOCIAL_WORKER, client.ref("team"))
    handed = _handover(team, SOCIAL_WORKER.role, CURATOR.role, "2026-11-20")
    response = _put(call, SOCIAL_WORKER, handed, etag)
    assert response.status_code == 200, response.text
    # the rights follow the team on the very next request
    assert _set_status(call, SOCIAL_WORKER, client, "active").status_code == 403
    assert _set_status(call, CURATOR, client, "active").status_code == 200
    stored = _stored(fhir, client.ref("team"))
    workers = [
        p for p in stored["participant"] if any(c["code"] == "personal-worker" for r in p["role"] for c in r["coding"])
    ]
    assert {(p["member"]["reference"], p["period"].get("end")) for p in workers} == {
        (CURATOR.role, "2026-09-30"),
        (SOCIAL_WORKER.role, "2026-11-20"),
        (CURATOR.role, None),
    }


def test_a_handover_that_loses_history_or_doubles_the_personal_worker_is_refused(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    team, etag = _read(call, SOCIAL_WORKER, client.ref("team"))
    dropped = copy.deepcopy(team)  # the outgoing personal worker simply replaced
    for participant in dropped["participant"]:
        if participant["member"]["reference"] == SOCIAL_WORKER.role:
            participant["member"]["reference"] = PSYCH_NURSE.role
    response = _put(call, SOCIAL_WORKER, dropped, etag)
    assert response.status_code == 422 and "personal-worker rules" in response.text
    two = copy.deepcopy(team)  # a second open personal worker: the profile's yht-team-1 refuses it
    two["participant"].append(
        {
            "role": [{"coding": [{"system": _TEAM_ROLE, "code": "personal-worker"}]}],
            "member": {"reference": CURATOR.role},
            "period": {"start": "2026-11-20"},
        }
    )
    response = _put(call, SOCIAL_WORKER, two, etag)
    assert response.status_code == 422 and "yht-team-1" in response.text
    assert _stored(fhir, client.ref("team"))["meta"]["versionId"] == "1"


def test_a_second_active_team_with_a_personal_worker_is_refused(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    team, _ = _read(call, SOCIAL_WORKER, client.ref("team"))
    del team["id"]
    response = call("POST", "/fhir/CareTeam", _writer(SOCIAL_WORKER), json.dumps(team).encode(), FHIR_JSON)
    assert response.status_code == 409, response.text
    assert client.ref("team") in response.text
    search = fhir.get("/CareTeam", params={"subject": client.ref("client")}).json()
    assert search.get("total") == 1


def test_the_personal_worker_records_a_goal_and_others_may_not(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    goal, _ = _read(call, SOCIAL_WORKER, client.ref("goal-home"))
    del goal["id"]
    goal["meta"] = {"profile": goal["meta"]["profile"]}
    goal["description"]["text"] = "Aino harjoittelee oman talouden hoitoa."
    body = json.dumps(goal).encode()
    assert call("POST", "/fhir/Goal", _writer(YOUTH_WORKER), body, FHIR_JSON).status_code == 403
    created = call("POST", "/fhir/Goal", _writer(SOCIAL_WORKER), body, FHIR_JSON)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith(f"{PUBLIC_BASE}/Goal/")
    stored = _stored(fhir, location.removeprefix(PUBLIC_BASE + "/").split("/_history")[0])
    assert stored["description"]["text"] == "Aino harjoittelee oman talouden hoitoa."


def test_nobody_deletes_the_shared_plan(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    for member in (SOCIAL_WORKER, PSYCH_NURSE, CURATOR):
        response = call("DELETE", f"/fhir/{client.ref('plan')}", _writer(member), headers={"If-Match": 'W/"1"'})
        assert response.status_code == 403
    assert call("DELETE", f"/fhir/{client.ref('plan')}", _writer(CURATOR)).status_code == 428
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


# --- consent applies to writes too ------------------------------------------------------------------


def test_a_withdrawn_consent_stops_the_next_write(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, YOUTH_WORKER, client.ref("plan"))
    consent = _stored(fhir, client.ref("consent"))
    withdrawn = fhir.put(
        f"/{client.ref('consent')}", json={**consent, "status": "inactive"}, headers={"Content-Type": FHIR_JSON}
    )
    assert withdrawn.status_code == 200
    _activity(plan, "municipal-youth-services")["detail"]["status"] = "completed"
    response = _put(call, YOUTH_WORKER, plan, etag)
    absent = json.dumps({**plan, "id": "no-such-plan"}).encode()
    missing = call("PUT", "/fhir/CarePlan/no-such-plan", _writer(YOUTH_WORKER), absent, FHIR_JSON, {"If-Match": etag})
    assert response.status_code == missing.status_code == 404  # what it may not read does not exist for it
    assert response.text.replace(client.ref("plan"), "CarePlan/no-such-plan") == missing.text
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


# --- bad input: 4xx with an OperationOutcome, nothing written ---------------------------------------


def test_bad_input_is_refused_and_nothing_is_written(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    path = f"/fhir/{client.ref('plan')}"
    good = json.dumps(plan).encode()
    unknown_code = copy.deepcopy(plan)
    _activity(unknown_code, "school-welfare")["detail"]["status"] = "half-done"
    mismatch = {**plan, "id": "someone-else"}
    unprofiled = {**plan, "meta": {}}
    cases = [
        ("PUT", path, b'{"resourceType": "CarePlan", ', FHIR_JSON, 400),
        ("PUT", path, good, "text/plain", 415),
        ("PUT", path, good[:-1] + b"," + b" " * 1_100_000 + b"}", FHIR_JSON, 413),
        ("PUT", "/fhir/Horoscope/x", good, FHIR_JSON, 404),
        ("PUT", "/fhir/CarePlan/bad%20id", good, FHIR_JSON, 400),
        ("PUT", path, json.dumps(mismatch).encode(), FHIR_JSON, 400),
        ("PUT", path, b'{"resourceType": "CarePlan", "id": "x", "status": NaN}', FHIR_JSON, 400),
        ("PUT", path, json.dumps(unknown_code).encode(), FHIR_JSON, 422),  # the store's validation
        ("PUT", path, json.dumps(unprofiled).encode(), FHIR_JSON, 403),  # meta is not the curator's to change
        ("POST", "/fhir/CarePlan?identifier=x", good, FHIR_JSON, 400),  # conditional create
    ]
    for method, target, body, media, status in cases:
        response = call(method, target, _writer(CURATOR), body, media, {"If-Match": etag})
        assert response.status_code == status, (method, target, status, response.text[:300])
        assert response.json()["resourceType"] == "OperationOutcome"
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"


# --- batch and transaction --------------------------------------------------------------------------


def _bundle(kind: str, *entries: dict[str, Any]) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": list(entries)}).encode()


def _put_entry(resource: dict[str, Any], etag: str) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {
        "fullUrl": f"{PUBLIC_BASE}/{url}",
        "resource": resource,
        "request": {"method": "PUT", "url": url, "ifMatch": etag},
    }


def test_a_batch_authorises_each_entry_on_its_own(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    goal, goal_etag = _read(call, CURATOR, client.ref("goal-studies"))
    _activity(plan, "school-welfare")["detail"]["status"] = "on-hold"
    goal["description"]["text"] = "changed by the curator"
    body = _bundle(
        "batch",
        {"request": {"method": "GET", "url": client.ref("plan")}},
        _put_entry(plan, etag),
        _put_entry(goal, goal_etag),  # the curator is not the personal worker
        {"request": {"method": "GET", "url": client.ref("goal-wellbeing")}},  # PSY: hidden
    )
    response = call("POST", "/fhir", _writer(CURATOR), body, FHIR_JSON)
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert [e["response"]["status"].split()[0] for e in entries] == ["200", "200", "403", "404"]  # hidden = unknown
    assert len(entries[0]["resource"]["activity"]) == 3 and "PSY" not in json.dumps(entries[0])
    assert entries[2]["response"]["outcome"]["issue"][0]["diagnostics"].startswith("Bundle.entry[2]")
    assert _activity(_stored(fhir, client.ref("plan")), "school-welfare")["detail"]["status"] == "on-hold"
    assert _stored(fhir, client.ref("goal-studies"))["meta"]["versionId"] == "1"


def test_a_transaction_is_all_or_nothing(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    plan, etag = _read(call, SOCIAL_WORKER, client.ref("plan"))
    goal, goal_etag = _read(call, SOCIAL_WORKER, client.ref("goal-home"))
    _activity(plan, "child-protection")["detail"]["status"] = "on-hold"
    goal["description"]["text"] = "Oma asunto keväällä 2027."
    denied = copy.deepcopy(plan)
    _activity(denied, "school-welfare")["detail"]["status"] = "cancelled"  # not the social worker's
    refused = call(
        "POST",
        "/fhir",
        _writer(SOCIAL_WORKER),
        _bundle("transaction", _put_entry(goal, goal_etag), _put_entry(denied, etag)),
        FHIR_JSON,
    )
    assert refused.status_code == 403 and "Bundle.entry[1]" in refused.text
    assert _stored(fhir, client.ref("goal-home"))["meta"]["versionId"] == "1"  # the allowed entry was not written
    patch = base64.b64encode(
        json.dumps([{"op": "replace", "path": "/lifecycleStatus", "value": "on-hold"}]).encode()
    ).decode()
    patch_entry = {
        "resource": {"resourceType": "Binary", "contentType": PATCH, "data": patch},
        "request": {"method": "PATCH", "url": client.ref("goal-studies"), "ifMatch": 'W/"1"'},
    }
    done = call(
        "POST",
        "/fhir",
        _writer(SOCIAL_WORKER),
        _bundle("transaction", _put_entry(goal, goal_etag), _put_entry(plan, etag), patch_entry),
        FHIR_JSON,
    )
    assert done.status_code == 200, done.text
    assert done.json()["type"] == "transaction-response"
    assert [e["response"]["status"].split()[0] for e in done.json()["entry"]] == ["200", "200", "200"]
    assert _stored(fhir, client.ref("goal-home"))["description"]["text"] == "Oma asunto keväällä 2027."
    assert _activity(_stored(fhir, client.ref("plan")), "child-protection")["detail"]["status"] == "on-hold"
    assert _stored(fhir, client.ref("goal-studies"))["lifecycleStatus"] == "on-hold"
    stale = call(
        "POST", "/fhir", _writer(SOCIAL_WORKER), _bundle("transaction", _put_entry(goal, goal_etag)), FHIR_JSON
    )
    assert stale.status_code == 412


# --- no lost update -----------------------------------------------------------------------------------


def test_two_systems_updating_the_plan_at_once_lose_no_update(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    changes = {CURATOR: "school-welfare", PSYCH_NURSE: "hospital-psychiatry"}
    for _ in range(3):  # both read the same version, both write at once: one wins, one must retry
        pending = dict(changes)
        while pending:
            requests: list[tuple[str, str, str | None, bytes, str, Mapping[str, str]]] = []
            for member, sector in pending.items():
                plan, etag = _read(call, member, client.ref("plan"))
                _activity(plan, sector)["detail"]["description"] = (
                    f"{_activity(plan, sector)['detail']['description']}+"
                )
                requests.append(
                    (
                        "PUT",
                        f"/fhir/{client.ref('plan')}",
                        _writer(member),
                        json.dumps(plan).encode(),
                        FHIR_JSON,
                        {"If-Match": etag},
                    )
                )
            answers = call.exchange(requests)
            statuses = [a.status_code for a in answers]
            assert set(statuses) <= {200, 412}, [a.text for a in answers]
            assert 200 in statuses
            pending = {m: s for (m, s), status in zip(list(pending.items()), statuses, strict=False) if status == 412}
    stored = _stored(fhir, client.ref("plan"))
    for sector in changes.values():
        assert _activity(stored, sector)["detail"]["description"].endswith("+++")


def test_denied_writes_are_audited_with_their_reasons(call: Gateway, client: Client) -> None:
    plan, etag = _read(call, CURATOR, client.ref("plan"))
    _activity(plan, "child-protection")["detail"]["status"] = "cancelled"
    assert _put(call, CURATOR, plan, etag).status_code == 403
    denied = call.rest_events()[-1]
    assert denied["outcome"] == "4" and denied["action"] == "U" and denied["subtype"][0]["code"] == "update"
    assert denied["_keys"]["patient"] == client.ref("client")
    assert "write-outside-own-sector" in denied["outcomeDesc"]


# --- labelled team participants -----------------------------------------------------------------

_PSY_PARTICIPANT_LABEL = {
    "url": "https://yhteys.fi/fhir/StructureDefinition/plan-security-label",
    "valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"},
}


def test_a_team_update_keeps_the_participants_hidden_from_its_writer(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    before = _stored(fhir, client.ref("team"))
    hidden = [p for p in before["participant"] if "extension" in p]
    assert len(hidden) == 2  # the psychiatric nurse and the psychiatrist, labelled PSY
    team, etag = _read(call, SOCIAL_WORKER, client.ref("team"))  # the personal worker sees no PSY
    assert len(team["participant"]) == len(before["participant"]) - 2
    team["name"] = "Ainon tiimi"
    response = _put(call, SOCIAL_WORKER, team, etag)
    assert response.status_code == 200, response.text
    assert "PSY" not in response.text and "demo-role-psych" not in response.text
    after = _stored(fhir, client.ref("team"))
    assert after["name"] == "Ainon tiimi" and after["meta"]["versionId"] == "2"
    assert after["participant"] == before["participant"]


def test_a_writer_sending_a_participant_it_may_not_see_is_refused(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    team, etag = _read(call, SOCIAL_WORKER, client.ref("team"))
    team["participant"].append(
        {
            "extension": [_PSY_PARTICIPANT_LABEL],
            "role": [{"coding": [{"system": _TEAM_ROLE, "code": "psychiatric-nurse"}]}],
            "member": {"reference": PSYCH_NURSE.role},
            "period": {"start": "2026-11-20"},
        }
    )
    response = _put(call, SOCIAL_WORKER, team, etag)
    assert response.status_code == 403, response.text
    assert _stored(fhir, client.ref("team"))["meta"]["versionId"] == "1"

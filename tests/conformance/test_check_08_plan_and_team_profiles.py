"""Conformance check 8 (STANDARDS.md): "CarePlan and CareTeam validate against our
DCP/DCTM-aligned profiles; a stale-version PUT gets 412."

On the real HAPI: the demo plan and team declare our profiles and validate without error;
removing any element IHE DCP requires of a CarePlan (identifier, category, description,
subject, period.start, author, addresses, goal) or IHE DCTM requires of a CareTeam
(identifier, status, name, subject, period.start, participant.member, participant.period)
makes validation fail. Through the in-process gateway: a PUT with a stale version in If-Match
gets 412 and the stored version is unchanged; the current version is accepted.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.demo import DemoLoad, demo_bundle
from gateway.fhir.media import FHIR_JSON
from tests.conformance.support import member_token, on_store
from tests.e2e.gateway_harness import SOCIAL_WORKER, WRITE_SCOPES, Client, Gateway
from tests.fhirjson import errors

Resource = dict[str, Any]
PROFILE_BASE = "https://yhteys.fi/fhir/StructureDefinition/"


def _demo(reference: str) -> Resource:
    for entry in demo_bundle()["entry"]:
        resource: Resource = entry["resource"]
        if f"{resource['resourceType']}/{resource['id']}" == reference:
            return copy.deepcopy(resource)
    raise LookupError(reference)


def _validate(fhir: httpx.Client, resource: Resource) -> list[str]:
    response = fhir.post(f"/{resource['resourceType']}/$validate", json=resource, headers={"Content-Type": FHIR_JSON})
    assert response.status_code in (200, 400, 412, 422), response.text
    return errors(response.json())


def _drop(path: str) -> Callable[[Resource], None]:
    """Remove `path` ("a", "a.b"; "a[].b" from every item of list a) from a resource."""

    def change(resource: Resource) -> None:
        head, _, rest = path.partition(".")
        if head.endswith("[]"):
            for item in resource[head[:-2]]:
                item.pop(rest, None)
        elif rest:
            resource[head].pop(rest, None)
        else:
            resource.pop(head, None)

    return change


@pytest.mark.parametrize("reference", ["CarePlan/demo-plan", "CareTeam/demo-team"])
def test_the_demo_plan_and_team_declare_our_profiles_and_validate(
    fhir: httpx.Client, demo: DemoLoad, reference: str
) -> None:
    resource = _demo(reference)
    assert all(p.startswith(PROFILE_BASE) for p in resource["meta"]["profile"]) and resource["meta"]["profile"]
    assert _validate(fhir, resource) == []


DCP_REQUIRED = ["identifier", "category", "description", "subject", "period.start", "author", "addresses", "goal"]
DCTM_REQUIRED = [
    "identifier",
    "status",
    "name",
    "subject",
    "period.start",
    "participant[].member",
    "participant[].period",
]


@pytest.mark.parametrize("element", DCP_REQUIRED)
def test_a_plan_without_a_dcp_required_element_is_invalid(fhir: httpx.Client, demo: DemoLoad, element: str) -> None:
    plan = _demo("CarePlan/demo-plan")
    _drop(element)(plan)
    assert _validate(fhir, plan), element


@pytest.mark.parametrize("element", DCTM_REQUIRED)
def test_a_team_without_a_dctm_required_element_is_invalid(fhir: httpx.Client, demo: DemoLoad, element: str) -> None:
    team = _demo("CareTeam/demo-team")
    _drop(element)(team)
    assert _validate(fhir, team), element


def test_a_stale_version_put_gets_412(call: Gateway, fhir: httpx.Client, client: Client) -> None:
    writer = member_token(SOCIAL_WORKER, WRITE_SCOPES)
    path = f"/fhir/{client.ref('plan')}"
    read = call("GET", path, writer)
    assert read.status_code == 200, read.text
    plan, etag = read.json(), read.headers["etag"]
    assert etag == f'W/"{plan["meta"]["versionId"]}"'
    own = next(a for a in plan["activity"] if "child-protection" in json.dumps(a["extension"]))
    own["detail"]["status"] = "on-hold"
    assert call("PUT", path, writer, json.dumps(plan).encode(), FHIR_JSON, {"If-Match": etag}).status_code == 200
    own["detail"]["status"] = "completed"  # a second change, on the version read before the first
    stale = call("PUT", path, writer, json.dumps(plan).encode(), FHIR_JSON, {"If-Match": etag})
    assert stale.status_code == 412, stale.text
    assert stale.json()["resourceType"] == "OperationOutcome"
    stored = on_store(fhir, client.ref("plan"))
    assert stored["meta"]["versionId"] == "2"  # the stale write changed nothing
    mine = next(a for a in stored["activity"] if "child-protection" in json.dumps(a["extension"]))
    assert mine["detail"]["status"] == "on-hold"

"""PPR and PGL from the psychiatry EHR through the served gateway into HAPI: problems, goals and
team members, keyed upserts, the action codes of table 0287, and every messy sample (issue 10)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.fhir.hetu import parse_hetu
from gateway.fhir.media import FHIR_JSON
from gateway.settings import Settings
from mappings.client import GatewayClient
from mappings.psychiatry.inbound import PsychiatryMessages
from mappings.psychiatry.outbound import read_record, record_messages
from tests.e2e.imports_harness import NURSE, as_ehr, client_with_own_hetu, over_mllp

SAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "samples" / "psychiatry"
DEMO_HETU, DEMO_BORN = "140307A946S", "20070314"
NAMESPACE = "https://yhteys.fi/fhir/sid/psychiatry-ehr/ESKO"


def sample(name: str, hetu: str, **replace: str) -> str:
    """A sample message for the client `hetu` (the demo's henkilötunnus and birth date replaced)."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    text = text.replace(DEMO_HETU, hetu).replace(DEMO_BORN, parse_hetu(hetu).birth_date.strftime("%Y%m%d"))
    for old, new in replace.items():
        text = text.replace(old, new)
    return "\r".join(line for line in text.splitlines() if line)


def handle(settings: Settings, *messages: str, role: str = NURSE) -> list[Any]:
    """The acknowledgements of `messages`, handled in turn as the EHR's system through the served gateway."""

    async def work(client: GatewayClient) -> list[Any]:
        handler = PsychiatryMessages(client, "Organization/demo-org-psychiatry")
        return [await handler.handle(message) for message in messages]

    return as_ehr(settings, work, role=role)


def found(fhir: httpx.Client, resource_type: str, value: str) -> list[dict[str, Any]]:
    """The resources on HAPI with the EHR's identifier `value`."""
    answer = fhir.get(
        f"/{resource_type}", params={"identifier": f"{NAMESPACE}|{value}"}, headers={"Cache-Control": "no-cache"}
    )
    return [entry["resource"] for entry in answer.json().get("entry", [])]


def versions(fhir: httpx.Client, references: Sequence[str]) -> dict[str, str]:
    return {
        ref: fhir.get(f"/{ref}", headers={"Cache-Control": "no-cache"}).json()["meta"]["versionId"]
        for ref in references
    }


def test_a_problem_with_a_goal_creates_both_linked_and_a_repeat_changes_nothing(
    served: Settings, fhir: httpx.Client
) -> None:
    client, hetu = client_with_own_hetu(fhir)
    message = sample(
        "ppr-pc1-problem-with-goal.hl7",
        hetu,
        **{"ONG-4711": f"ONG-{client.prefix}", "TAV-0815": f"TAV-{client.prefix}"},
    )
    [ack] = handle(served, message)
    assert (ack.code, ack.text) == ("AA", "2 created of 2 problems and goals; team unchanged"), ack
    [condition] = found(fhir, "Condition", f"ONG-{client.prefix}")
    [goal] = found(fhir, "Goal", f"TAV-{client.prefix}")
    assert condition["subject"]["reference"] == client.ref("client")
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "F41.1",
        "display": "Yleistynyt ahdistuneisuushäiriö",
    }
    assert {"code": "PSY"}.items() <= condition["meta"]["security"][0].items()
    assert condition["extension"][0]["valueCoding"]["code"] == "hospital-psychiatry"
    assert (condition["onsetDateTime"], condition["recordedDate"]) == ("2026-08-01", "2026-09-15")
    assert goal["addresses"] == [{"reference": f"Condition/{condition['id']}"}]
    assert (goal["target"], goal["startDate"], goal["lifecycleStatus"]) == (
        [{"dueDate": "2027-05-31"}],
        "2026-10-01",
        "active",
    )
    assert goal["achievementStatus"]["coding"][0]["code"] == "in-progress"
    assert goal["expressedBy"] == {"reference": "PractitionerRole/demo-role-psych-nurse"}
    refs = [f"Condition/{condition['id']}", f"Goal/{goal['id']}", client.ref("team")]
    before = versions(fhir, refs)
    [again] = handle(served, message.replace("ESKO-000101", "ESKO-000201"))
    assert again.code == "AA" and again.text.startswith("nothing changed"), again
    assert versions(fhir, refs) == before


def test_an_update_and_a_delete_follow_the_action_codes(served: Settings, fhir: httpx.Client) -> None:
    client, hetu = client_with_own_hetu(fhir)
    key = {"ONG-4711": f"ONG-{client.prefix}", "TAV-0815": f"TAV-{client.prefix}"}
    handle(served, sample("ppr-pc1-problem-with-goal.hl7", hetu, **key))
    update = sample(
        "ppr-pc1-problem-with-goal.hl7",
        hetu,
        **key,
        **{"PRB|AD": "PRB|UP", "active^Aktiivinen^HL70766": "remission^Remissio^HL70766", "PPR^PC1": "PPR^PC2"},
    )
    [ack] = handle(served, update)
    assert ack.code == "AA" and "1 updated" in ack.text, ack
    [condition] = found(fhir, "Condition", f"ONG-{client.prefix}")
    assert condition["clinicalStatus"]["coding"][0]["code"] == "remission" and condition["meta"]["versionId"] == "2"
    delete = sample(
        "messy-escapes.hl7", hetu, **{"ONG-4712": f"ONG-{client.prefix}", "PRB|AD": "PRB|DE", "PPR^PC1": "PPR^PC3"}
    )
    [ack] = handle(served, delete)
    assert ack.code == "AA", ack
    [condition] = found(fhir, "Condition", f"ONG-{client.prefix}")
    assert (
        condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error" and "clinicalStatus" not in condition
    )
    [unknown] = handle(served, sample("messy-escapes.hl7", hetu, **{"ONG-4712": "ONG-nobody", "PRB|AD": "PRB|DE"}))
    assert unknown.code == "AE" and unknown.problems[0].code == 204 and found(fhir, "Condition", "ONG-nobody") == []


def test_a_new_professional_of_psychiatry_joins_the_team_and_leaves_it(served: Settings, fhir: httpx.Client) -> None:
    client, hetu = client_with_own_hetu(fhir)
    valvira = "9" + client.prefix[1:8].translate(str.maketrans("abcdef", "123456"))
    role = _professional(fhir, client.prefix, valvira)
    joins = sample(
        "pgl-pc6-goal.hl7",
        hetu,
        **{"TAV-0816": f"TAV-{client.prefix}", "PSH^": "SH^", "10000003^Niemi^Jussi": f"{valvira}^Salo^Pia"},
    )
    [ack] = handle(served, joins)
    assert ack.code == "AA" and "team 1 added" in ack.text, ack
    team = fhir.get(f"/{client.ref('team')}", headers={"Cache-Control": "no-cache"}).json()
    [member] = [p for p in team["participant"] if p["member"]["reference"] == role]
    assert member["role"][0]["coding"][0]["code"] == "nurse" and member["period"] == {"start": "2026-09-01"}
    assert [e["url"].rsplit("/", 1)[1] for e in member["extension"]] == [
        "activity-owning-sector",
        "plan-security-label",
    ]
    leaves = joins.replace("ROL|R1|UP", "ROL|R1|DE").replace("ESKO-000102", "ESKO-000302")
    [ack] = handle(served, leaves)
    assert ack.code == "AA" and "team 1 ended" in ack.text, ack
    team = fhir.get(f"/{client.ref('team')}", headers={"Cache-Control": "no-cache"}).json()
    [member] = [p for p in team["participant"] if p["member"]["reference"] == role]
    assert member["period"] == {"start": "2026-09-01", "end": "2026-12-03"}  # ended on the message's date


def test_the_ehr_cannot_name_a_personal_worker_and_nothing_of_the_message_is_written(
    served: Settings, fhir: httpx.Client
) -> None:
    client, hetu = client_with_own_hetu(fhir)
    message = sample(
        "pgl-pc6-goal.hl7",
        hetu,
        **{"TAV-0816": f"TAV-{client.prefix}", "PSH^Psykiatrinen sairaanhoitaja": "OMA^Omatyöntekijä"},
    )
    before = versions(fhir, [client.ref("team")])
    [ack] = handle(served, message)
    assert ack.code == "AE" and "refused" in ack.text and "element-not-writable" in ack.text, ack
    assert found(fhir, "Goal", f"TAV-{client.prefix}") == [] and versions(fhir, [client.ref("team")]) == before


def test_another_sectors_problem_is_not_the_ehrs_to_change(served: Settings, fhir: httpx.Client) -> None:
    client, hetu = client_with_own_hetu(fhir)
    school = client.ref("need-school").split("/")[1]
    message = sample("messy-escapes.hl7", hetu, **{"ONG-4712^ESKO": f"{school}^YHTEYS", "PRB|AD": "PRB|UP"})
    before = versions(fhir, [client.ref("need-school")])
    [ack] = handle(served, message)
    assert ack.code == "AE" and "element-not-writable" in ack.text, ack  # an unowned problem: no sector's own
    assert versions(fhir, [client.ref("need-school")]) == before


@pytest.mark.parametrize(
    ("name", "code", "error", "where"),
    [
        ("messy-out-of-order.hl7", "AR", 100, None),
        ("messy-truncated.hl7", "AR", 102, None),
        ("messy-unknown-role.hl7", "AE", 103, ("ROL", 1, 3)),
        ("messy-wrong-check-character.hl7", "AE", 102, ("PID", 1, 3)),
    ],
)
def test_each_messy_sample_is_refused_saying_where_and_writes_nothing(
    served: Settings, fhir: httpx.Client, name: str, code: str, error: int, where: tuple[str, int, int] | None
) -> None:
    client, hetu = client_with_own_hetu(fhir)
    message = sample(name, hetu, **{"ONG-4711": f"ONG-{client.prefix}", "ONG-4713": f"ONG-{client.prefix}"})
    team = versions(fhir, [client.ref("team")])
    [ack] = handle(served, message)
    assert (ack.code, ack.problems[0].code) == (code, error), ack
    if where is not None:
        location = ack.problems[0].location
        assert (location.segment, location.sequence, location.field) == where
    assert found(fhir, "Condition", f"ONG-{client.prefix}") == [] and versions(fhir, [client.ref("team")]) == team


def test_escape_sequences_in_mapped_fields_are_stored_as_their_characters(served: Settings, fhir: httpx.Client) -> None:
    client, hetu = client_with_own_hetu(fhir)
    [ack] = handle(served, sample("messy-escapes.hl7", hetu, **{"ONG-4712": f"ONG-{client.prefix}"}))
    assert ack.code == "AA", ack
    [condition] = found(fhir, "Condition", f"ONG-{client.prefix}")
    assert condition["code"]["text"] == "Sopeutumishäiriö & unettomuus | ångest ^ oro \\ ks. ~ lähete"


def test_messages_over_a_real_socket_are_applied_once(served: Settings, fhir: httpx.Client, tmp_path: Path) -> None:
    client, hetu = client_with_own_hetu(fhir)
    message = sample(
        "ppr-pc1-problem-with-goal.hl7",
        hetu,
        **{"ONG-4711": f"ONG-{client.prefix}", "TAV-0815": f"TAV-{client.prefix}", "ESKO-000101": f"C-{client.prefix}"},
    )
    handler = lambda client: PsychiatryMessages(client, "Organization/demo-org-psychiatry").handle  # noqa: E731
    first, repeat = over_mllp(served, tmp_path / "seen.sqlite", handler, [message, message])
    assert first == repeat and "|AA|" in first  # the repeat is answered from the record, not applied again
    [condition] = found(fhir, "Condition", f"ONG-{client.prefix}")
    assert condition["meta"]["versionId"] == "1"


def _professional(fhir: httpx.Client, prefix: str, valvira: str) -> str:
    """A new nurse of the psychiatry organisation (Practitioner + PractitionerRole) on HAPI."""
    practitioner = {
        "resourceType": "Practitioner",
        "id": f"{prefix}-pr",
        "meta": {"profile": ["https://yhteys.fi/fhir/StructureDefinition/FiProfessional"]},
        "identifier": [{"system": "urn:oid:1.2.246.537.26", "value": valvira}],
        "active": True,
        "name": [{"use": "official", "family": "Salo", "given": ["Pia"]}],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": f"{prefix}-role",
        "meta": {"profile": ["https://yhteys.fi/fhir/StructureDefinition/FiProfessionalRole"]},
        "active": True,
        "practitioner": {"reference": f"Practitioner/{prefix}-pr"},
        "organization": {"reference": "Organization/demo-org-psychiatry"},
        "code": [{"coding": [{"system": "https://yhteys.fi/fhir/CodeSystem/team-role", "code": "nurse"}]}],
    }
    for resource in (practitioner, role):
        answer = fhir.put(
            f"/{resource['resourceType']}/{resource['id']}",
            content=json.dumps(resource),
            headers={"Content-Type": FHIR_JSON},
        )
        assert answer.status_code in (200, 201), answer.text
    return f"PractitionerRole/{prefix}-role"


def test_the_record_goes_out_as_the_ehr_sees_it_and_comes_back_changing_nothing(
    served: Settings, fhir: httpx.Client
) -> None:
    client, hetu = client_with_own_hetu(fhir)
    keys = {"ONG-4711": f"ONG-{client.prefix}", "TAV-0815": f"TAV-{client.prefix}"}
    [ack] = handle(served, sample("ppr-pc1-problem-with-goal.hl7", hetu, **keys))
    assert ack.code == "AA", ack
    social = {
        "resourceType": "Condition",
        "id": f"{client.prefix}-need-income",
        "meta": {"security": [{"system": "https://yhteys.fi/fhir/CodeSystem/sensitivity", "code": "SOC"}]},
        "code": {"text": "Toimeentulotuen tarve"},
        "subject": {"reference": client.ref("client")},
    }
    put = fhir.put(f"/Condition/{social['id']}", content=json.dumps(social), headers={"Content-Type": FHIR_JSON})
    assert put.status_code == 201, put.text
    messages = export(served, hetu)
    assert _without_times(export(served, hetu, page_size=1)) == _without_times(messages)  # every page followed
    text = "\n".join(messages)
    assert [m.split("|")[8] for m in messages] == ["PPR^PC2^PPR_PC1", "PGL^PC7^PGL_PC6"]
    assert f"ONG-{client.prefix}^ESKO" in text and f"{client.prefix}-need-school^YHTEYS" in text  # every sector's
    assert f"TAV-{client.prefix}^ESKO" in text and f"{client.prefix}-goal-home^YHTEYS" in text
    assert "Toimeentulotuen" not in text and "need-income" not in text  # SOC: hidden from psychiatry
    assert "|UP|OMA^" in text and "demo-role-social-worker^^^^^^^^YHTEYS" in text  # the personal worker, local code
    references = [client.ref(kind) for kind in ("team", "need-school", "need-housing", "need-anxiety", "goal-home")]
    [condition] = found(fhir, "Condition", f"ONG-{client.prefix}")
    [goal] = found(fhir, "Goal", f"TAV-{client.prefix}")
    references += [f"Condition/{condition['id']}", f"Goal/{goal['id']}"]
    before = versions(fhir, references)
    acks = handle(served, *messages)
    assert [(a.code, a.text.startswith("nothing changed")) for a in acks] == [("AA", True)] * 2, acks
    assert versions(fhir, references) == before


def export(settings: Settings, hetu: str, page_size: int = 100) -> list[str]:
    """The client's record as the EHR's system reads it, as messages."""

    async def work(client: GatewayClient) -> list[str]:
        return record_messages(await read_record(client, hetu, page_size=page_size), datetime.now(UTC))

    return as_ehr(settings, work)


def test_nobody_outside_the_ehrs_organisation_joins_the_team_through_it(served: Settings, fhir: httpx.Client) -> None:
    client, hetu = client_with_own_hetu(fhir)
    curator = "demo-role-curator^^^^^^^^YHTEYS"  # open in the team as school-curator, not as a nurse
    message = sample("pgl-pc6-goal.hl7", hetu, **{"TAV-0816": f"TAV-{client.prefix}", "10000003^Niemi^Jussi": curator})
    before = versions(fhir, [client.ref("team")])
    [ack] = handle(served, message)
    assert (ack.code, ack.problems[0].code) == ("AE", 204) and "only the EHR's own" in ack.text, ack
    assert found(fhir, "Goal", f"TAV-{client.prefix}") == [] and versions(fhir, [client.ref("team")]) == before


def test_a_problem_twice_in_one_message_is_refused_and_nothing_is_written(served: Settings, fhir: httpx.Client) -> None:
    client, hetu = client_with_own_hetu(fhir)
    once = sample("messy-escapes.hl7", hetu, **{"ONG-4712": f"ONG-{client.prefix}"})
    twice = once + "\r" + once.split("\r")[-1]
    [ack] = handle(served, twice)
    assert (ack.code, ack.problems[0].code) == ("AE", 205) and "comes twice" in ack.text, ack
    assert found(fhir, "Condition", f"ONG-{client.prefix}") == []


def test_the_gateway_refuses_a_foreign_professional_labelled_as_a_sectors_own_member(
    served: Settings, fhir: httpx.Client
) -> None:
    client, _ = client_with_own_hetu(fhir)
    owner = {"url": "https://yhteys.fi/fhir/StructureDefinition/activity-owning-sector",
             "valueCoding": {"system": "https://yhteys.fi/fhir/CodeSystem/sector", "code": "hospital-psychiatry"}}  # fmt: skip
    role = {"coding": [{"system": "https://yhteys.fi/fhir/CodeSystem/team-role", "code": "nurse"}]}

    async def work(gateway: GatewayClient) -> list[int]:
        statuses = []
        for member in ("PractitionerRole/demo-role-curator", "PractitionerRole/demo-role-psychiatrist"):
            answer = await gateway.request("GET", client.ref("team"))
            team = answer.json()
            team["participant"].append({"extension": [owner], "role": [role], "member": {"reference": member},
                                        "period": {"start": "2026-12-03"}})  # fmt: skip
            etag = answer.headers["etag"]
            put = await gateway.request("PUT", client.ref("team"), body=team, headers={"If-Match": etag})
            statuses.append(put.status_code)
            if put.status_code == 422:
                assert "must be a professional of an organisation of that sector" in put.text
        return statuses

    assert as_ehr(served, work) == [422, 200]  # the school's curator is not psychiatry's; its psychiatrist is


def _without_times(messages: list[str]) -> list[str]:
    """`messages` without what differs between two exports: MSH-7, MSH-10 and the action times."""
    kept = []
    for message in messages:
        segments = []
        for segment in message.split("\r"):
            fields = segment.split("|")
            if fields[0] == "MSH":
                fields[6] = fields[9] = ""
            elif fields[0] in ("PRB", "GOL"):
                fields[2] = ""
            segments.append("|".join(fields))
        kept.append("\r".join(segments))
    return kept

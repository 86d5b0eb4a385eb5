"""The municipal youth services' JSON export into the shared plan, as the youth services' system.

The export (`mappings/specs/youth-services.yaml`) is a JSON object with Finnish field names:
`asiakkaat`, a list of clients, each with `asiakas.henkilötunnus`, the youth worker
(`nuorisotyöntekijä`, a name) and the youth-work measures agreed with them (`toimenpiteet`, each
`koodi`, `kuvaus`, `tapaamiset`, `sovitut_jatkotoimet`). `read_records(data)` reads and checks
it (pure): each client is a `mappings.plan.ClientRecord` (its position in `asiakkaat` as its
line), or a `Rejected` naming the field (`asiakkaat[2].toimenpiteet[1].koodi`) and the reason:
a henkilötunnus whose check character is wrong, no youth worker, a measure code the ConceptMap
`youth-work-measure` does not translate, a field of the wrong type, one measure twice, saying
different things. A client listed twice is rejected both times: which one is meant cannot be
told. The youth services are the municipality's, not the county's: the gateway writes only for
a client whose consent names them, and refuses (and records) everything else.

`to_json(hetu, plan)` is the way back: the plan as the youth services' system sees it, their
own measures with their local codes in `toimenpiteet` (so that an export imported again changes
nothing) and the other sectors' activities, for reading, in `muiden_sektorien_toimenpiteet`,
which an import leaves alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.fhir.hetu import HetuError, parse_hetu
from mappings.plan import Activity, ClientRecord, Rejected, Sector, owner_of
from mappings.tables import decode
from mappings.translate import ConceptMapTable

__all__ = ["LOCAL_MEASURE_SYSTEM", "read_records", "to_json", "youth_sector"]

LOCAL_MEASURE_SYSTEM = "https://yhteys.fi/fhir/CodeSystem/youth-register-measure"
"""The youth services register's measure codes (the ConceptMap's source)."""
_SECTOR = "municipal-youth-services"


def youth_sector(organization: str) -> Sector:
    """The municipal youth services, their system of `organization`."""
    return Sector(
        _SECTOR,
        "Municipal youth services",
        ("youth-worker",),
        organization,
        "asiakas.henkilötunnus",
        "nuorisotyöntekijä",
    )


def read_records(data: bytes, measures: ConceptMapTable | None = None) -> list[ClientRecord | Rejected]:
    """The export's client records, each checked; see the module doc. `ValueError` if the export
    as a whole is not the JSON described (not JSON, no `asiakkaat` list)."""
    table = measures or ConceptMapTable.load("youth-work-measure")
    try:
        export = json.loads(decode(data)[0])
    except ValueError as exc:
        raise ValueError(f"the export is not JSON: {exc}") from None
    clients = export.get("asiakkaat") if isinstance(export, dict) else None
    if not isinstance(clients, list):
        raise ValueError("the export has no list 'asiakkaat'")
    records = [_record(position, client, table) for position, client in enumerate(clients, start=1)]
    twice = {r.hetu for r in records if r.hetu} - _once(records)
    return [
        Rejected(
            r.hetu, r.lines, f"asiakkaat[{r.lines[0]}].asiakas.henkilötunnus", "the client is listed more than once"
        )
        if r.hetu in twice
        else r
        for r in records
    ]


def _once(records: list[ClientRecord | Rejected]) -> set[str]:
    seen: dict[str, int] = {}
    for record in records:
        if record.hetu:
            seen[record.hetu] = seen.get(record.hetu, 0) + 1
    return {hetu for hetu, count in seen.items() if count == 1}


def _record(position: int, client: object, table: ConceptMapTable) -> ClientRecord | Rejected:
    where = f"asiakkaat[{position}]"
    lines = (position,)
    if not isinstance(client, Mapping):
        return Rejected(None, lines, where, "a client is an object")
    person = client.get("asiakas")
    hetu = person.get("henkilötunnus") if isinstance(person, Mapping) else None
    if not isinstance(hetu, str):
        return Rejected(None, lines, f"{where}.asiakas.henkilötunnus", "no henkilötunnus")
    try:
        hetu = parse_hetu(hetu).code
    except HetuError as exc:
        return Rejected(None, lines, f"{where}.asiakas.henkilötunnus", str(exc))
    worker = client.get("nuorisotyöntekijä")
    if not isinstance(worker, str) or not worker.strip():
        return Rejected(hetu, lines, f"{where}.nuorisotyöntekijä", "no youth worker named")
    listed = client.get("toimenpiteet", [])
    if not isinstance(listed, list):
        return Rejected(hetu, lines, f"{where}.toimenpiteet", "the measures are a list")
    activities: dict[str, Activity] = {}
    for index, measure in enumerate(listed, start=1):
        found = _measure(f"{where}.toimenpiteet[{index}]", measure, worker.strip(), table)
        if isinstance(found, tuple):
            return Rejected(hetu, lines, *found)
        if found.key in activities and activities[found.key] != found:
            return Rejected(
                hetu, lines, f"{where}.toimenpiteet[{index}].koodi", f"measure {found.key!r} twice, differently"
            )
        activities[found.key] = found
    return ClientRecord(hetu, lines, tuple(activities[code] for code in sorted(activities)))


def _measure(where: str, measure: object, worker: str, table: ConceptMapTable) -> Activity | tuple[str, str]:
    """One measure as an `Activity`, or the field and reason it is rejected for."""
    if not isinstance(measure, Mapping):
        return where, "a measure is an object"
    code = measure.get("koodi")
    if not isinstance(code, str) or not code.strip():
        return f"{where}.koodi", "no measure code"
    target = table.translate(LOCAL_MEASURE_SYSTEM, code.strip())
    if target is None:
        return f"{where}.koodi", f"the measure code {code[:20]!r} is not known (ConceptMap youth-work-measure)"
    texts: dict[str, str] = {}
    for name in ("kuvaus", "tapaamiset", "sovitut_jatkotoimet"):
        value: Any = measure.get(name, "")
        if not isinstance(value, str):
            return f"{where}.{name}", "a text is expected"
        texts[name] = value.strip()
    return Activity(
        code.strip(),
        (target.system, target.code, target.display),
        worker,
        description=texts["kuvaus"],
        scheduled=texts["tapaamiset"],
        progress=texts["sovitut_jatkotoimet"],
    )


def to_json(hetu: str, plan: Mapping[str, Any], measures: ConceptMapTable | None = None) -> bytes:
    """The plan's activities as the youth services' export (UTF-8 JSON)."""
    table = measures or ConceptMapTable.load("youth-work-measure")
    own: list[dict[str, str]] = []
    others: list[dict[str, str]] = []
    workers: list[str] = []
    for activity in plan.get("activity", []) or []:
        detail: Mapping[str, Any] = activity.get("detail", {})
        texts = {"kuvaus": detail.get("description", ""), "tapaamiset": detail.get("scheduledString", "")}
        if owner_of(activity) != _SECTOR:
            others.append({"sektori": owner_of(activity) or "", **texts})
            continue
        coding: Mapping[str, Any] = next(iter(detail.get("code", {}).get("coding", []) or []), {})
        target = (str(coding.get("system", "")), str(coding.get("code", "")))
        progress = [str(p.get("text", "")) for p in activity.get("progress", []) or []]
        own.append({"koodi": table.source_of(LOCAL_MEASURE_SYSTEM, target) or target[1], **texts,
                    "sovitut_jatkotoimet": progress[0] if progress else ""})  # fmt: skip
        workers += [str(p.get("display", "")) for p in detail.get("performer", []) or [] if p.get("display")]
    client = {
        "asiakas": {"henkilötunnus": hetu},
        "nuorisotyöntekijä": workers[0] if workers else "",
        "toimenpiteet": own,
        "muiden_sektorien_toimenpiteet": others,
    }
    return json.dumps({"asiakkaat": [client]}, ensure_ascii=False, indent=2).encode("utf-8")

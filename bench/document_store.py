"""A plan document issued through the gateway and stored on HAPI, end to end, beside HAPI's share (issue 11).

    python -m bench.document_store [--activities 50] [--goals 20] [--count 100] [--warmup 10] [--write]

HAPI and the gateway are started as production runs them (`bench.stack`: `yhteys gateway serve`
in front of our HAPI, the demo loaded and its PKI made), and the demo client's plan grown to
`--activities` activities and `--goals` goals (`bench.large_plan`) is written to HAPI. Then,
rounds alternating which goes first:

1. **issue**: `POST CarePlan/bench-plan/$document` for the school welfare through the gateway,
   as the personal worker, timed whole on the client's side: the gateway reads the plan and all
   it reaches from HAPI, decides the recipient's view, composes, signs and stores the document
   and its DocumentReference in one transaction (each call a new version, superseding the last);
2. **store**: the store's part alone, measured apart: the same signed Bundle and a copy of its
   DocumentReference (new ids, status superseded, so the series stays as the gateway left it)
   PUT straight to HAPI in one transaction, as the gateway sends them.

`bench.documents` measures the gateway's own work in-process; this bench says what a caller
waits for and how much of it is HAPI. Every answer must be 200: anything else fails the bench.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from bench.large_plan import PLAN, large_pool
from bench.report import write_section
from bench.stack import hapi_with_demo, served_gateway, token
from bench.stats import Summary
from gateway.fhir.media import FHIR_JSON
from gateway.settings import Settings

__all__ = ["main"]

_RECIPIENT = "Organization/demo-org-school-welfare"
_SCOPE = "system/CarePlan.rs system/Goal.rs system/CareTeam.rs system/Condition.rs system/Patient.rs"
_PARAMETERS = json.dumps(
    {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "recipient", "valueReference": {"reference": _RECIPIENT}},
            {"name": "purpose", "valueCode": "CAREMGT"},
        ],
    }
).encode()


class BenchFailed(RuntimeError):
    """An answer was not 200: the bench measured a failure, not the work."""


def _write_plan(fhir: httpx.Client, activities: int, goals: int) -> None:
    """The grown plan and its goals on HAPI (the rest of the pool is the demo, loaded already)."""
    pool = large_pool(activities, goals)
    entries = [
        {"fullUrl": f"{fhir.base_url}/{ref}", "resource": resource, "request": {"method": "PUT", "url": ref}}
        for ref, resource in pool.items()
        if ref == PLAN or ref.startswith("Goal/bench-")
    ]
    answer = fhir.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": entries})
    if answer.status_code != 200:
        raise BenchFailed(f"the grown plan was not stored: {answer.status_code} {answer.text[:500]}")


def _issue(gateway: httpx.Client, bearer: str) -> dict[str, Any]:
    answer = gateway.post(
        f"/fhir/{PLAN}/$document",
        content=_PARAMETERS,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
    )
    if answer.status_code != 200:
        raise BenchFailed(f"$document answered {answer.status_code}: {answer.text[:500]}")
    document: dict[str, Any] = answer.json()
    return document


def _store(fhir: httpx.Client, document: dict[str, Any], index: dict[str, Any]) -> None:
    """The signed `document` and a copy of its `index` entry, new ids, in one transaction."""
    new_id = str(uuid.uuid4())
    copied = {**copy.deepcopy(index), "id": new_id, "status": "superseded"}
    copied.pop("meta", None)
    copied["meta"] = {"profile": index["meta"]["profile"]}
    copied.pop("relatesTo", None)
    copied["content"][0]["attachment"]["url"] = f"Bundle/{new_id}"
    entries = [
        {"fullUrl": f"{fhir.base_url}/Bundle/{new_id}", "resource": {**document, "id": new_id},
         "request": {"method": "PUT", "url": f"Bundle/{new_id}"}},
        {"fullUrl": f"{fhir.base_url}/DocumentReference/{new_id}", "resource": copied,
         "request": {"method": "PUT", "url": f"DocumentReference/{new_id}"}},
    ]  # fmt: skip
    answer = fhir.post(
        "",
        json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        headers={"Prefer": "return=minimal"},
    )
    if answer.status_code != 200:
        raise BenchFailed(f"the store refused the document's transaction: {answer.status_code} {answer.text[:500]}")


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(settings: Settings, count: int, warmup: int, activities: int, goals: int) -> dict[str, Any]:
    """Issue and store timings (seconds) for the grown plan; see the module doc."""
    with (
        httpx.Client(base_url=settings.hapi_base_url, timeout=120.0) as fhir,
        httpx.Client(base_url=settings.gateway_origin, timeout=120.0) as gateway,
    ):
        _write_plan(fhir, activities, goals)
        bearer = token(settings, "social-welfare-system", _SCOPE)
        document = _issue(gateway, bearer)
        size = len(json.dumps(document, ensure_ascii=False).encode())
        found = fhir.get("/DocumentReference", params={"related": PLAN, "status": "current"}).json()
        index = found["entry"][0]["resource"]
        for _ in range(warmup):
            _issue(gateway, bearer)
            _store(fhir, document, index)
        issued: list[float] = []
        stored: list[float] = []
        started = time.perf_counter()
        for number in range(count):
            for kind in ("issue", "store") if number % 2 == 0 else ("store", "issue"):
                if kind == "issue":
                    issued.append(_timed(partial(_issue, gateway, bearer)))
                else:
                    stored.append(_timed(partial(_store, fhir, document, index)))
            if number % 25 == 24:  # a token lives 300 s
                bearer = token(settings, "social-welfare-system", _SCOPE)
        wall = time.perf_counter() - started
    return {
        "issue": Summary.of(issued, wall),
        "store": Summary.of(stored, wall),
        "entries": len(document["entry"]),
        "bytes": size,
    }


def _render(result: dict[str, Any], count: int, activities: int, goals: int) -> str:
    issue, store = result["issue"], result["store"]

    def ms(value: float) -> str:
        return f"{value * 1000:.1f}"

    share = store.p50 / issue.p50 if issue.p50 else 0.0
    return "\n".join(
        [
            "## Plan documents through the gateway: issued and stored on HAPI (issue 11)",
            "",
            f"`python -m bench.document_store --count {count}`: the demo client's plan grown to {activities} activities"
            f" and {goals} goals on our HAPI (H2), `$document` for the school welfare through `yhteys gateway serve`"
            f" as the personal worker ({result['entries']} entries, {result['bytes']:,} bytes signed), and the same"
            " signed Bundle with its DocumentReference stored straight on HAPI, one after the other, alternating.",
            "",
            "| what | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|",
            f"| `$document` through the gateway, whole | {ms(issue.p50)} | {ms(issue.p99)} | {ms(issue.maximum)} |",
            f"| HAPI storing the Bundle + DocumentReference (one transaction) | {ms(store.p50)} | {ms(store.p99)}"
            f" | {ms(store.maximum)} |",
            "",
            f"HAPI's transaction alone is {share:.0%} of the whole at p50; the rest is the gateway's reads of the"
            " plan and what it reaches (one wave of GETs per reference depth), the consent, team and document"
            " searches, and its own work (`bench.documents`: issue p50 under 10 ms).",
        ]
    )


def main() -> None:
    """Run the bench; see the module doc."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=50)
    parser.add_argument("--goals", type=int, default=20)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    with hapi_with_demo() as settings, served_gateway(settings):
        result = measure(settings, args.count, args.warmup, args.activities, args.goals)
    body = _render(result, args.count, args.activities, args.goals)
    print(body)
    if args.write:
        write_section("document-store", body)


if __name__ == "__main__":
    main()

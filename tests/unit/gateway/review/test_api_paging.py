"""The audit API pages the trail with no cap and names what it shows: the FHIR search's Bundle
links and the console's page links followed to the end, with events appended between page loads
(every reading is itself one), lose and repeat nothing; the filters by local day.

The API runs as the gateway serves it (the audited frame, the role policy, a real SQLite trail)
behind httpx's ASGI transport; the name directory reads a stand-in of the store (the demo's
resources). Pages are read with tests/unit/gateway/review/test_pages.py's HTML tree.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from auth.principal import TokenVerifier
from gateway.access.policy import load_policy
from gateway.app.frame import AuditedFrame
from gateway.audit.balp import events_of
from gateway.audit.chain import CheckpointKey
from gateway.audit.store import AuditQuery, AuditStore
from gateway.audit.trail import AuditTrail
from gateway.demo import demo_bundle
from gateway.errors import BadRequest
from gateway.outcomes import install_handlers
from gateway.review.api import create_audit_router, query_of
from gateway.review.names import NameDirectory
from tests.e2e.gateway_harness import ISSUER, KEYS, PUBLIC_BASE, token
from tests.unit.gateway.review.test_api_failure import AUDITOR
from tests.unit.gateway.review.test_pages import CLIENT, YOUTH, _record, body_rows, parse

RESOURCES = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
Call = Callable[[str], Awaitable[httpx.Response]]


async def _demo_store(resource_type: str, ids: Sequence[str]) -> Sequence[Mapping[str, object]]:
    return [RESOURCES[f"{resource_type}/{i}"] for i in ids if f"{resource_type}/{i}" in RESOURCES]


def _append(trail: AuditTrail, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        trail.store.append(events_of(_record(n % 60, YOUTH), server=PUBLIC_BASE))


def _run(tmp_path: Path, body: Callable[[AuditTrail, Call], Awaitable[None]]) -> None:
    trail = AuditTrail(
        AuditStore.sqlite(tmp_path / "audit.sqlite"), CheckpointKey.load(tmp_path / "key.pem"), server=PUBLIC_BASE
    )
    verifier = TokenVerifier(KEYS, issuer=ISSUER, audience=PUBLIC_BASE, clock=time.time)
    names = NameDirectory(_demo_store, {"youth-system": "Nuorisopalvelujen asiakasjärjestelmä (demo)"}, ttl=60)
    router = create_audit_router(AuditedFrame(verifier, trail), load_policy(), trail, "https://gateway.example", names)
    bearer = token(AUDITOR, ("system/AuditEvent.rs",))

    async def main() -> None:
        app = FastAPI()
        install_handlers(app)
        app.include_router(router)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as client:

            async def call(url: str) -> httpx.Response:
                return await client.get(url, headers={"Authorization": f"Bearer {bearer}"})

            await body(trail, call)
        await trail.close()

    asyncio.run(main())


def _local(url: str) -> str:
    """A link on the configured origin, as a path and query for the test client."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://gateway.example"
    return f"{parts.path}?{parts.query}"


def test_the_search_bundle_pages_to_the_end_losing_and_repeating_nothing(tmp_path: Path) -> None:
    async def body(trail: AuditTrail, call: Call) -> None:
        _append(trail, 23)
        first = (await call("/audit/AuditEvent?patient=Patient/demo-client&_count=5")).json()
        assert first["type"] == "searchset" and first["total"] == 23
        assert [link["relation"] for link in first["link"]] == ["self", "next"]  # the newest page: none before it
        seen = [int(entry["resource"]["id"]) for entry in first["entry"]]
        page, pages = first, 1
        while next_link := next((link["url"] for link in page["link"] if link["relation"] == "next"), None):
            _append(trail, 2, first=40)  # the client's events keep arriving, between every two loads
            answer = await call(_local(next_link))
            assert answer.status_code == 200, answer.text
            page, pages = answer.json(), pages + 1
            seen += [int(entry["resource"]["id"]) for entry in page["entry"]]
        assert pages == 5 and seen == list(range(23, 0, -1))  # every event once, newest first
        assert page["total"] > 23 + 2 * 4  # the newer ones (and the readings) are counted, and were not in the way
        back = next(link["url"] for link in page["link"] if link["relation"] == "previous")
        before_last = (await call(_local(back))).json()
        assert [int(entry["resource"]["id"]) for entry in before_last["entry"]] == [8, 7, 6, 5, 4]
        past = (await call("/audit/AuditEvent?patient=Patient/demo-client&_count=5&_before=1")).json()
        assert past["entry"] == [] and past["total"] > 23  # past the oldest: nothing, and the count of all
        (back,) = [link["url"] for link in past["link"] if link["relation"] == "previous"]
        oldest = (await call(_local(back))).json()
        assert [int(entry["resource"]["id"]) for entry in oldest["entry"]] == [5, 4, 3, 2, 1]

    _run(tmp_path, body)


def test_the_console_pages_by_links_and_names_who_acted(tmp_path: Path) -> None:
    async def body(trail: AuditTrail, call: Call) -> None:
        _append(trail, 7)
        url: str | None = f"/audit/console?patient={CLIENT}&_count=3&lang=en"
        seen: list[str] = []
        left = []  # how many older events each page says follow it
        while url is not None:
            page = parse((await call(url)).text)
            rows = [row.attrs["data-seq"] for row in body_rows(page)]
            seen += rows
            nav = page.find_all("nav", cls="pages")[0]
            position = re.fullmatch(
                r"Events (\d+)–(\d+) of (\d+), newest first\.", nav.find("span", cls="position").text
            )
            assert position, nav.text
            start, end, total = (int(group) for group in position.groups())
            assert end - start + 1 == len(rows)
            left.append(total - end)
            following = [a.attrs["href"] for a in nav.find_all("a") if a.attrs.get("rel") == "next"]
            url = f"/audit/console{following[0]}" if following else None
            _append(trail, 1, first=50)
        assert seen == [str(seq) for seq in range(7, 0, -1)]
        assert left == [4, 1, 0]  # however many newer ones arrived meanwhile (and the readings)
        row = body_rows(parse((await call(f"/audit/console?patient={CLIENT}&lang=fi")).text))[0]
        professional, organization, system = (cell.text for cell in row.find_all("td")[3:6])
        assert professional == "Tuomas Väisänen, Nuorisotyöntekijä PractitionerRole/demo-role-youth-worker"
        assert organization.startswith("Demo kaupunki, nuorisopalvelut Organization/demo-org-youth-services")
        assert system == "Nuorisopalvelujen asiakasjärjestelmä (demo) youth-system"

    _run(tmp_path, body)


def test_the_report_pages_its_rows_and_keeps_the_language(tmp_path: Path) -> None:
    async def body(trail: AuditTrail, call: Call) -> None:
        _append(trail, 4)
        page = parse((await call(f"/audit/report/{CLIENT}?_format=html&lang=sv&_count=3")).text)
        assert len(body_rows(page)) == 3
        nav = page.find_all("nav", cls="pages")[0]
        assert nav.find("span", cls="position").text == "Poster 1–3 av 4, nyaste först"
        (older,) = [a.attrs["href"] for a in nav.find_all("a") if a.attrs.get("rel") == "next"]
        last = parse((await call(f"/audit/report/{CLIENT}{older}")).text)
        assert last.find("html").attrs["lang"] == "sv" and len(body_rows(last)) == 1
        languages = {a.attrs["hreflang"]: a.attrs["href"] for a in last.find("nav", cls="languages").find_all("a")}
        same_page = sorted(parse_qsl(older.replace("lang=sv", "lang=en")[1:]))
        assert sorted(parse_qsl(languages["en"][1:])) == same_page  # the same page in another language
        bundle = (await call(f"/audit/report/{CLIENT}?_count=2")).json()
        assert bundle["type"] == "collection" and "total" not in bundle and len(bundle["entry"]) == 2
        assert [link["relation"] for link in bundle["link"]] == ["self", "next"]
        assert (await call(f"/audit/report/{CLIENT}?patient=Patient/other")).status_code == 400

    _run(tmp_path, body)


def test_local_days_filter_from_the_first_to_the_last_instant_of_each_day() -> None:
    autumn = query_of([("from_date", "2026-10-25"), ("to_date", "2026-10-25")])
    assert (autumn.date_from, autumn.date_to) == (
        "2026-10-24T21:00:00.000000+00:00",
        "2026-10-25T21:59:59.999999+00:00",
    )
    narrowed = query_of([("date", "ge2026-10-25T12:00"), ("from_date", "2026-10-25"), ("date", "le2026-12-31")])
    assert narrowed.date_from == "2026-10-25T12:00" and narrowed.date_to == "2026-12-31\uffff"  # both bounds apply
    assert query_of([("from_date", ""), ("_count", "7"), ("_before", "12")]) == AuditQuery(limit=7, before=12)
    assert query_of([]) == AuditQuery(limit=100)


@pytest.mark.parametrize(
    "params",
    [
        [("from_date", "25.10.2026")],
        [("to_date", "2026-02-30")],
        [("to_date", "2026-1-5")],
        [("_before", "-1")],
        [("_after", "x")],
        [("_count", "501")],
        [("_has", "x")],
        [("unknown", "")],
    ],
)
def test_bad_parameters_are_refused(params: list[tuple[str, str]]) -> None:
    with pytest.raises(BadRequest):
        query_of(params)


def test_the_day_filter_finds_exactly_the_events_of_that_day(tmp_path: Path) -> None:
    store = AuditStore.sqlite(tmp_path / "audit.sqlite")
    moments = [datetime(2026, 10, 24, 20, 59, 59, 999999, tzinfo=UTC), datetime(2026, 10, 24, 21, tzinfo=UTC),
               datetime(2026, 10, 25, 21, 59, 59, 999999, tzinfo=UTC), datetime(2026, 10, 25, 22, tzinfo=UTC)]  # fmt: skip
    for n, moment in enumerate(moments):
        store.append(events_of(replace(_record(n, YOUTH), recorded_at=moment), server=PUBLIC_BASE))
    found = store.search(query_of([("from_date", "2026-10-25"), ("to_date", "2026-10-25")]))
    assert [event.seq for event in found] == [3, 2]  # 00.00 EEST to 23.59.59.999999 EET, nothing else
    store.close()

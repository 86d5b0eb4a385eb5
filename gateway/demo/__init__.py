"""The demo: a fictional young person, her support team and their one shared plan.

`bundle.json` is one FHIR transaction of PUTs with fixed ids, so loading it again changes
nothing: HAPI keeps a resource's version when an update brings no change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["DEMO_BUNDLE", "DemoError", "DemoLoad", "demo_bundle", "demo_client_records", "load_demo"]

DEMO_BUNDLE = Path(__file__).with_name("bundle.json")


class DemoError(RuntimeError):
    """The FHIR store refused the demo; the message carries its OperationOutcome's errors."""


@dataclass(frozen=True)
class DemoLoad:
    """What the store answered, per entry in bundle order: `Type/id/_history/n` and the status."""

    locations: tuple[str, ...]
    statuses: tuple[str, ...]

    @property
    def created(self) -> int:
        """How many entries were new (201) rather than updated or unchanged (200)."""
        return sum(1 for status in self.statuses if status.startswith("201"))


def demo_bundle() -> dict[str, Any]:
    """The demo transaction Bundle, parsed (a fresh copy each call)."""
    bundle: dict[str, Any] = json.loads(DEMO_BUNDLE.read_text(encoding="utf-8"))
    return bundle


def demo_client_records() -> dict[str, dict[str, Any]]:
    """The demo young person's records and the directory, by reference ("Type/id"): the whole
    bundle but the other people in it (the demo minor and her guardian)."""
    records = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
    return {ref: r for ref, r in records.items() if ref not in _OTHER_PEOPLE}


_OTHER_PEOPLE = frozenset({"Patient/demo-minor", "RelatedPerson/demo-guardian"})


def load_demo(client: httpx.Client, base_url: str) -> DemoLoad:
    """POST the demo transaction to `base_url`; all of it is stored or none. Raises `DemoError`."""
    response = client.post(
        base_url,
        content=DEMO_BUNDLE.read_bytes(),
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
    )
    if response.status_code != 200:
        raise DemoError(f"the store refused the demo ({response.status_code}): {_errors(response)}")
    entries = response.json().get("entry", [])
    return DemoLoad(
        locations=tuple(e["response"]["location"] for e in entries),
        statuses=tuple(e["response"]["status"] for e in entries),
    )


def _errors(response: httpx.Response) -> str:
    try:
        issues = response.json().get("issue", [])
    except ValueError:
        return response.text[:500]
    return "; ".join(
        i.get("diagnostics", i.get("code", "?")) for i in issues if i.get("severity") in ("error", "fatal")
    )

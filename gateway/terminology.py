"""The project's own CodeSystems as pages read them: a code's display in Finnish, Swedish or English.

`display(code_system, code, language)` reads `terminology/CodeSystem-<code_system>.json` of the
checkout (once per process: the files ship with the gateway and do not change while it runs)
and answers the concept's designation in `language` (fi, sv), its `display` for en or when the
concept has no designation in that language, or None for a code the CodeSystem does not hold.
An unknown CodeSystem is a `FileNotFoundError`: callers name only the CodeSystems we publish.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache

from gateway.settings import PROJECT_ROOT

__all__ = ["display"]

_FOLDER = PROJECT_ROOT / "terminology"


def display(code_system: str, code: str, language: str) -> str | None:
    """The display of `code` of CodeSystem/`code_system` in `language`; see the module doc."""
    names = _displays(code_system).get(code)
    if names is None:
        return None
    return names.get(language) or names["en"]


@cache
def _displays(code_system: str) -> Mapping[str, Mapping[str, str]]:
    concepts = json.loads((_FOLDER / f"CodeSystem-{code_system}.json").read_text(encoding="utf-8"))["concept"]
    return {
        c["code"]: {d["language"]: d["value"] for d in c.get("designation", [])} | {"en": c["display"]}
        for c in concepts
    }

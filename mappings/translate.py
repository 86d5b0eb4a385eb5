"""Local codes translated through our ConceptMaps, read from `terminology/` (the same files
HAPI installs, so `$translate` there answers the same).

`ConceptMapTable.load(name)` reads `terminology/ConceptMap-<name>.json`; `translate(system,
code)` answers the target Coding of an `equivalent` (or `equal`) mapping, or None: a code the
map does not know, or maps only loosely, is never guessed at; `source_of` is the way back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mappings.spec import TERMINOLOGY

__all__ = ["ConceptMapTable", "Translated"]

_EXACT = frozenset({"equivalent", "equal"})


@dataclass(frozen=True)
class Translated:
    """The target of a translation: system, code and display."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class ConceptMapTable:
    """A ConceptMap as a table of (source system, code) → target."""

    url: str
    targets: dict[tuple[str, str], Translated]

    @classmethod
    def load(cls, name: str, folder: Path = TERMINOLOGY) -> ConceptMapTable:
        """The ConceptMap `name` of `folder`; `ValueError` if the file is no ConceptMap."""
        resource = json.loads((folder / f"ConceptMap-{name}.json").read_text(encoding="utf-8"))
        if resource.get("resourceType") != "ConceptMap":
            raise ValueError(f"ConceptMap-{name}.json is not a ConceptMap")
        targets = {}
        for group in resource.get("group", []):
            for element in group.get("element", []):
                exact = [t for t in element.get("target", []) if t.get("equivalence") in _EXACT]
                if len(exact) == 1:
                    target = exact[0]
                    found = Translated(group["target"], target["code"], target.get("display", target["code"]))
                    targets[(group["source"], element["code"])] = found
        return cls(resource["url"], targets)

    def translate(self, system: str, code: str) -> Translated | None:
        """The exact target of `code` in `system`, or None."""
        return self.targets.get((system, code))

    def source_of(self, source_system: str, target: tuple[str, str]) -> str | None:
        """The code of `source_system` that translates exactly to `target` (system, code), if
        exactly one does: the way back for an export."""
        found = [
            code
            for (system, code), to in self.targets.items()
            if system == source_system and (to.system, to.code) == target
        ]
        return found[0] if len(found) == 1 else None

"""Mapping specs as data: one file per source system, rows of source field → FHIR element.

In the manner of the tables of HL7's v2-to-FHIR IG, a spec (`mappings/specs/<source>.yaml`)
says for each field of a source format where it goes in FHIR R4 and how:

- `source`: the field (an HL7 v2 field such as `PRB-4.1`, a CSV column name, a JSON path);
- `target`: the FHIR element, as `Type.element.element` (choice elements by their concrete
  name, `Goal.target.dueDate`), checked against the FHIR R4 model of `fhir.resources`;
- `datatype`: `source type → FHIR type` (`EI → Identifier`, `ST → string`);
- `translate` (optional): the id of a ConceptMap in `terminology/` that translates the code;
- `condition`: `required`, `optional`, or `if <field> valued`;
- `rule` (optional): a rule the table cannot express, named in the spec's `rules` with the
  function that implements it (`module:function`, importable) and why;
- `value` (optional): a fixed value the element always gets (its `source` is then `—`);
- `note` (optional): anything a reader needs.
`load_spec(path)` reads and checks a spec: any unknown key, unknown element, missing ConceptMap
or rule, or malformed row raises `SpecError` naming the file and the row, so a broken spec stops
the adapter before it maps anything.
"""

from __future__ import annotations

import importlib
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fhir.resources.R4B import get_fhir_model_class

__all__ = ["SPECS", "TERMINOLOGY", "MapRow", "MappingSpec", "SpecError", "Rule", "element_exists", "load_spec"]

SPECS = Path(__file__).with_name("specs")
"""Where the specs are, one per source system."""
TERMINOLOGY = Path(__file__).resolve().parents[1] / "terminology"
"""Our terminology folder: the ConceptMaps a spec's rows translate through."""

_SPEC_KEYS = {"source", "title", "format", "system", "key", "rules", "rows"}
_ROW_KEYS = {"source", "target", "datatype", "translate", "condition", "rule", "value", "note"}
_CONDITION = re.compile(r"required|optional|if \S+ valued")
_DATATYPE = re.compile(r"(\S+) → (\S+)")


class SpecError(ValueError):
    """A spec is malformed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Rule:
    """A rule of a spec that a row cannot express: the code that implements it, and why."""

    name: str
    code: str
    why: str


@dataclass(frozen=True)
class MapRow:
    """One row of a spec (see the module doc)."""

    source: str
    target: str
    datatype: str
    condition: str
    translate: str | None = None
    rule: str | None = None
    value: str | None = None
    note: str = ""


@dataclass(frozen=True)
class MappingSpec:
    """A source system's spec: who it is (`system`: client id and sector), its format, the key
    its records are upserted by, its rules and its rows."""

    source: str
    title: str
    format: str
    system: Mapping[str, str]
    key: str
    rules: Mapping[str, Rule]
    rows: tuple[MapRow, ...]


def load_spec(path: Path) -> MappingSpec:
    """The spec in `path`, checked; `SpecError` naming the file and row if it is not sound."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: not readable YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) != _SPEC_KEYS:
        raise SpecError(f"{path}: a spec has exactly the keys {', '.join(sorted(_SPEC_KEYS))}")
    rules = {name: _rule(path, name, value) for name, value in (data["rules"] or {}).items()}
    rows = tuple(_row(path, number, value, rules) for number, value in enumerate(data["rows"] or [], start=1))
    if not rows:
        raise SpecError(f"{path}: a spec maps at least one field")
    system = data["system"]
    if not isinstance(system, dict) or set(system) != {"client_id", "sector"}:
        raise SpecError(f"{path}: system names the client_id and sector of the source system")
    return MappingSpec(
        str(data["source"]), str(data["title"]), str(data["format"]), system, str(data["key"]), rules, rows
    )


def element_exists(path: str) -> bool:
    """Whether `path` (`Type.element...`) names an element of the FHIR R4 model."""
    first, *steps = path.split(".")
    model: Any = _model(first)
    if model is None:
        return False
    for step in steps:
        if model is None:
            return False  # a step below a primitive
        field = model.model_fields.get(step)
        if field is None or step.endswith("__ext") or step == "fhir_comments":
            return False
        model = _element_model(field.annotation)
    return True


def _element_model(annotation: Any) -> Any:
    """The FHIR model class of an element's type, or None for a primitive."""
    for inner in typing.get_args(annotation) or (annotation,):
        if typing.get_args(inner):
            found = _element_model(inner)
            if found is not None:
                return found
            continue
        name = getattr(inner, "__name__", "")
        if name.endswith("Type") and inner is not type(None):
            return _model(name.removesuffix("Type"))
    return None


def _model(name: str) -> Any:
    """The FHIR R4 model class called `name` (a resource or complex type), or None."""
    try:
        return get_fhir_model_class(name)
    except (AttributeError, KeyError, ValueError):
        return None


def _rule(path: Path, name: str, value: object) -> Rule:
    if not isinstance(value, dict) or set(value) != {"code", "why"}:
        raise SpecError(f"{path}: rule {name!r} gives its code (module:function) and why")
    module, _, function = str(value["code"]).partition(":")
    try:
        found = getattr(importlib.import_module(module), function, None)
    except ImportError:
        found = None
    if not callable(found):
        raise SpecError(f"{path}: rule {name!r} names {value['code']!r}, which is no function")
    return Rule(name, str(value["code"]), str(value["why"]))


def _row(path: Path, number: int, value: object, rules: Mapping[str, Rule]) -> MapRow:
    where = f"{path}: row {number}"
    if not isinstance(value, dict) or not {"source", "target", "datatype", "condition"} <= set(value) <= _ROW_KEYS:
        raise SpecError(
            f"{where}: a row has source, target, datatype, condition (translate, rule, value, note optional)"
        )
    row = MapRow(**{key: str(item) for key, item in value.items()})
    if not element_exists(row.target):
        raise SpecError(f"{where}: {row.target!r} is no FHIR R4 element")
    if _DATATYPE.fullmatch(row.datatype) is None:
        raise SpecError(f"{where}: datatype is 'source type → FHIR type', not {row.datatype!r}")
    if _CONDITION.fullmatch(row.condition) is None:
        raise SpecError(f"{where}: condition is required, optional or 'if <field> valued'")
    if row.rule is not None and row.rule not in rules:
        raise SpecError(f"{where}: rule {row.rule!r} is not among the spec's rules")
    if row.translate is not None:
        _concept_map(where, row.translate)
    return row


def _concept_map(where: str, name: str) -> None:
    """`name` is the id of a ConceptMap in `terminology/`; `SpecError` if it is not."""
    file = TERMINOLOGY / f"ConceptMap-{name}.json"
    try:
        resource = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SpecError(f"{where}: there is no ConceptMap {name!r} in terminology/") from None
    if resource.get("resourceType") != "ConceptMap" or resource.get("id") != name:
        raise SpecError(f"{where}: {file.name} is not the ConceptMap {name!r}")

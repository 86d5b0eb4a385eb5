"""Where a policy fault is: `PolicyError.path` from `parse_policy`, `PolicyError.line` from `read_policy`.

The path leads to the offending key or item (for a missing key, to the mapping that lacks
it); the line is where that node starts in the file, or its deepest prefix present there.
Messages are the ones `test_policy.py` asserts; the location is extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.access.policy import RULES_PATH, PolicyError, parse_policy, read_policy
from gateway.access.policy.load import NodePath

SHIPPED = RULES_PATH.read_text(encoding="utf-8")


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED)
    return data


def _set(path: NodePath, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: NodePath) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _copy_first_rule_id_to(n: int) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["rules"][n]["id"] = data["rules"][0]["id"]

    return mutate


@dataclass(frozen=True)
class PathCase:
    name: str
    mutate: Callable[[dict[str, Any]], None]
    want_path: NodePath
    want_message: str


LAST = len(_data()["rules"]) - 1  # the auditor's deny rule

PATH_CASES = [
    PathCase("unknown top-level key", _set(("enabled",), True), ("enabled",), "the policy: unknown keys ['enabled']"),
    PathCase("missing top-level key", _drop(("checks",)), (), "the policy: missing ['checks']"),
    PathCase("unknown version", _set(("version",), 2), ("version",), "version: only version 1 is known"),
    PathCase("no rules", _set(("rules",), []), ("rules",), "rules: must be a non-empty list"),
    PathCase("rule not a mapping", _set(("rules", 0), "permit all"), ("rules", 0), "rules[0]: must be a mapping"),
    PathCase("missing key in a rule", _drop(("rules", 2, "roles")), ("rules", 2), "rules[2]: missing ['roles']"),
    PathCase(
        "unknown key in a rule", _set(("rules", 2, "lables"), []), ("rules", 2, "lables"), "unknown keys ['lables']"
    ),
    PathCase(
        "unknown sector: the item",
        _set(("rules", 2, "sectors"), ["school-welfare", "school"]),
        ("rules", 2, "sectors", 1),
        "school-welfare-reads-plan: sectors: unknown codes ['school']",
    ),
    PathCase(
        "repeated role: the second one",
        _set(("rules", 2, "roles"), ["school-curator", "school-psychologist", "school-curator"]),
        ("rules", 2, "roles", 2),
        "roles: a code is listed twice",
    ),
    PathCase(
        "empty interactions: the key",
        _set(("rules", 2, "interactions"), []),
        ("rules", 2, "interactions"),
        "at least one item",
    ),
    PathCase(
        "bad element: the item",
        _set(("rules", 3, "elements"), ["status", "Status!"]),
        ("rules", 3, "elements", 1),
        "elements must be",
    ),
    PathCase("unknown effect", _set(("rules", 2, "effect"), "allow"), ("rules", 2, "effect"), "effect must be"),
    PathCase(
        "deny rule granting labels",
        _set(("rules", LAST, "labels"), ["PSY"]),
        ("rules", LAST, "labels"),
        "a deny rule grants nothing",
    ),
    PathCase(
        "write field on a read rule",
        _set(("rules", 2, "write_sectors"), ["own"]),
        ("rules", 2, "write_sectors"),
        "need a write interaction",
    ),
    PathCase("bad rule id", _set(("rules", 2, "id"), "https://example.org/x"), ("rules", 2, "id"), "id must be"),
    PathCase("duplicate id: the second", _copy_first_rule_id_to(5), ("rules", 5, "id"), "rules[5]: id https://"),
    PathCase("missing Swedish text", _drop(("rules", 2, "text", "sv")), ("rules", 2, "text"), "text: missing ['sv']"),
    PathCase(
        "empty English text", _set(("rules", 2, "text", "en"), " "), ("rules", 2, "text", "en"), "text.en must be"
    ),
    PathCase("missing check", _drop(("checks", "error")), ("checks",), "checks: missing ['error']"),
    PathCase(
        "check text not a mapping",
        _set(("checks", "scope", "text"), "x"),
        ("checks", "scope", "text"),
        "checks.scope: text: must be a mapping",
    ),
    PathCase("label reason id", _set(("labels", "R", "id"), 3), ("labels", "R", "id"), "labels.R: id must be"),
    PathCase(
        "read letter for a write",
        _set(("scope_letters", "update"), "r"),
        ("scope_letters", "update"),
        "scope_letters: 'r' is not a SMART v2 letter for update",
    ),
    PathCase(
        "unknown interaction letter",
        _set(("scope_letters", "fetch"), "r"),
        ("scope_letters", "fetch"),
        "scope_letters: unknown codes ['fetch']",
    ),
    PathCase(
        "break-the-glass for writes: the write",
        _set(("break_the_glass", "interactions"), ["read", "update"]),
        ("break_the_glass", "interactions", 1),
        "break_the_glass: interactions must be reads only",
    ),
    PathCase(
        "consent for an unknown sector",
        _set(("consent_required", "sectors"), ["municipality"]),
        ("consent_required", "sectors", 0),
        "consent_required: sectors: unknown codes ['municipality']",
    ),
]


@pytest.mark.parametrize("case", PATH_CASES, ids=lambda case: case.name)
def test_a_fault_carries_the_path_to_its_node(case: PathCase) -> None:
    data = _data()
    case.mutate(data)
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert caught.value.path == case.want_path
    assert case.want_message in str(caught.value)
    assert str(caught.value) == caught.value.reason
    assert caught.value.line is None and caught.value.file is None


def _line(text: str, fragment: str, after: str = "") -> int:
    """The 1-based line of the first `fragment` in `text` at or after the unique `after`."""
    if after:
        assert text.count(after) == 1, after
    start = text.index(after)
    return text.count("\n", 0, text.index(fragment, start)) + 1


def _replace_once(old: str, new: str) -> str:
    assert SHIPPED.count(old) == 1, old
    return SHIPPED.replace(old, new)


@dataclass(frozen=True)
class LineCase:
    name: str
    text: str
    want_line: int
    want_path: NodePath
    want_message: str


HOUSING_READS = (
    "    sectors: [housing]\n    roles: [housing-counsellor]\n    resource_types: [CarePlan, Goal, CareTeam, Patient]\n"
)
UNKNOWN_SECTOR = _replace_once(
    HOUSING_READS, HOUSING_READS.replace("sectors: [housing]", "sectors:\n      - housing\n      - housing-first")
)
ALIASED = _replace_once("&reads [read, vread, search, history]", "&reads [read, vread, search, fetch]")
BOOLEAN_KEY = "version: 1\nyes: true\n"
NO_TEXT = _replace_once("      en: Auditors may read the audit trail.\n", "      en:\n")
TOP_DUPLICATE = SHIPPED + "version: 1\n"

LINE_CASES = [
    LineCase(
        "an item in a block list",
        UNKNOWN_SECTOR,
        _line(UNKNOWN_SECTOR, "- housing-first"),
        ("rules", 10, "sectors", 1),
        "unknown codes ['housing-first']",
    ),
    LineCase(
        "an item reached through an alias is reported at the anchor",
        ALIASED,
        _line(ALIASED, "&reads"),
        ("rules", 1, "interactions", 3),
        "directory-read: interactions: unknown codes ['fetch']",
    ),
    LineCase(
        "an empty text is reported at its key",
        NO_TEXT,
        _line(NO_TEXT, "      en:\n", after="rule/auditor-reads-audit-trail"),
        ("rules", LAST - 1, "text", "en"),
        "text.en must be non-empty text",
    ),
    LineCase(
        "a key YAML reads as a boolean is reported at its mapping",
        BOOLEAN_KEY,
        1,
        (True,),
        "the policy: unknown keys ['True']",
    ),
    LineCase(
        "a repeated top-level key is reported at its second occurrence",
        TOP_DUPLICATE,
        TOP_DUPLICATE.count("\n"),
        (),
        "mapping key 'version' is repeated",
    ),
    LineCase("an empty file is reported at line 1", "", 1, (), "the policy: must be a mapping"),
    LineCase("a syntax error is reported at its mark", "version: 1\nrules: [\n  a,\n  b: c: d\n", 4, (), "cannot read"),
]


@pytest.mark.parametrize("case", LINE_CASES, ids=lambda case: case.name)
def test_read_policy_gives_the_line_of_the_fault(case: LineCase, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(case.text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    error = caught.value
    assert (error.line, error.path, error.file) == (case.want_line, case.want_path, path)
    assert case.want_message in error.reason
    assert str(error) == f"{path}: {error.reason}"


def test_an_unreadable_file_has_no_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        read_policy(tmp_path / "absent.yaml")
    assert caught.value.line is None
    assert caught.value.reason.startswith("cannot read the policy")

"""Reading `rules.yaml` into a `Policy`, once, refusing anything malformed.

Any fault raises `PolicyError` naming the place and the fault: not YAML, a duplicate mapping
key, an unknown or missing key (per the TypedDicts of `model`), an unknown sector, role,
label, interaction, resource type or element name, a repeated list item, a rule id that is
not `https://yhteys.fi/fhir/policy/rule/<slug>` or is used twice, a missing or empty fi/sv/en
text, a scope letter that does not fit its interaction, break-the-glass for a write, or grant
fields (write_sectors, elements, labels) on a deny rule or write fields on a read-only rule.
Callers must let `PolicyError` stop start-up: there is no partial policy.

Besides its message, a `PolicyError` says where the fault is as data: `path`, the keys and
indexes from the top of the file to the offending node (the offending key or item; for a
missing key, the mapping that lacks it), and, from `read_policy`, `line`, the line of the
file that node starts on (the deepest prefix of `path` present in the file).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import cast

import yaml

from gateway.access.policy.engine import RolePolicy
from gateway.access.policy.model import (
    RESOURCE_TYPES,
    SYSTEM_LEVEL,
    BreakTheGlass,
    BreakTheGlassEntry,
    Checks,
    ConsentRequired,
    ConsentRequiredEntry,
    Policy,
    PolicyFile,
    Rule,
    RuleEntry,
    RuleText,
    Texts,
)
from gateway.access.seam import Effect, Reason
from gateway.fhir.codes import TEAM_ROLES, Interaction, Sector
from gateway.fhir.labels import LABELS, Label
from gateway.fhir.systems import POLICY_RULE_BASE

__all__ = ["RULES_PATH", "NodePath", "PolicyError", "load_policy", "parse_policy", "read_policy"]

RULES_PATH = Path(__file__).with_name("rules.yaml")
"""The policy shipped with the gateway."""

NodePath = tuple[str | int, ...]
"""Mapping keys and sequence indexes from the top of the policy file down to one node."""

_RULE_ID = re.compile(re.escape(POLICY_RULE_BASE) + r"([a-z0-9]+(?:-[a-z0-9]+)*)")
_ELEMENT = re.compile(r"[a-z][A-Za-z0-9]{0,63}")
_CHECK_NAMES = frozenset(field.name for field in dataclasses.fields(Checks))
_INTERACTIONS = frozenset(i.value for i in Interaction)


class PolicyError(ValueError):
    """The policy file is unusable; the message names the place and the fault.

    `reason` is the message without the file name; `path` leads to the offending node (the
    offending key or item; for a missing key, the mapping that lacks it; () for the whole
    file or where no node is to blame). `read_policy` also fills `file` and `line` (1-based;
    None if the file could not be read at all), and then the message is "FILE: reason".
    """

    def __init__(self, reason: str, *, path: NodePath = (), line: int | None = None, file: Path | None = None) -> None:
        super().__init__(reason if file is None else f"{file}: {reason}")
        self.reason = reason
        self.path = path
        self.line = line
        self.file = file


def load_policy(path: Path = RULES_PATH) -> RolePolicy:
    """The role policy of the file at `path` (default: the shipped rules.yaml)."""
    return RolePolicy(read_policy(path))


def read_policy(path: Path) -> Policy:
    """Read and check the policy file at `path`; raise `PolicyError` on any fault.

    The error carries `file` = `path` and the `line` of the fault: a YAML syntax error's own
    mark, a repeated key's second occurrence, or else the line of the error's `path`.
    """
    root: yaml.Node | None = None
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _refuse_duplicate_keys(root)
        data: object = yaml.safe_load(text)
        return parse_policy(data)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy: {exc}", file=path) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"cannot read the policy: {exc}", line=_mark_line(exc), file=path) from exc
    except PolicyError as exc:
        line = exc.line if exc.line is not None else _line_of(root, exc.path)
        raise PolicyError(exc.reason, path=exc.path, line=line, file=path) from None


def parse_policy(data: object) -> Policy:
    """Check already-parsed policy data and build the `Policy`; errors carry a `path`, no line."""
    top = cast(PolicyFile, _shape("the policy", (), data, PolicyFile.__required_keys__, PolicyFile.__optional_keys__))
    if top["version"] != 1:
        raise PolicyError("version: only version 1 is known", path=("version",))
    ids: set[str] = set()
    checks = _named("checks", top["checks"], _CHECK_NAMES, ids)
    hidden = _named("labels", top["labels"], frozenset(LABELS), ids)
    rules = top["rules"]
    if not isinstance(rules, list) or not rules:
        raise PolicyError("rules: must be a non-empty list", path=("rules",))
    return Policy(
        scope_letters=_scope_letters(top["scope_letters"]),
        checks=Checks(**checks),
        hidden=MappingProxyType({LABELS[code]: reason for code, reason in hidden.items()}),
        consent_required=_consent_required(top["consent_required"], ids),
        break_the_glass=_break_the_glass(top["break_the_glass"], ids),
        rules=tuple(_rule(f"rules[{n}]", ("rules", n), entry, ids) for n, entry in enumerate(rules)),
    )


def _rule(where: str, at: NodePath, raw: object, ids: set[str]) -> Rule:
    entry = cast(RuleEntry, _shape(where, at, raw, RuleEntry.__required_keys__, RuleEntry.__optional_keys__))
    reason = _reason(where, at, entry["id"], entry["text"], ids)
    where = f"rule {reason.rule}"
    effect = entry["effect"]
    if effect not in ("permit", "deny"):
        raise PolicyError(f"{where}: effect must be permit or deny", path=(*at, "effect"))
    grants = [key for key in entry if key in ("write_sectors", "elements", "labels")]
    if effect == "deny" and grants:
        raise PolicyError(
            f"{where}: a deny rule grants nothing (no write_sectors, elements or labels)", path=(*at, grants[0])
        )
    interactions = _codes(f"{where}: interactions", (*at, "interactions"), entry["interactions"], _INTERACTIONS)
    writes = [key for key in entry if key in ("write_sectors", "elements")]
    if writes and not any(Interaction(i).is_write for i in interactions):
        raise PolicyError(f"{where}: write_sectors and elements need a write interaction", path=(*at, writes[0]))
    write_sectors = _codes(
        f"{where}: write_sectors", (*at, "write_sectors"), entry.get("write_sectors", []), _sector_codes() | {"own"}, 0
    )
    elements = entry.get("elements", [])
    any_element = elements == "*"
    if not any_element:
        items = _list(where, (*at, "elements"), elements, 0)
        bad = [n for n, e in enumerate(items) if not (isinstance(e, str) and _ELEMENT.fullmatch(e))]
        if bad:
            raise PolicyError(
                f"{where}: elements must be '*' or a list of top-level element names", path=(*at, "elements", bad[0])
            )
    types = _codes(
        f"{where}: resource_types", (*at, "resource_types"), entry["resource_types"], RESOURCE_TYPES | {SYSTEM_LEVEL}
    )
    roles = entry["roles"]
    return Rule(
        reason=reason,
        effect=Effect.PERMIT if effect == "permit" else Effect.DENY,
        sectors=_sectors(f"{where}: sectors", (*at, "sectors"), entry["sectors"]),
        roles=TEAM_ROLES if roles == "*" else _codes(f"{where}: roles", (*at, "roles"), roles, TEAM_ROLES),
        resource_types=frozenset(None if t == SYSTEM_LEVEL else t for t in types),
        interactions=frozenset(Interaction(i) for i in interactions),
        write_sectors=frozenset(Sector(s) for s in write_sectors - {"own"}),
        own_sector="own" in write_sectors,
        elements=frozenset() if any_element else frozenset(cast(list[str], elements)),
        any_element=any_element,
        labels=_labels(f"{where}: labels", (*at, "labels"), entry.get("labels", []), 0),
    )


def _consent_required(raw: object, ids: set[str]) -> ConsentRequired:
    where, at, shape = "consent_required", ("consent_required",), ConsentRequiredEntry
    entry = cast(ConsentRequiredEntry, _shape(where, at, raw, shape.__required_keys__, shape.__optional_keys__))
    return ConsentRequired(
        reason=_reason(where, at, entry["id"], entry["text"], ids),
        sectors=_sectors(f"{where}: sectors", (*at, "sectors"), entry["sectors"]),
        resource_types=_codes(
            f"{where}: resource_types", (*at, "resource_types"), entry["resource_types"], RESOURCE_TYPES
        ),
    )


def _break_the_glass(raw: object, ids: set[str]) -> BreakTheGlass:
    where, at, shape = "break_the_glass", ("break_the_glass",), BreakTheGlassEntry
    entry = cast(BreakTheGlassEntry, _shape(where, at, raw, shape.__required_keys__, shape.__optional_keys__))
    interactions = _codes(f"{where}: interactions", (*at, "interactions"), entry["interactions"], _INTERACTIONS)
    writes = [n for n, i in enumerate(entry["interactions"]) if not Interaction(i).is_read]
    if writes:
        raise PolicyError(
            f"{where}: interactions must be reads only (read, vread, search, history)",
            path=(*at, "interactions", writes[0]),
        )
    return BreakTheGlass(
        reason=_reason(where, at, entry["id"], entry["text"], ids),
        sectors=_sectors(f"{where}: sectors", (*at, "sectors"), entry["sectors"]),
        interactions=frozenset(Interaction(i) for i in interactions),
        labels=_labels(f"{where}: labels", (*at, "labels"), entry["labels"]),
    )


def _scope_letters(raw: object) -> Mapping[Interaction, str]:
    if not isinstance(raw, dict):
        raise PolicyError("scope_letters: must be a mapping of interaction to letter", path=("scope_letters",))
    letters: dict[Interaction, str] = {}
    for name, letter in raw.items():
        at = ("scope_letters", _key(name))
        if not isinstance(name, str) or name not in _INTERACTIONS:
            raise PolicyError(f"scope_letters: unknown codes {[str(name)]}", path=at)
        interaction = Interaction(name)
        if interaction.is_read:
            fits = letter in ("r", "s")
        elif interaction.is_write:
            fits = letter in ("c", "u", "d")
        else:
            fits = interaction in (Interaction.CAPABILITIES, Interaction.OPERATION) and letter == ""
        if not fits:
            raise PolicyError(f"scope_letters: {letter!r} is not a SMART v2 letter for {name}", path=at)
        letters[interaction] = letter
    return MappingProxyType(letters)


def _named(where: str, raw: object, names: frozenset[str], ids: set[str]) -> dict[str, Reason]:
    entries = _shape(where, (where,), raw, names, ())
    reasons: dict[str, Reason] = {}
    for name in sorted(names):
        at = (where, name)
        entry = cast(RuleText, _shape(f"{where}.{name}", at, entries[name], RuleText.__required_keys__, ()))
        reasons[name] = _reason(f"{where}.{name}", at, entry["id"], entry["text"], ids)
    return reasons


def _reason(where: str, at: NodePath, rule_id: object, text: object, ids: set[str]) -> Reason:
    match = _RULE_ID.fullmatch(rule_id) if isinstance(rule_id, str) else None
    if match is None:
        raise PolicyError(f"{where}: id must be https://yhteys.fi/fhir/policy/rule/<lower-case-slug>", path=(*at, "id"))
    if match.string in ids:
        raise PolicyError(f"{where}: id {match.string} is used twice", path=(*at, "id"))
    ids.add(match.string)
    texts = cast(Texts, _shape(f"{where}: text", (*at, "text"), text, Texts.__required_keys__, ()))
    fi, sv, en = texts["fi"], texts["sv"], texts["en"]
    for language, value in (("fi", fi), ("sv", sv), ("en", en)):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{where}: text.{language} must be non-empty text", path=(*at, "text", language))
    return Reason(match.group(1), match.string, fi.strip(), sv.strip(), en.strip())


def _shape(
    where: str, at: NodePath, raw: object, required: Collection[str], optional: Collection[str]
) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be a mapping", path=at)
    unknown = [key for key in raw if key not in required and key not in optional]
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(str(key) for key in unknown)}", path=(*at, _key(unknown[0])))
    missing = sorted(key for key in required if key not in raw)
    if missing:
        raise PolicyError(f"{where}: missing {missing}", path=at)
    return raw


def _list(where: str, at: NodePath, raw: object, minimum: int = 1) -> list[object]:
    if not isinstance(raw, list) or len(raw) < minimum:
        raise PolicyError(f"{where}: must be a list" + (" with at least one item" if minimum else ""), path=at)
    return raw


def _codes(where: str, at: NodePath, raw: object, known: Collection[str], minimum: int = 1) -> frozenset[str]:
    items = _list(where, at, raw, minimum)
    unknown = [n for n, item in enumerate(items) if not isinstance(item, str) or item not in known]
    if unknown:
        raise PolicyError(f"{where}: unknown codes {sorted(str(items[n]) for n in unknown)}", path=(*at, unknown[0]))
    repeated = [n for n, item in enumerate(items) if item in items[:n]]
    if repeated:
        raise PolicyError(f"{where}: a code is listed twice", path=(*at, repeated[0]))
    return frozenset(cast(list[str], items))


def _sector_codes() -> frozenset[str]:
    return frozenset(sector.value for sector in Sector)


def _sectors(where: str, at: NodePath, raw: object) -> frozenset[Sector]:
    if raw == "*":
        return frozenset(Sector)
    return frozenset(Sector(code) for code in _codes(where, at, raw, _sector_codes()))


def _labels(where: str, at: NodePath, raw: object, minimum: int = 1) -> frozenset[Label]:
    return frozenset(LABELS[code] for code in _codes(where, at, raw, frozenset(LABELS), minimum))


def _key(key: object) -> str | int:
    """A mapping key as a path step (YAML allows keys that are neither text nor numbers)."""
    return key if isinstance(key, str | int) else str(key)


def _refuse_duplicate_keys(node: yaml.Node | None) -> None:
    if isinstance(node, yaml.MappingNode):
        keys = [key for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        values = [key.value for key in keys]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            second = [key for key in keys if key.value == repeated[0]][1]
            raise PolicyError(
                f"line {node.start_mark.line + 1}: mapping key {repeated[0]!r} is repeated",
                line=second.start_mark.line + 1,
            )
        for _, value in node.value:
            _refuse_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)


def _line_of(root: yaml.Node | None, path: NodePath) -> int:
    """The 1-based line of the node at `path` in the composed file, or of its deepest prefix
    present: a key's line if the step is a mapping key, an item's line if it is an index."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = [
                (key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode) and key.value == str(step)
            ]
            if not found:
                break
            key, node = found[0]
            line = key.start_mark.line
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and -len(node.value) <= step < len(node.value)
        ):
            node = node.value[step]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _mark_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line a YAML error points at (its problem, else its context), if it has one."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return mark.line + 1
    return None

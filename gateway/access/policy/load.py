"""Reading `rules.yaml` into a `Policy`, once, refusing anything malformed.

Any fault raises `PolicyError` naming the place and the fault: not YAML, a duplicate mapping
key, an unknown or missing key (per the TypedDicts of `model`), an unknown sector, role,
label, interaction, resource type or element name, a repeated list item, a rule id that is
not `https://yhteys.fi/fhir/policy/rule/<slug>` or is used twice, a missing or empty fi/sv/en
text, a scope letter that does not fit its interaction, break-the-glass for a write, or grant
fields (write_sectors, elements, labels) on a deny rule or write fields on a read-only rule.
Callers must let `PolicyError` stop start-up: there is no partial policy.
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

__all__ = ["RULES_PATH", "PolicyError", "load_policy", "parse_policy", "read_policy"]

RULES_PATH = Path(__file__).with_name("rules.yaml")
"""The policy shipped with the gateway."""

_RULE_ID = re.compile(re.escape(POLICY_RULE_BASE) + r"([a-z0-9]+(?:-[a-z0-9]+)*)")
_ELEMENT = re.compile(r"[a-z][A-Za-z0-9]{0,63}")
_CHECK_NAMES = frozenset(field.name for field in dataclasses.fields(Checks))


class PolicyError(ValueError):
    """The policy file is unusable; the message names the place and the fault."""


def load_policy(path: Path = RULES_PATH) -> RolePolicy:
    """The role policy of the file at `path` (default: the shipped rules.yaml)."""
    return RolePolicy(read_policy(path))


def read_policy(path: Path) -> Policy:
    """Read and check the policy file at `path`; raise `PolicyError` on any fault."""
    try:
        text = path.read_text(encoding="utf-8")
        _refuse_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader))
        data: object = yaml.safe_load(text)
        return parse_policy(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc}") from exc
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None


def parse_policy(data: object) -> Policy:
    """Check already-parsed policy data and build the `Policy`."""
    top = cast(PolicyFile, _shape("the policy", data, PolicyFile.__required_keys__, PolicyFile.__optional_keys__))
    if top["version"] != 1:
        raise PolicyError("version: only version 1 is known")
    ids: set[str] = set()
    checks = _named("checks", top["checks"], _CHECK_NAMES, ids)
    hidden = _named("labels", top["labels"], frozenset(LABELS), ids)
    rules = top["rules"]
    if not isinstance(rules, list) or not rules:
        raise PolicyError("rules: must be a non-empty list")
    return Policy(
        scope_letters=_scope_letters(top["scope_letters"]),
        checks=Checks(**checks),
        hidden=MappingProxyType({LABELS[code]: reason for code, reason in hidden.items()}),
        consent_required=_consent_required(top["consent_required"], ids),
        break_the_glass=_break_the_glass(top["break_the_glass"], ids),
        rules=tuple(_rule(f"rules[{n}]", entry, ids) for n, entry in enumerate(rules)),
    )


def _rule(where: str, raw: object, ids: set[str]) -> Rule:
    entry = cast(RuleEntry, _shape(where, raw, RuleEntry.__required_keys__, RuleEntry.__optional_keys__))
    reason = _reason(where, entry["id"], entry["text"], ids)
    where = f"rule {reason.rule}"
    effect = entry["effect"]
    if effect not in ("permit", "deny"):
        raise PolicyError(f"{where}: effect must be permit or deny")
    if effect == "deny" and {"write_sectors", "elements", "labels"} & set(entry):
        raise PolicyError(f"{where}: a deny rule grants nothing (no write_sectors, elements or labels)")
    interactions = _codes(f"{where}: interactions", entry["interactions"], {i.value for i in Interaction})
    if ({"write_sectors", "elements"} & set(entry)) and not any(Interaction(i).is_write for i in interactions):
        raise PolicyError(f"{where}: write_sectors and elements need a write interaction")
    write_sectors = _codes(f"{where}: write_sectors", entry.get("write_sectors", []), _sector_codes() | {"own"}, 0)
    elements = entry.get("elements", [])
    any_element = elements == "*"
    if not any_element and not all(isinstance(e, str) and _ELEMENT.fullmatch(e) for e in _list(where, elements, 0)):
        raise PolicyError(f"{where}: elements must be '*' or a list of top-level element names")
    types = _codes(f"{where}: resource_types", entry["resource_types"], RESOURCE_TYPES | {SYSTEM_LEVEL})
    return Rule(
        reason=reason,
        effect=Effect.PERMIT if effect == "permit" else Effect.DENY,
        sectors=_sectors(f"{where}: sectors", entry["sectors"]),
        roles=TEAM_ROLES if entry["roles"] == "*" else _codes(f"{where}: roles", entry["roles"], TEAM_ROLES),
        resource_types=frozenset(None if t == SYSTEM_LEVEL else t for t in types),
        interactions=frozenset(Interaction(i) for i in interactions),
        write_sectors=frozenset(Sector(s) for s in write_sectors - {"own"}),
        own_sector="own" in write_sectors,
        elements=frozenset() if any_element else frozenset(cast(list[str], elements)),
        any_element=any_element,
        labels=_labels(f"{where}: labels", entry.get("labels", []), 0),
    )


def _consent_required(raw: object, ids: set[str]) -> ConsentRequired:
    shape = ConsentRequiredEntry
    entry = cast(
        ConsentRequiredEntry, _shape("consent_required", raw, shape.__required_keys__, shape.__optional_keys__)
    )
    return ConsentRequired(
        reason=_reason("consent_required", entry["id"], entry["text"], ids),
        sectors=_sectors("consent_required: sectors", entry["sectors"]),
        resource_types=_codes("consent_required: resource_types", entry["resource_types"], RESOURCE_TYPES),
    )


def _break_the_glass(raw: object, ids: set[str]) -> BreakTheGlass:
    shape = BreakTheGlassEntry
    entry = cast(BreakTheGlassEntry, _shape("break_the_glass", raw, shape.__required_keys__, shape.__optional_keys__))
    interactions = _codes("break_the_glass: interactions", entry["interactions"], {i.value for i in Interaction})
    if not all(Interaction(i).is_read for i in interactions):
        raise PolicyError("break_the_glass: interactions must be reads only (read, vread, search, history)")
    return BreakTheGlass(
        reason=_reason("break_the_glass", entry["id"], entry["text"], ids),
        sectors=_sectors("break_the_glass: sectors", entry["sectors"]),
        interactions=frozenset(Interaction(i) for i in interactions),
        labels=_labels("break_the_glass: labels", entry["labels"]),
    )


def _scope_letters(raw: object) -> Mapping[Interaction, str]:
    if not isinstance(raw, dict):
        raise PolicyError("scope_letters: must be a mapping of interaction to letter")
    letters: dict[Interaction, str] = {}
    for name, letter in raw.items():
        _codes("scope_letters", [name], {i.value for i in Interaction})
        interaction = Interaction(name)
        if interaction.is_read:
            fits = letter in ("r", "s")
        elif interaction.is_write:
            fits = letter in ("c", "u", "d")
        else:
            fits = interaction is Interaction.CAPABILITIES and letter == ""
        if not fits:
            raise PolicyError(f"scope_letters: {letter!r} is not a SMART v2 letter for {name}")
        letters[interaction] = letter
    return MappingProxyType(letters)


def _named(where: str, raw: object, names: frozenset[str], ids: set[str]) -> dict[str, Reason]:
    entries = _shape(where, raw, names, ())
    reasons: dict[str, Reason] = {}
    for name in sorted(names):
        entry = cast(RuleText, _shape(f"{where}.{name}", entries[name], RuleText.__required_keys__, ()))
        reasons[name] = _reason(f"{where}.{name}", entry["id"], entry["text"], ids)
    return reasons


def _reason(where: str, rule_id: object, text: object, ids: set[str]) -> Reason:
    match = _RULE_ID.fullmatch(rule_id) if isinstance(rule_id, str) else None
    if match is None:
        raise PolicyError(f"{where}: id must be https://yhteys.fi/fhir/policy/rule/<lower-case-slug>")
    if match.string in ids:
        raise PolicyError(f"{where}: id {match.string} is used twice")
    ids.add(match.string)
    texts = cast(Texts, _shape(f"{where}: text", text, Texts.__required_keys__, ()))
    fi, sv, en = texts["fi"], texts["sv"], texts["en"]
    for language, value in (("fi", fi), ("sv", sv), ("en", en)):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{where}: text.{language} must be non-empty text")
    return Reason(match.group(1), match.string, fi.strip(), sv.strip(), en.strip())


def _shape(where: str, raw: object, required: Collection[str], optional: Collection[str]) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be a mapping")
    unknown = sorted(str(key) for key in raw if key not in required and key not in optional)
    if unknown:
        raise PolicyError(f"{where}: unknown keys {unknown}")
    missing = sorted(key for key in required if key not in raw)
    if missing:
        raise PolicyError(f"{where}: missing {missing}")
    return raw


def _list(where: str, raw: object, minimum: int = 1) -> list[object]:
    if not isinstance(raw, list) or len(raw) < minimum:
        raise PolicyError(f"{where}: must be a list" + (" with at least one item" if minimum else ""))
    return raw


def _codes(where: str, raw: object, known: Collection[str], minimum: int = 1) -> frozenset[str]:
    items = _list(where, raw, minimum)
    unknown = sorted(str(item) for item in items if not isinstance(item, str) or item not in known)
    if unknown:
        raise PolicyError(f"{where}: unknown codes {unknown}")
    if len(set(items)) != len(items):
        raise PolicyError(f"{where}: a code is listed twice")
    return frozenset(cast(list[str], items))


def _sector_codes() -> frozenset[str]:
    return frozenset(sector.value for sector in Sector)


def _sectors(where: str, raw: object) -> frozenset[Sector]:
    if raw == "*":
        return frozenset(Sector)
    return frozenset(Sector(code) for code in _codes(where, raw, _sector_codes()))


def _labels(where: str, raw: object, minimum: int = 1) -> frozenset[Label]:
    return frozenset(LABELS[code] for code in _codes(where, raw, frozenset(LABELS), minimum))


def _refuse_duplicate_keys(node: yaml.Node | None) -> None:
    if isinstance(node, yaml.MappingNode):
        keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise PolicyError(f"line {node.start_mark.line + 1}: mapping key {repeated[0]!r} is repeated")
        for _, value in node.value:
            _refuse_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)

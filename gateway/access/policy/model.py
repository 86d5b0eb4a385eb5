"""The shapes of the policy: the YAML file as TypedDicts, the loaded policy as frozen dataclasses.

The TypedDicts describe what `rules.yaml` may contain, key for key (the loader refuses any
other key); the dataclasses are what the engine reads, built once by `load_policy`. The
vocabularies here are closed and come from `gateway.fhir`: sectors, team roles (the
auditor's among them), the four labels, and the resource types served.

No `from __future__ import annotations` here: the loader reads the TypedDicts'
`__required_keys__` / `__optional_keys__` at run time, and on Python 3.11 `NotRequired` is
only seen there when annotations are real objects.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal, NotRequired, TypedDict

from gateway.access.seam import Effect, Reason
from gateway.fhir.codes import Interaction, Sector
from gateway.fhir.labels import Label
from gateway.fhir.resources import SERVED_TYPES

__all__ = [
    "RESOURCE_TYPES",
    "SYSTEM_LEVEL",
    "BreakTheGlass",
    "BreakTheGlassEntry",
    "Checks",
    "ConsentRequired",
    "ConsentRequiredEntry",
    "Policy",
    "PolicyFile",
    "Rule",
    "RuleEntry",
    "RuleText",
    "Texts",
]

RESOURCE_TYPES = SERVED_TYPES | {"AuditEvent"}
"""The resource types a rule may name: the FHIR path's and the audit trail's; any other is a typo."""

SYSTEM_LEVEL = "system"
"""Written in `resource_types` for system-level interactions (resource_type None)."""


class Texts(TypedDict):
    """A reason's text in Finnish, Swedish and English; all three required and non-empty."""

    fi: str
    sv: str
    en: str


class RuleText(TypedDict):
    """A rule that only gives a reason: its URI id and texts."""

    id: str
    text: Texts


class RuleEntry(TypedDict):
    """One entry of `rules:`; absent write_sectors, elements and labels mean none."""

    id: str
    effect: Literal["permit", "deny"]
    sectors: list[str] | Literal["*"]
    roles: list[str] | Literal["*"]
    resource_types: list[str]
    interactions: list[str]
    write_sectors: NotRequired[list[str]]
    elements: NotRequired[list[str] | Literal["*"]]
    labels: NotRequired[list[str]]
    text: Texts


class ConsentRequiredEntry(TypedDict):
    """`consent_required:` sectors whose permits on these types hold only with a consent."""

    id: str
    sectors: list[str]
    resource_types: list[str]
    text: Texts


class BreakTheGlassEntry(TypedDict):
    """`break_the_glass:` which sectors may, for which read interactions, see which labels."""

    id: str
    sectors: list[str]
    interactions: list[str]
    labels: list[str]
    text: Texts


class PolicyFile(TypedDict):
    """The whole file. `checks` keys: no_rule, scope, write_sector, write_element,
    write_hidden_label, error; `labels` keys: PSY, ETH, SOC, R."""

    version: Literal[1]
    scope_letters: dict[str, str]
    checks: dict[str, RuleText]
    labels: dict[str, RuleText]
    consent_required: ConsentRequiredEntry
    break_the_glass: BreakTheGlassEntry
    rules: list[RuleEntry]


@dataclass(frozen=True)
class Rule:
    """A loaded rule. `resource_types` holds None for system level; `own_sector` stands for
    "own" in write_sectors; `any_element` for elements "*"."""

    reason: Reason
    effect: Effect
    sectors: frozenset[Sector]
    roles: frozenset[str]
    resource_types: frozenset[str | None]
    interactions: frozenset[Interaction]
    write_sectors: frozenset[Sector]
    own_sector: bool
    elements: frozenset[str]
    any_element: bool
    labels: frozenset[Label]

    def applies_to(self, sector: Sector, team_roles: tuple[str, ...]) -> bool:
        """True if the caller's sector and one of its roles are this rule's."""
        return sector in self.sectors and not self.roles.isdisjoint(team_roles)

    def covers(self, resource_type: str | None, interaction: Interaction) -> bool:
        """True if this rule speaks of `interaction` on `resource_type`."""
        return resource_type in self.resource_types and interaction in self.interactions


@dataclass(frozen=True)
class Checks:
    """The reasons of the engine's built-in checks."""

    no_rule: Reason
    scope: Reason
    write_sector: Reason
    write_element: Reason
    write_hidden_label: Reason
    error: Reason


@dataclass(frozen=True)
class ConsentRequired:
    """Permits for these sectors on these types require a consent decider's permit."""

    reason: Reason
    sectors: frozenset[Sector]
    resource_types: frozenset[str]


@dataclass(frozen=True)
class BreakTheGlass:
    """Purpose BTG (with a reason) shows `labels` to these sectors, for these reads."""

    reason: Reason
    sectors: frozenset[Sector]
    interactions: frozenset[Interaction]
    labels: frozenset[Label]


@dataclass(frozen=True)
class Policy:
    """The whole loaded policy. `scope_letters` lacks interactions no scope can cover."""

    scope_letters: Mapping[Interaction, str]
    checks: Checks
    hidden: Mapping[Label, Reason]
    consent_required: ConsentRequired
    break_the_glass: BreakTheGlass
    rules: tuple[Rule, ...]

    def reasons(self) -> tuple[Reason, ...]:
        """Every reason this policy can give, each once: the checks', the hidden labels', the
        consent requirement's, break-the-glass's and every rule's (rule ids are unique)."""
        checks = tuple(getattr(self.checks, check.name) for check in fields(self.checks))
        return (
            *checks,
            *self.hidden.values(),
            self.consent_required.reason,
            self.break_the_glass.reason,
            *(rule.reason for rule in self.rules),
        )

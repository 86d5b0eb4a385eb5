"""The shapes of the policy: the YAML file as TypedDicts, the loaded policy as frozen dataclasses.

The TypedDicts describe what `rules.yaml` may contain, key for key (the loader refuses any
other key); the dataclasses are what the engine reads, built once by `load_policy`. The
vocabularies here are closed: codes of CodeSystem/sector (`auth.registry.Sector`), of
CodeSystem/team-role plus the policy-only role `auditor`, the four labels, and the resource
types the gateway serves.

No `from __future__ import annotations` here: the loader reads the TypedDicts'
`__required_keys__` / `__optional_keys__` at run time, and on Python 3.11 `NotRequired` is
only seen there when annotations are real objects.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from auth.registry import Sector
from gateway.access import ETH, PSY, SOC, Effect, Interaction, Label, R, Reason

__all__ = [
    "AUDITOR",
    "LABELS",
    "RESOURCE_TYPES",
    "ROLES",
    "SYSTEM_LEVEL",
    "TEAM_ROLES",
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

TEAM_ROLES = frozenset(
    {
        "personal-worker", "school-curator", "school-psychologist", "aftercare-social-worker",
        "child-protection-social-worker", "adult-social-worker", "psychiatric-nurse",
        "consulting-psychiatrist", "youth-worker", "housing-counsellor", "rehabilitation-counsellor",
        "family-centre-worker", "third-sector-worker", "nurse", "doctor", "client", "guardian", "auditor",
    }
)  # fmt: skip
"""The codes of https://yhteys.fi/fhir/CodeSystem/team-role (a test keeps them in step)."""

AUDITOR = "auditor"
"""Reviews the audit trail, has no clinical access, and is never a member of a client's team."""

ROLES = TEAM_ROLES

LABELS: Mapping[str, Label] = {"PSY": PSY, "ETH": ETH, "SOC": SOC, "R": R}
"""Label codes as written in the policy file."""

RESOURCE_TYPES = frozenset(
    {
        "AuditEvent", "CarePlan", "CareTeam", "Condition", "Consent", "Goal", "Organization",
        "Patient", "Practitioner", "PractitionerRole",
    }
)  # fmt: skip
"""The resource types the gateway serves; a rule naming any other is a typo."""

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

"""The role policy: `rules.yaml` (policy as data), its shapes, its loader and its engine.

- `model`: the file's TypedDicts and the loaded frozen dataclasses;
- `load`: `load_policy()` reads the shipped rules.yaml once into a `RolePolicy`, or raises
  `PolicyError` (callers must let it stop start-up);
- `engine`: `RolePolicy.check(request) -> AccessDecision`, pure and fail-closed.

The role decision is one of the deciders behind `gateway.access.seam.AccessChecker`; the consent
decider is another, combined with it by `gateway.access.seam.combine`.
"""

from __future__ import annotations

from gateway.access.policy.engine import RolePolicy
from gateway.access.policy.load import RULES_PATH, PolicyError, load_policy, parse_policy, read_policy
from gateway.access.policy.model import Policy

__all__ = ["RULES_PATH", "Policy", "PolicyError", "RolePolicy", "load_policy", "parse_policy", "read_policy"]

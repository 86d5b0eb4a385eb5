"""The role policy as a decider: a pure function of the loaded `Policy` and an `AccessRequest`.

`RolePolicy.check` fails closed. It collects every reason to deny, and denies if there is any:
- a deny rule matching the caller's sector, one of its roles, the resource type and
  interaction (deny overrides every permit);
- no permit rule matching them (there is no default permit);
- scopes that do not cover the interaction: the interaction's SMART v2 letter must be in a
  `user/` or `system/` scope without parameters for the resource type or `*` (`patient/`
  scopes need a launch context we do not have; parameterised scopes narrow in ways the
  engine cannot check, so neither counts);
- for writes: an activity whose owner is not writable by the permitting rules (an unknown
  owner never is), a changed element no permitting rule allows, or a touched label the
  caller may not see (break-the-glass never applies to writes).
Otherwise it permits, citing the permitting rules, hiding the labels the caller may not see
(its rules' labels, plus break-the-glass labels for a BTG read), and requiring a consent for
sectors listed in `consent_required`. It never returns NOT_APPLICABLE; an exception inside
becomes a DENY citing the `error` check.

A caller sees the labels of every permit rule that applies to its sector and roles, whatever
the interaction: visibility belongs to the person, not to the request. Reasons for hidden
labels are given only for labels in `request.labels` (the ones this request involves).
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.scopes import ScopeContext
from gateway.access.policy.model import Policy, Rule
from gateway.access.seam import AccessDecision, AccessRequest, Basis, Effect, Reason
from gateway.fhir.codes import PurposeOfUse, Sector
from gateway.fhir.labels import Label

__all__ = ["RolePolicy"]

_SCOPE_CONTEXTS = (ScopeContext.USER, ScopeContext.SYSTEM)


@dataclass(frozen=True)
class RolePolicy:
    """The `AccessChecker` of roles and sectors; build with `gateway.access.policy.load_policy`."""

    policy: Policy

    def check(self, request: AccessRequest) -> AccessDecision:
        """The role decision for `request`: PERMIT or DENY, never raising."""
        try:
            return self._decide(request)
        except Exception:
            return AccessDecision.deny(self.policy.checks.error)

    def _decide(self, request: AccessRequest) -> AccessDecision:
        policy = self.policy
        callers = [rule for rule in policy.rules if rule.applies_to(request.sector, request.team_roles)]
        matching = [rule for rule in callers if rule.covers(request.resource_type, request.interaction)]
        permits = [rule for rule in matching if rule.effect is Effect.PERMIT]
        denials = [rule.reason for rule in matching if rule.effect is Effect.DENY]
        if not permits and not denials:
            denials.append(policy.checks.no_rule)
        if not self._scopes_cover(request):
            denials.append(policy.checks.scope)
        btg = self._breaks_the_glass(request)
        visible = frozenset().union(*(rule.labels for rule in callers if rule.effect is Effect.PERMIT))
        if btg:
            visible |= policy.break_the_glass.labels
        hidden = frozenset(policy.hidden) - visible
        involved = self._hidden_reasons(request.labels & hidden)
        if request.interaction.is_write and permits:
            denials.extend(self._write_denials(request, permits, involved))
        if denials:
            return AccessDecision.deny(*denials)
        reasons = [rule.reason for rule in permits]
        if btg:
            reasons.append(policy.break_the_glass.reason)
        consent = policy.consent_required
        requires = frozenset[Basis]()
        if request.sector in consent.sectors and request.resource_type in consent.resource_types:
            requires = frozenset({Basis.CONSENT})
            reasons.append(consent.reason)
        return AccessDecision.permit(Basis.ROLE, *reasons, *involved, hidden=hidden, requires=requires)

    def _write_denials(self, request: AccessRequest, permits: list[Rule], involved: list[Reason]) -> list[Reason]:
        checks = self.policy.checks
        writable = frozenset[Sector]().union(*(rule.write_sectors for rule in permits))
        if any(rule.own_sector for rule in permits):
            writable |= {request.sector}
        denials: list[Reason] = []
        if not all(isinstance(owner, Sector) and owner in writable for owner in request.owning_sectors):
            denials.append(checks.write_sector)
        elements = frozenset[str]().union(*(rule.elements for rule in permits))
        if not any(rule.any_element for rule in permits) and not request.changed_elements <= elements:
            denials.append(checks.write_element)
        if involved:
            denials.extend([checks.write_hidden_label, *involved])
        return denials

    def _scopes_cover(self, request: AccessRequest) -> bool:
        letter = self.policy.scope_letters.get(request.interaction)
        if letter is None:
            return False
        if not letter:
            return True
        return request.resource_type is not None and any(
            scope.context in _SCOPE_CONTEXTS
            and not scope.params
            and scope.resource_type in (request.resource_type, "*")
            and letter in scope.permissions
            for scope in request.scopes
        )

    def _breaks_the_glass(self, request: AccessRequest) -> bool:
        btg = self.policy.break_the_glass
        return (
            request.purpose_of_use is PurposeOfUse.BTG
            and bool(request.btg_reason)
            and request.interaction in btg.interactions
            and request.sector in btg.sectors
        )

    def _hidden_reasons(self, labels: frozenset[Label]) -> list[Reason]:
        return [reason for label, reason in self.policy.hidden.items() if label in labels]

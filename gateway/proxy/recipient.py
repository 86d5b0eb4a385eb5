"""What a document's recipient may see of a client's record: the same deciders as any request, for the recipient; pure.

A plan document (issue 11) holds exactly what its recipient organisation may see, whoever
issues it. `recipient_principals(policy, organization, oid, sector, purpose)` stands for the
recipient: one principal per role that the role policy lets the recipient's sector read the
plan in (e.g. youth-worker for municipal youth services); none if the sector may not read the
plan at all. `recipient_view(pool, principals, policies, facts)` decides every resource of
`pool` (`Type/id` → resource as stored) for every one of them, with the client's consents in
`facts`: a resource is kept only if all of them may read it, redacted of every label any of
them may not see (fail closed: the narrowest reader decides). A reference that then names
nothing kept is replaced by a Reference with only `left_out` as its display (the element stays,
so a required one is still there, and the document names nothing it does not hold); labelled
parts were removed whole by redaction before, so what they were is not hinted at. `dangling`
lists where references were replaced, and `reasons` every reason of the recipient's decisions,
for the audit record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auth.principal import Principal
from auth.scopes import parse_scope
from gateway.access.decider import ClientFacts, Decider, Policies
from gateway.access.policy import RolePolicy
from gateway.access.seam import Effect, Reason, Withheld
from gateway.documents.structure import relative_reference
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.fhir.labels import Label
from gateway.proxy.redaction import redact

__all__ = ["RecipientView", "recipient_principals", "recipient_view"]

_READ_SCOPE = parse_scope("system/*.rs")


@dataclass(frozen=True)
class RecipientView:
    """The resources the recipient may see (redacted), and the references removed from them."""

    resources: dict[str, dict[str, Any]]
    dangling: tuple[str, ...]
    reasons: tuple[Reason, ...] = ()

    def lacks(self, plan: str, client: str) -> str | None:
        """What a document of `plan` about `client` needs and the recipient may not see: "plan",
        "client" (her Patient record: a document must name whom it is about), or None."""
        if plan not in self.resources:
            return "plan"
        return "client" if client not in self.resources else None


def recipient_principals(
    policy: RolePolicy, organization: str, oid: str, sector: Sector, purpose: PurposeOfUse
) -> tuple[Principal, ...]:
    """The recipient as principals, one per role its sector reads the plan in; see the module doc."""
    if purpose is PurposeOfUse.BTG:
        return ()
    roles = sorted(
        {
            role
            for rule in policy.policy.rules
            if rule.effect is Effect.PERMIT
            and sector in rule.sectors
            and "CarePlan" in rule.resource_types
            and Interaction.READ in rule.interactions
            for role in rule.roles
            if role != "*"
        }
    )
    return tuple(
        Principal(
            client_id=f"document-recipient:{organization}",
            organization=organization,
            organization_oid=oid,
            sector=sector,
            practitioner_role="",
            team_roles=(role,),
            scopes=(_READ_SCOPE,),
            purpose_of_use=purpose,
            btg_reason="",
            jti="",
            expires_at=0,
            issued_at=0,
        )
        for role in roles
    )


def recipient_view(
    pool: Mapping[str, Mapping[str, Any]],
    principals: Sequence[Principal],
    policies: Policies,
    facts: Mapping[str, ClientFacts],
    left_out: str = "not included in this document",
) -> RecipientView:
    """`pool` as every one of `principals` may see it; see the module doc."""
    if not principals:
        return RecipientView({}, ())
    deciders = [Decider(principal, policies, facts, Interaction.READ) for principal in principals]
    kept: dict[str, dict[str, Any]] = {}
    for reference, resource in pool.items():
        hidden: set[Label] = set()
        for decider in deciders:
            seen = decider.hidden_for(resource)
            if isinstance(seen, Withheld):
                break
            hidden |= seen
        else:
            shown = redact(resource, frozenset(hidden))
            if not isinstance(shown, Withheld):
                kept[reference] = shown
    dangling: list[str] = []
    for reference, resource in kept.items():
        kept[reference] = _without_references(resource, kept, reference, dangling, {"display": left_out})
    reasons = dict.fromkeys(reason for decider in deciders for reason in decider.reasons())
    return RecipientView(kept, tuple(dangling), tuple(reasons))


def _without_references(
    value: Any, kept: Mapping[str, Any], where: str, dangling: list[str], stand_in: Mapping[str, str]
) -> Any:
    """`value` with every Reference to a resource not in `kept` replaced by `stand_in`."""
    if _dangles(value, kept):
        dangling.append(f"{where}: {value['reference']}")
        return dict(stand_in)
    if isinstance(value, list):
        return [_without_references(item, kept, where, dangling, stand_in) for item in value]
    if isinstance(value, Mapping):
        return {key: _without_references(item, kept, where, dangling, stand_in) for key, item in value.items()}
    return value


def _dangles(value: Any, kept: Mapping[str, Any]) -> bool:
    """Whether `value` is a Reference (`Type/id`, relative) to something not kept."""
    if not isinstance(value, Mapping) or not isinstance(value.get("reference"), str):
        return False
    reference = str(value["reference"])
    return not reference.startswith(("#", "urn:")) and relative_reference(reference) not in kept

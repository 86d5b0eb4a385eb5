"""The closed code lists the gateway decides by: sectors, purposes of use, interactions, roles.

Each enumeration or set mirrors one CodeSystem (a test keeps ours in step with terminology/):
`Sector` is https://yhteys.fi/fhir/CodeSystem/sector, `TEAM_ROLES` the codes of
https://yhteys.fi/fhir/CodeSystem/team-role, `PurposeOfUse` the v3-ActReason codes Yhteys
accepts, `Interaction` FHIR R4's restful-interaction codes as the gateway uses them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AUDITOR", "CLIENT", "GUARDIAN", "PERSONAL_WORKER", "TEAM_ROLES", "Interaction", "PurposeOfUse", "Sector"]


class Sector(StrEnum):
    """Codes of https://yhteys.fi/fhir/CodeSystem/sector: who provides a service."""

    MUNICIPAL_YOUTH_SERVICES = "municipal-youth-services"
    SCHOOL_WELFARE = "school-welfare"
    SOCIAL_WELFARE = "social-welfare"
    CHILD_PROTECTION = "child-protection"
    HOSPITAL_PSYCHIATRY = "hospital-psychiatry"
    PRIMARY_HEALTH_CARE = "primary-health-care"
    HOUSING = "housing"
    THIRD_SECTOR = "third-sector"


class PurposeOfUse(StrEnum):
    """The purposes of use Yhteys accepts (http://terminology.hl7.org/CodeSystem/v3-ActReason)."""

    TREAT = "TREAT"
    CAREMGT = "CAREMGT"
    BTG = "BTG"


class Interaction(StrEnum):
    """FHIR R4 restful interactions (http://hl7.org/fhir/restful-interaction), coarse-grained."""

    READ = "read"
    VREAD = "vread"
    SEARCH = "search"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    HISTORY = "history"
    CAPABILITIES = "capabilities"
    OPERATION = "operation"
    BATCH = "batch"
    TRANSACTION = "transaction"

    @property
    def is_read(self) -> bool:
        """True for read, vread, search and history: interactions that only disclose."""
        return self in (Interaction.READ, Interaction.VREAD, Interaction.SEARCH, Interaction.HISTORY)

    @property
    def is_write(self) -> bool:
        """True for create, update, patch and delete."""
        return self in (Interaction.CREATE, Interaction.UPDATE, Interaction.PATCH, Interaction.DELETE)


PERSONAL_WORKER = "personal-worker"
"""The team role of the client's personal worker (omatyöntekijä). It is a relation to one
client, held by the one open personal-worker participant of the client's active team; it is
never taken from a token."""
GUARDIAN = "guardian"
"""The team role a minor's RestrictionParent 3 or 4 shuts out."""
CLIENT = "client"
"""The team role of the client themself (the young person), when they act on their own data."""
AUDITOR = "auditor"
"""Reviews the audit trail, has no clinical access, and is never a member of a client's team."""

TEAM_ROLES = frozenset(
    {
        PERSONAL_WORKER, "school-curator", "school-psychologist", "aftercare-social-worker",
        "child-protection-social-worker", "adult-social-worker", "psychiatric-nurse",
        "consulting-psychiatrist", "youth-worker", "housing-counsellor", "rehabilitation-counsellor",
        "family-centre-worker", "third-sector-worker", "nurse", "doctor", CLIENT, GUARDIAN, AUDITOR,
    }
)  # fmt: skip
"""The codes of https://yhteys.fi/fhir/CodeSystem/team-role."""

"""Canonical URLs: the systems, extensions and identifiers Yhteys defines, and those it reads.

Ours live under `CANONICAL_BASE` (the FHIR package `fi.yhteys.fhir` carries the CodeSystems
and StructureDefinitions; a test keeps the two in step). HL7's, IHE's and HL7 Finland's
appear here only where the project itself reads or writes them.
"""

from __future__ import annotations

__all__ = [
    "ACCESS_REASON_SYSTEM", "ACT_CODE_SYSTEM", "AUDIT_EVENT_TYPE_SYSTEM", "COMPOSITION_VERSION",
    "DOCUMENT_PURPOSE", "DOCUMENT_RECIPIENT", "DOCUMENT_REFERENCE_PROFILE", "DOCUMENT_VERSION", "LOINC_SYSTEM", "URI_SYSTEM", "ACT_REASON_SYSTEM", "BTG_REASON_CLAIM", "CANONICAL_BASE",
    "CLIENT_ID_SYSTEM", "JWT_BEARER", "PRACTITIONER_ROLE_CLAIM", "PURPOSE_OF_USE_CLAIM",
    "CONFIDENTIALITY_SYSTEM", "CONSENT_RULE_BASE", "CONSENT_SCOPE_SYSTEM", "DISCLOSURE_DIRECTION_SYSTEM",
    "FI_SECURITY_LABEL_SYSTEM", "FIRST_APPOINTMENT_WAIT", "HETU_SYSTEM", "OWNING_SECTOR", "PARTICIPATION_TYPE_SYSTEM", "PLAN_SECURITY_LABEL",
    "POLICY_RULE_BASE", "REQUEST_ID_SYSTEM", "RESOURCE_TYPES_SYSTEM", "RESTFUL_INTERACTION_SYSTEM",
    "RESTRICTION_PARENT", "RESTRICTION_PARENT_SYSTEM", "SECTOR_SYSTEM", "SENSITIVITY_SYSTEM", "SOTE_ORGANIZATION_SYSTEM",
    "SUPPORT_MEASURE_SYSTEM",
    "TEAM_ROLE_SYSTEM", "TERMINOLOGY_BASE", "TRANSLATION", "VALVIRA_SYSTEM",
]  # fmt: skip

CANONICAL_BASE = "https://yhteys.fi/fhir"
"""The base of every canonical URL of ours (`<base>/<resourceType>/<id>`)."""

# -- our code systems ------------------------------------------------------------------------
SECTOR_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/sector"
"""Who provides a service: the sectors of `codes.Sector`."""
TEAM_ROLE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/team-role"
"""A professional's role in the client's team (and the auditor's role): `codes.TEAM_ROLES`."""
SENSITIVITY_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/sensitivity"
"""Our sensitivity codes: SOC, whose v3-ActCode twin R4 lacks (see `labels`)."""
DISCLOSURE_DIRECTION_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/disclosure-direction"
"""Consent.category codes naming a disclosure between the social welfare and health registers."""
ACCESS_REASON_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/access-reason"
"""The codes of access-decision reasons in OperationOutcome.issue.details."""
AUDIT_EVENT_TYPE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/audit-event-type"
"""Our AuditEvent types: `social-welfare-disclosure`, the notice of a disclosure of social welfare information."""

# -- our extensions --------------------------------------------------------------------------
PLAN_SECURITY_LABEL = f"{CANONICAL_BASE}/StructureDefinition/plan-security-label"
"""A sensitivity label on one plan part: a CarePlan activity, goal or addresses reference."""
OWNING_SECTOR = f"{CANONICAL_BASE}/StructureDefinition/activity-owning-sector"
"""The sector that owns (and alone may change) a plan activity, a team member, a goal or a problem."""
FIRST_APPOINTMENT_WAIT = f"{CANONICAL_BASE}/StructureDefinition/first-appointment-wait"
"""Extension (valueUnsignedInt) on a plan activity: working days to the first appointment."""
DOCUMENT_RECIPIENT = f"{CANONICAL_BASE}/StructureDefinition/document-recipient"
"""Extension (Reference(Organization)) on a plan document's DocumentReference: whom it was issued for."""
DOCUMENT_PURPOSE = f"{CANONICAL_BASE}/StructureDefinition/document-purpose"
"""Extension (Coding, v3-ActReason) on a plan document's DocumentReference: the purpose of use it was issued for."""
DOCUMENT_VERSION = f"{CANONICAL_BASE}/StructureDefinition/document-version"
"""Extension (positiveInt) on a plan document's DocumentReference: its version in its series."""
DOCUMENT_REFERENCE_PROFILE = f"{CANONICAL_BASE}/StructureDefinition/PlanDocumentReference"
"""The profile of a plan document's DocumentReference."""
SUPPORT_MEASURE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/support-measure"
"""Support measures agreed in school welfare, the code of a plan activity."""

# -- our identifier systems and rule bases ---------------------------------------------------
CLIENT_ID_SYSTEM = f"{CANONICAL_BASE}/sid/client-id"
"""OAuth client ids of connected systems."""
REQUEST_ID_SYSTEM = f"{CANONICAL_BASE}/sid/request-id"
"""X-Request-Id values."""
POLICY_RULE_BASE = f"{CANONICAL_BASE}/policy/rule/"
"""Role-policy rule ids: `<base><slug>`, cited in reasons and AuditEvent.agent.policy."""
CONSENT_RULE_BASE = f"{CANONICAL_BASE}/policy/consent/"
PRACTITIONER_ROLE_CLAIM = f"{CANONICAL_BASE}/claims/practitioner_role"
"""Claim of a client assertion: the professional the system acts for, "PractitionerRole/<id>"."""
PURPOSE_OF_USE_CLAIM = f"{CANONICAL_BASE}/claims/purpose_of_use"
"""Claim of a client assertion: the v3-ActReason purpose (TREAT when absent, CAREMGT, BTG)."""
BTG_REASON_CLAIM = f"{CANONICAL_BASE}/claims/btg_reason"
"""Claim of a client assertion: why the glass is broken (with BTG only)."""
"""Consent reasons: `<base><code>`, or `<base>Consent/<id>` for one about a consent."""

# -- HL7 -------------------------------------------------------------------------------------
TERMINOLOGY_BASE = "http://terminology.hl7.org/CodeSystem"
ACT_CODE_SYSTEM = f"{TERMINOLOGY_BASE}/v3-ActCode"
CONFIDENTIALITY_SYSTEM = f"{TERMINOLOGY_BASE}/v3-Confidentiality"
ACT_REASON_SYSTEM = f"{TERMINOLOGY_BASE}/v3-ActReason"
"""Purposes of use (TREAT, CAREMGT, BTG)."""
PARTICIPATION_TYPE_SYSTEM = f"{TERMINOLOGY_BASE}/v3-ParticipationType"
CONSENT_SCOPE_SYSTEM = f"{TERMINOLOGY_BASE}/consentscope"
RESOURCE_TYPES_SYSTEM = "http://hl7.org/fhir/resource-types"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""RFC 7523: the client_assertion_type of a signed JWT client assertion (private_key_jwt)."""
RESTFUL_INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
COMPOSITION_VERSION = "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber"
"""R4 core extension (valueString) on a Composition: the version of the document."""
URI_SYSTEM = "urn:ietf:rfc:3986"
"""Identifier system of identifiers that are URIs (a document's urn:uuid)."""
LOINC_SYSTEM = "http://loinc.org"
"""LOINC: the document type of a plan document (18776-5, plan of care note)."""
"""The core extension carrying a translated string (lang + content)."""

# -- HL7 Finland and Finnish registers ------------------------------------------------------
FI_SECURITY_LABEL_SYSTEM = "https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs"
"""HL7 Finland's security labels (TURVAKIELTO: a protection order)."""
RESTRICTION_PARENT = "https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/RestrictionParent"
"""HL7 Finland's extension (valueCoding) for a minor's decision on disclosure to guardians."""
RESTRICTION_PARENT_SYSTEM = "urn:oid:1.2.246.537.5.40202.201901"
"""THL: release of a minor's patient information to guardians (codes 1–4)."""
HETU_SYSTEM = "urn:oid:1.2.246.21"
"""The Finnish personal identity code (henkilötunnus)."""
VALVIRA_SYSTEM = "urn:oid:1.2.246.537.26"
"""Valvira's register numbers of health care professionals (Terhikki/Suosikki)."""
SOTE_ORGANIZATION_SYSTEM = "urn:oid:1.2.246.537.6.202"
"""The SOTE organisation register."""

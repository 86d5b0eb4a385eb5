"""Who logged in: the identity provider's claims mapped to a professional or a citizen.

`person_of(claims, mapping)` reads the checked ID token's claims through a `ClaimsMapping`
(which claim carries what; the defaults match the realm the project ships):

- a **professional** has a `practitioner_role` claim "PractitionerRole/<id>" (their role in the
  county's directory) and may have the provider's role `auditor_role` in the `roles` claim;
- a **citizen** (a client, or a guardian) has a `hetu` claim: a valid henkilötunnus.

A token with neither, with both, or with a malformed value is refused (`LoginFailed`): who is
unclear is nobody. `name` is the display name (`name`, else given and family names).

`professional_principal(person, ...)` is the `Principal` a logged-in professional acts as on
the gateway's pages: the PractitionerRole must be in the directory and active; its
organisation's OID and sector come from the store's Organization; the team roles are the
directory's, except `auditor`, which needs the provider's auditor role as well (both must say
so). An auditor's grant is `user/AuditEvent.rs`; other professionals get no scopes on the
pages. The system recorded is the gateway's own client id at the provider.

`citizen_principals(person, ...)` is whom a logged-in citizen may act for (`ActingFor`: the
`CitizenPrincipal` and the client's name), themself first: as a client, when one active Patient
has their henkilötunnus (identifier system urn:oid:1.2.246.21; several are `LoginFailed`: the
store cannot say who they are); and as a guardian, for each Patient an active RelatedPerson
with their henkilötunnus and relationship v3-RoleCode GUARD names, who is a minor (under 18 by
birthDate on the day of login; the session lasts hours at most), in RelatedPerson id order.
None of them: nothing here is theirs to see. Whether the minor's consents let the guardian in is decided on each request
(`gateway.access.consent.decider.guardian_refusals`), never at login.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from auth.principal import CitizenPrincipal, Principal
from auth.professionals import DirectoryUnavailable, ProfessionalDirectory, UnknownProfessional
from auth.scopes import parse_scope
from gateway.fhir.codes import AUDITOR, CLIENT, GUARDIAN, PurposeOfUse, Sector
from gateway.fhir.hetu import HetuError, parse_hetu
from gateway.fhir.ids import PATIENT_REFERENCE, PRACTITIONER_ROLE_REFERENCE
from gateway.fhir.reading import reference_of
from gateway.fhir.systems import HETU_SYSTEM, SECTOR_SYSTEM, SOTE_ORGANIZATION_SYSTEM
from gateway.login.oidc import LoginFailed, ProviderUnavailable

__all__ = [
    "ActingFor", "Citizen", "ClaimsMapping", "Person", "Professional", "SessionGrant", "citizen_principals", "person_of",
    "professional_principal",
]  # fmt: skip

_AUDIT_SCOPE = parse_scope("user/AuditEvent.rs")
GUARDIAN_RELATION = "http://terminology.hl7.org/CodeSystem/v3-RoleCode|GUARD"
"""RelatedPerson.relationship of a guardian (huoltaja)."""


@dataclass(frozen=True)
class ClaimsMapping:
    """Which ID token claim carries what."""

    practitioner_role: str = "practitioner_role"
    roles: str = "roles"
    auditor_role: str = "auditor"
    hetu: str = "hetu"


@dataclass(frozen=True)
class Professional:
    """A professional, as the provider says: their PractitionerRole and the provider's roles."""

    subject: str
    name: str
    practitioner_role: str
    provider_roles: tuple[str, ...]


@dataclass(frozen=True)
class Citizen:
    """A citizen (a client or a guardian) by henkilötunnus."""

    subject: str
    name: str
    hetu: str


Person = Professional | Citizen


def person_of(claims: Mapping[str, Any], mapping: ClaimsMapping) -> Person:
    """The person the claims name; see the module doc."""
    role, hetu = claims.get(mapping.practitioner_role), claims.get(mapping.hetu)
    subject, name = str(claims.get("sub", "")), _name(claims)
    if role is not None and hetu is not None:
        raise LoginFailed("the identity provider names both a professional role and a henkilötunnus")
    if isinstance(role, str) and PRACTITIONER_ROLE_REFERENCE.fullmatch(role):
        roles = claims.get(mapping.roles, [])
        provider_roles = tuple(str(r) for r in roles) if isinstance(roles, list) else ()
        return Professional(subject, name, role, provider_roles)
    if role is not None:
        raise LoginFailed("the professional role the identity provider names is not a PractitionerRole")
    if isinstance(hetu, str):
        try:
            return Citizen(subject, name, parse_hetu(hetu).code)
        except HetuError:
            raise LoginFailed("the henkilötunnus the identity provider names is not valid") from None
    raise LoginFailed("the identity provider names neither a professional role nor a henkilötunnus")


async def professional_principal(
    person: Professional,
    mapping: ClaimsMapping,
    *,
    directory: ProfessionalDirectory,
    store: httpx.AsyncClient,
    store_base: str,
    grant: SessionGrant,
) -> Principal:
    """The principal `person` acts as on the pages; `LoginFailed` if the directory refuses them."""
    try:
        found = await directory.lookup(person.practitioner_role)
    except DirectoryUnavailable as exc:
        raise ProviderUnavailable(f"the directory of professionals cannot answer ({exc})") from None
    if isinstance(found, UnknownProfessional) or not found.active or not found.organization:
        raise LoginFailed("the professional role is not known as active in the directory")
    oid, sector = await _organization(store, store_base, found.organization)
    roles = tuple(r for r in found.team_roles if r != AUDITOR or mapping.auditor_role in person.provider_roles)
    return Principal(
        client_id=grant.client_id,
        organization=found.organization,
        organization_oid=oid,
        sector=sector,
        practitioner_role=person.practitioner_role,
        team_roles=roles,
        scopes=(_AUDIT_SCOPE,) if AUDITOR in roles else (),
        purpose_of_use=PurposeOfUse.TREAT,
        btg_reason="",
        jti=grant.jti,
        expires_at=grant.expires_at,
        issued_at=grant.issued_at,
    )


async def _organization(store: httpx.AsyncClient, base: str, reference: str) -> tuple[str, Sector]:
    """The SOTE OID and the (first) sector of the Organization at `reference`."""
    resource = await _get(store, f"{base.rstrip('/')}/{reference}", {}, missing="the professional's organisation")
    oid = next(
        (
            str(i.get("value"))
            for i in resource.get("identifier", [])
            if isinstance(i, dict) and i.get("system") == SOTE_ORGANIZATION_SYSTEM and i.get("value")
        ),
        "",
    )
    sectors = [
        coding.get("code")
        for concept in resource.get("type", [])
        if isinstance(concept, dict)
        for coding in concept.get("coding", [])
        if isinstance(coding, dict) and coding.get("system") == SECTOR_SYSTEM
    ]
    sector = next((Sector(code) for code in sectors if code in tuple(Sector)), None)
    if not oid or sector is None:
        raise LoginFailed("the professional's organisation has no SOTE OID or sector in the directory")
    return oid, sector


def _name(claims: Mapping[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    parts = [claims.get("given_name"), claims.get("family_name")]
    return " ".join(str(p) for p in parts if isinstance(p, str) and p.strip())[:200]


@dataclass(frozen=True)
class SessionGrant:
    """What every principal of one login shares: the system (the gateway's client id at the
    provider), the session's serial (its jti is `session-<serial>`), and when it began and ends."""

    client_id: str
    serial: str
    issued_at: int
    expires_at: int

    @property
    def jti(self) -> str:
        return f"session-{self.serial}"


@dataclass(frozen=True)
class ActingFor:
    """Someone a citizen may act for: the principal they act as, and that client's name."""

    principal: CitizenPrincipal
    name: str


async def citizen_principals(
    person: Citizen,
    *,
    store: httpx.AsyncClient,
    store_base: str,
    grant: SessionGrant,
    today: date,
) -> tuple[ActingFor, ...]:
    """Whom a citizen may act for, themself first; see the module doc."""
    base = store_base.rstrip("/")
    hetu = f"{HETU_SYSTEM}|{person.hetu}"
    client_id, session, issued_at, expires_at = grant.client_id, grant.jti, grant.issued_at, grant.expires_at
    found: list[ActingFor] = []
    clients = await _ids(store, f"{base}/Patient", {"identifier": hetu, "active": "true"})
    if len(clients) > 1:
        raise LoginFailed("more than one client record has this henkilötunnus")
    for client in clients:
        patient = f"Patient/{client['id']}"
        principal = CitizenPrincipal(client_id, patient, patient, CLIENT, session, issued_at, expires_at)
        found.append(ActingFor(principal, _human_name(client)))
    guardians = await _ids(store, f"{base}/RelatedPerson", {"identifier": hetu, "relationship": GUARDIAN_RELATION})
    for guardian in sorted(guardians, key=lambda r: str(r.get("id"))):
        ward = reference_of(guardian.get("patient"))
        if guardian.get("active") is not True or not PATIENT_REFERENCE.fullmatch(ward):
            continue
        minors = await _ids(store, f"{base}/Patient", {"_id": ward.split("/", 1)[1], "active": "true"})
        if minors and _minor(minors[0], today):
            relation = f"RelatedPerson/{guardian['id']}"
            principal = CitizenPrincipal(client_id, relation, ward, GUARDIAN, session, issued_at, expires_at)
            found.append(ActingFor(principal, _human_name(minors[0])))
    return tuple(found)


def _human_name(resource: Mapping[str, Any]) -> str:
    """A Patient's name as written ("given family"), or ""."""
    for name in resource.get("name", []) if isinstance(resource.get("name"), list) else []:
        if isinstance(name, dict):
            given = " ".join(str(g) for g in name.get("given", []) if isinstance(g, str))
            return " ".join(part for part in (given, str(name.get("family", ""))) if part)
    return ""


async def _ids(store: httpx.AsyncClient, url: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The resources matching `params` at `url` (a few at most: more than 10 is a failure)."""
    bundle = await _get(store, url, {**params, "_count": "10"})
    if any(link.get("relation") == "next" for link in bundle.get("link", []) if isinstance(link, dict)):
        raise LoginFailed("the store holds too many records for this henkilötunnus")
    return [
        entry["resource"]
        for entry in bundle.get("entry", [])
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict) and "id" in entry["resource"]
    ]


async def _get(store: httpx.AsyncClient, url: str, params: Mapping[str, str], *, missing: str = "") -> dict[str, Any]:
    """The JSON object the store answers at `url`: `ProviderUnavailable` if it cannot answer, and
    `LoginFailed` naming `missing` when given and it has no such resource (404 or 410)."""
    try:
        answer = await store.get(url, params=dict(params), headers={"Accept": "application/fhir+json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the FHIR store did not answer ({exc.__class__.__name__})") from None
    if missing and answer.status_code in (404, 410):
        raise LoginFailed(f"{missing} is not in the directory")
    if answer.status_code != 200:
        raise ProviderUnavailable(f"the FHIR store answered HTTP {answer.status_code}")
    try:
        body = answer.json()
    except ValueError:
        raise ProviderUnavailable("the FHIR store answered with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise ProviderUnavailable("the FHIR store answered with JSON that is not an object")
    return body


def _minor(patient: Mapping[str, Any], today: date) -> bool:
    """Whether `patient` is under 18 on `today`, by their birthDate (unknown: not a minor)."""
    try:
        born = date.fromisoformat(str(patient.get("birthDate", "")))
    except ValueError:
        return False
    try:
        adult = born.replace(year=born.year + 18)
    except ValueError:  # born on 29 February
        adult = date(born.year + 18, 3, 1)
    return today < adult

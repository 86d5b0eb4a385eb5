"""The acting professional: who a PractitionerRole is, and whether a client may act for them.

A token is issued for one professional at a time. The token endpoint looks the assertion's
PractitionerRole up in a `ProfessionalDirectory` and calls `require_acting_professional`,
which refuses (invalid_grant) a role that is unknown, inactive, or held in an organisation
other than the client's registered one. A directory that cannot answer must raise: the token
endpoint then answers 503 temporarily_unavailable — never a token on a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from auth.errors import ProfessionalRefused
from gateway.fhir.ids import ORGANIZATION_REFERENCE, PRACTITIONER_ROLE_REFERENCE
from gateway.fhir.systems import TEAM_ROLE_SYSTEM

__all__ = [
    "DirectoryUnavailable",
    "FhirProfessionalDirectory",
    "ProfessionalDirectory",
    "ProfessionalRole",
    "UnknownProfessional",
    "professional_from_resource",
    "require_acting_professional",
]


class DirectoryUnavailable(Exception):
    """The directory could not answer (network, HTTP status other than 200/404/410, bad body)."""


@dataclass(frozen=True)
class ProfessionalRole:
    """A PractitionerRole as the directory knows it.

    `reference` is "PractitionerRole/<id>", `organization` "Organization/<id>" (or "" when the
    role names none), `team_roles` the codes from `TEAM_ROLE_SYSTEM`. `active` is False when
    the resource says so or does not say (absent means not known to be active).
    """

    reference: str
    organization: str
    team_roles: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class UnknownProfessional:
    """The directory has no such PractitionerRole (the answer, not a failure)."""

    reference: str


class ProfessionalDirectory(Protocol):
    """Finds the professional behind a PractitionerRole reference."""

    async def lookup(self, practitioner_role: str) -> ProfessionalRole | UnknownProfessional:
        """Answer for "PractitionerRole/<id>"; raise (any exception) if unable to answer."""
        ...


def require_acting_professional(found: ProfessionalRole | UnknownProfessional, organization: str) -> ProfessionalRole:
    """The professional, if a client of `organization` may act for them; else `ProfessionalRefused`."""
    if isinstance(found, UnknownProfessional):
        raise ProfessionalRefused("the acting professional's PractitionerRole is not known")
    if not found.active:
        raise ProfessionalRefused("the acting professional's PractitionerRole is not active")
    if found.organization != organization:
        raise ProfessionalRefused("the acting professional does not work for the client's organisation")
    return found


def professional_from_resource(resource: Mapping[str, object], reference: str, base_url: str) -> ProfessionalRole:
    """Read a PractitionerRole resource found at `reference`; raise `DirectoryUnavailable` if it is not one.

    The organization reference is kept if it is relative ("Organization/<id>") or absolute on
    `base_url` (then made relative); any other form (another server, a version) becomes "",
    which matches no client's organisation.
    """
    match = PRACTITIONER_ROLE_REFERENCE.fullmatch(reference)
    if match is None:
        raise DirectoryUnavailable("not a PractitionerRole reference")
    if resource.get("resourceType") != "PractitionerRole" or resource.get("id") != match.group(1):
        raise DirectoryUnavailable("the FHIR store answered with another resource")
    return ProfessionalRole(
        reference=reference,
        organization=_organization(resource.get("organization"), base_url.rstrip("/") + "/"),
        team_roles=_team_roles(resource.get("code")),
        active=resource.get("active") is True,
    )


class FhirProfessionalDirectory:
    """A `ProfessionalDirectory` reading `GET {base_url}/PractitionerRole/{id}` from the FHIR store.

    404 and 410 mean `UnknownProfessional`; every other failure raises `DirectoryUnavailable`.
    The caller owns `client` (its timeouts, its lifetime).
    """

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self._base_url = base_url.rstrip("/")
        self._client = client

    async def lookup(self, practitioner_role: str) -> ProfessionalRole | UnknownProfessional:
        """See `ProfessionalDirectory.lookup`."""
        if PRACTITIONER_ROLE_REFERENCE.fullmatch(practitioner_role) is None:
            return UnknownProfessional(practitioner_role)
        try:
            response = await self._client.get(
                f"{self._base_url}/{practitioner_role}", headers={"Accept": "application/fhir+json"}
            )
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"the FHIR store did not answer ({exc.__class__.__name__})") from exc
        if response.status_code in (404, 410):
            return UnknownProfessional(practitioner_role)
        if response.status_code != 200:
            raise DirectoryUnavailable(f"the FHIR store answered HTTP {response.status_code}")
        try:
            resource: object = response.json()
        except ValueError as exc:
            raise DirectoryUnavailable("the FHIR store answered with a body that is not JSON") from exc
        if not isinstance(resource, dict):
            raise DirectoryUnavailable("the FHIR store answered with a body that is not a resource")
        return professional_from_resource(resource, practitioner_role, self._base_url)


def _organization(value: object, base: str) -> str:
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return ""
    if base != "/" and reference.startswith(base):
        reference = reference.removeprefix(base)
    return reference if ORGANIZATION_REFERENCE.fullmatch(reference) else ""


def _team_roles(value: object) -> tuple[str, ...]:
    codes: list[str] = []
    if not isinstance(value, list):
        return ()
    for concept in value:
        codings = concept.get("coding") if isinstance(concept, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict) and coding.get("system") == TEAM_ROLE_SYSTEM:
                code = coding.get("code")
                if isinstance(code, str) and code not in codes:
                    codes.append(code)
    return tuple(codes)

"""Names, not references, on the audit pages: who a PractitionerRole, an Organization and a system are.

`NameDirectory.names(references)` resolves, for one page, the `PractitionerRole/<id>` and
`Organization/<id>` references it is given (others are ignored) and answers `Names`:
- a PractitionerRole: the practitioner's name (Practitioner.name via PractitionerRole.practitioner:
  the official name, else the first; its text, else the given names and the family name) and the
  title (the role's first code: one of CodeSystem/team-role displayed in fi, sv and en from our
  terminology; another by its coding's display or the concept's text, alike in all three);
- an Organization: its name (the sector is the event's own; the page translates it);
- a client system: its `name` in the client registry (`systems`), with no lookup.

Lookups are batched: a page costs at most one search per resource type per 100 ids
(`PractitionerRole?_id=a,b,…` and `Organization?_id=…` together, then `Practitioner?_id=…` of
the roles found), made with `gateway.store.search.search_all` on the gateway's own store client
(`Upstream`): the no-store searches the gateway makes for its decisions, which HAPI answers in one
page and keeps nothing of, on the connection pool already open — no second HTTP client to
configure and close, and the same failure mapping.

Cached, with a stated bound: a resource read from the store, or found missing, is kept `ttl`
seconds from the moment its read began, then read again; so `ttl` is the longest a changed or
deleted name can still show (`YHTEYS_NAMES_TTL`, default 60 s; 0 reads every time). The clock
is injectable. A failed lookup (the store down, a bad answer, no answer within `timeout`
seconds, default 5) caches nothing and resolves nothing: the page then shows the references
themselves, a few seconds late at worst. The page never fails because of a name,
and no name is ever made up: what is not resolved is absent from `Names`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from auth.clock import Clock, system_clock
from gateway.fhir.ids import ORGANIZATION_REFERENCE, PRACTITIONER_ROLE_REFERENCE, reference_pattern
from gateway.fhir.systems import TEAM_ROLE_SYSTEM
from gateway.store.client import Upstream
from gateway.store.search import search_all
from gateway.terminology import display

__all__ = ["BATCH", "Fetch", "NameDirectory", "Named", "Names"]

BATCH = 100
"""The most ids one search names (well below the store's page of 200, so an answer is never cut)."""

Fetch = Callable[[str, Sequence[str]], Awaitable[Sequence[Mapping[str, object]]]]
"""Reads the resources of one type with these ids (those that exist) from the store; raises if it cannot."""

_LANGUAGES = ("fi", "sv", "en")
_PRACTITIONER_REFERENCE = reference_pattern("Practitioner")
_log = logging.getLogger("gateway.review.names")


@dataclass(frozen=True)
class Named:
    """A resolved reference: the name to show ("" if the store gives none: the reference stands
    for it) and, for a professional, the title in fi, sv and en ("" if none)."""

    name: str
    title: tuple[str, str, str] = ("", "", "")

    def title_in(self, lang: str) -> str:
        """The title in `lang` (fi, sv or en)."""
        return self.title[_LANGUAGES.index(lang)]


@dataclass(frozen=True)
class Names:
    """What one page may show instead of references: resolved references, and the systems' names
    by client_id. An unresolved reference, or a system with no name, is simply absent."""

    resolved: Mapping[str, Named] = field(default_factory=dict)
    systems: Mapping[str, str] = field(default_factory=dict)

    def of(self, reference: str) -> Named | None:
        """The name behind `reference`, or None: then show the reference."""
        return self.resolved.get(reference)

    def system(self, client_id: str) -> str:
        """The system's name, or "": then show the client_id."""
        return self.systems.get(client_id, "")


class NameDirectory:
    """Resolves references to names through `fetch`, cached for `ttl` seconds; see the module doc."""

    def __init__(
        self,
        fetch: Fetch,
        systems: Mapping[str, str],
        *,
        ttl: float,
        clock: Clock = system_clock,
        timeout: float = 5.0,
    ) -> None:
        if ttl < 0 or timeout <= 0:
            raise ValueError("ttl must be 0 or more seconds, timeout more than 0")
        self._fetch = fetch
        self._systems = dict(systems)
        self._ttl = ttl
        self._clock = clock
        self._timeout = timeout
        self._cache: dict[str, tuple[float, Mapping[str, object] | None]] = {}

    @classmethod
    def on_store(
        cls, store: Upstream, systems: Mapping[str, str], *, ttl: float, clock: Clock = system_clock
    ) -> NameDirectory:
        """The directory reading the FHIR store behind `store` (searches by `_id`, no-store)."""

        async def fetch(resource_type: str, ids: Sequence[str]) -> Sequence[Mapping[str, object]]:
            return await search_all(store, resource_type, {"_id": ",".join(ids)})

        return cls(fetch, systems, ttl=ttl, clock=clock)

    async def names(self, references: Iterable[str]) -> Names:
        """The names of `references` for one page; never raises for a lookup that fails."""
        self._forget_expired()
        wanted = sorted(set(references))
        roles, organizations = await asyncio.gather(
            self._read("PractitionerRole", [r for r in wanted if PRACTITIONER_ROLE_REFERENCE.fullmatch(r)]),
            self._read("Organization", [r for r in wanted if ORGANIZATION_REFERENCE.fullmatch(r)]),
        )
        practitioners = await self._read(
            "Practitioner", sorted({p for role in roles.values() if role and (p := _practitioner_of(role))})
        )
        resolved: dict[str, Named] = {}
        for reference, role in roles.items():
            if role is not None:
                person = practitioners.get(_practitioner_of(role))
                resolved[reference] = Named(_person_name(person) if person else "", _title(role))
        for reference, organization in organizations.items():
            name = organization.get("name") if organization is not None else None
            if isinstance(name, str) and name.strip():
                resolved[reference] = Named(name.strip())
        return Names(resolved, self._systems)

    async def _read(self, resource_type: str, references: Sequence[str]) -> dict[str, Mapping[str, object] | None]:
        """`references` (all of `resource_type`) as the store holds them (None: it holds none),
        from the cache while fresh; those whose read failed are left out."""
        now = self._clock()
        found: dict[str, Mapping[str, object] | None] = {}
        missing = []
        for reference in references:
            cached = self._cache.get(reference)
            if cached is not None and now < cached[0] + self._ttl:
                found[reference] = cached[1]
            else:
                missing.append(reference)
        for at in range(0, len(missing), BATCH):
            chunk = missing[at : at + BATCH]
            ids = [reference.split("/", 1)[1] for reference in chunk]
            try:
                resources = await asyncio.wait_for(self._fetch(resource_type, ids), self._timeout)
            except Exception as exc:  # the store down, slow or answering nonsense: show references
                _log.warning("names of %d %s not read: %r", len(chunk), resource_type, exc)
                continue
            by_id = {r.get("id"): r for r in resources if r.get("resourceType") == resource_type}
            for reference, resource_id in zip(chunk, ids, strict=True):
                found[reference] = by_id.get(resource_id)
                self._cache[reference] = (now, found[reference])
        return found

    def _forget_expired(self) -> None:
        now = self._clock()
        for reference in [r for r, (read_at, _) in self._cache.items() if now >= read_at + self._ttl]:
            del self._cache[reference]


def _practitioner_of(role: Mapping[str, object]) -> str:
    """The role's `Practitioner/<id>` reference ("" if it names none that way)."""
    practitioner = role.get("practitioner")
    reference = practitioner.get("reference") if isinstance(practitioner, Mapping) else None
    return reference if isinstance(reference, str) and _PRACTITIONER_REFERENCE.fullmatch(reference) else ""


def _person_name(practitioner: Mapping[str, object]) -> str:
    names = [n for n in _list(practitioner.get("name")) if isinstance(n, Mapping)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    text = name.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    family = name.get("family")
    parts = [g for g in _list(name.get("given")) if isinstance(g, str)] + [family if isinstance(family, str) else ""]
    return " ".join(part.strip() for part in parts if part.strip())


def _title(role: Mapping[str, object]) -> tuple[str, str, str]:
    """The title of the role's first code with one; see the module doc."""
    for concept in (c for c in _list(role.get("code")) if isinstance(c, Mapping)):
        codings = [c for c in _list(concept.get("coding")) if isinstance(c, Mapping)]
        for coding in codings:
            code = coding.get("code")
            if coding.get("system") == TEAM_ROLE_SYSTEM and isinstance(code, str):
                texts = [display("team-role", code, lang) for lang in _LANGUAGES]
                if all(texts):
                    fi, sv, en = (str(text) for text in texts)
                    return fi, sv, en
        shown = [concept.get("text"), *(coding.get("display") for coding in codings)]
        text = next((t.strip() for t in shown if isinstance(t, str) and t.strip()), "")
        if text:
            return text, text, text
    return "", "", ""


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []

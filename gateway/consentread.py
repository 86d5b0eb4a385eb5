"""Reading a client's consents from the FHIR store, afresh on every call.

`read_consents(client, base_url, patient)` searches
`GET {base_url}/Consent?patient=<Patient/id>&status=active&_count=100` and follows the Bundle's
`next` links (at most `max_pages` pages of `page_size`, only under `base_url`). It returns
`ConsentsOnFile` (every Consent entry), `NoConsentOnFile` (an answer with none) or
`ConsentUnreadable` for any failure: a network error or timeout, a status other than 200, a
body that is not a searchset Bundle of Consents, a foreign or excess `next` link. It never
raises (except for cancellation).

There is no cache, on purpose: a withdrawn or newly refusing consent must apply to the very
next request (existing gateways kept consents for hours after revocation). For the same
reason the search asks the store not to reuse cached results (`Cache-Control: no-cache`,
which HAPI honours; ours also never reuses them). The caller's duty: give `client` a timeout,
call this for every request that concerns a client, and deny when the answer is
`ConsentUnreadable` (`gateway.consent.ConsentPolicy` does).

The minor's RestrictionParent is read from the Consent resources themselves (see
`gateway.consentterms`), so no Patient read is needed: HL7 Finland defines no Patient context
for it, and a minor's decision on disclosure is the client's consent decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from gateway.consent import ConsentsOnFile, ConsentsRead, ConsentUnreadable, NoConsentOnFile

__all__ = ["MAX_PAGES", "PAGE_SIZE", "read_consents"]

PAGE_SIZE = 100
MAX_PAGES = 20
"""At most page_size × max_pages consents per client are read; more is unreadable (fail closed)."""

_PATIENT = re.compile(r"Patient/[A-Za-z0-9\-.]{1,64}")
_HEADERS = {"Accept": "application/fhir+json", "Cache-Control": "no-cache"}


class _Unreadable(Exception):
    """The answer cannot be used; the message says why."""


async def read_consents(
    client: httpx.AsyncClient,
    base_url: str,
    patient: str,
    *,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
) -> ConsentsRead:
    """The active Consents of `patient` ("Patient/<id>") on the store at `base_url`; never cached."""
    if not _PATIENT.fullmatch(patient):
        return ConsentUnreadable("patient is not 'Patient/<id>'")
    base = base_url.rstrip("/")
    url = f"{base}/Consent"
    params: dict[str, str] | None = {"patient": patient, "status": "active", "_count": str(page_size)}
    found: list[Mapping[str, object]] = []
    try:
        for _ in range(max_pages):
            response = await client.get(url, params=params, headers=_HEADERS)
            if response.status_code != 200:
                raise _Unreadable(f"the store answered {response.status_code}")
            consents, following = _page(response.json(), base)
            found.extend(consents)
            if following is None:
                return ConsentsOnFile(tuple(found)) if found else NoConsentOnFile()
            url, params = following, None
        raise _Unreadable(f"more than {max_pages} pages of consents")
    except _Unreadable as exc:
        return ConsentUnreadable(str(exc))
    except (httpx.HTTPError, ValueError) as exc:
        return ConsentUnreadable(f"{type(exc).__name__}: {exc}")


def _page(body: object, base: str) -> tuple[list[Mapping[str, object]], str | None]:
    """The Consents of one searchset page and its `next` link (None on the last page)."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle" or body.get("type") != "searchset":
        raise _Unreadable("not a searchset Bundle")
    entries = body.get("entry", [])
    links = body.get("link", [])
    if not isinstance(entries, list) or not isinstance(links, list):
        raise _Unreadable("malformed Bundle")
    consents: list[Mapping[str, object]] = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        search = entry.get("search") if isinstance(entry, Mapping) else None
        if isinstance(search, Mapping) and search.get("mode") == "outcome":
            continue
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Consent":
            raise _Unreadable("an entry that is not a Consent")
        consents.append(resource)
    following = [link.get("url") for link in links if isinstance(link, Mapping) and link.get("relation") == "next"]
    if not following:
        return consents, None
    url = following[0]
    if len(following) > 1 or not isinstance(url, str) or not _same_origin(url, base):
        raise _Unreadable("a next link that is not on the store")
    return consents, url


def _same_origin(url: str, base: str) -> bool:
    link, store = urlsplit(url), urlsplit(base)
    on_path = link.path == store.path or link.path.startswith(store.path + "/")
    return (link.scheme, link.netloc) == (store.scheme, store.netloc) and on_path

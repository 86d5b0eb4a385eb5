"""Reading a client's consents from the FHIR store, afresh on every call.

`read_consents(upstream, patient)` searches
`GET <store>/Consent?patient=<Patient/id>&status=active` with `gateway.store.search` (one
page of `PAGE_SIZE`, not stored by the store; a full page is unreadable). It returns `ConsentsOnFile` (every Consent
found), `NoConsentOnFile` (an answer with none) or `ConsentUnreadable` for any failure
(`SearchFailed`: network, status, body, a full page or a `next` link). It never raises (except for cancellation).

There is no cache, on purpose: a withdrawn or newly refusing consent must apply to the very
next request (existing gateways kept consents for hours after revocation). The caller's duty:
call this for every request that concerns a client, and deny when
the answer is `ConsentUnreadable` (`gateway.access.consent.decider.ConsentPolicy` does).

The minor's RestrictionParent is read from the Consent resources themselves (see
`gateway.access.consent.terms`), so no Patient read is needed: HL7 Finland defines no Patient context
for it, and a minor's decision on disclosure is the client's consent decision.
"""

from __future__ import annotations

from gateway.access.consent.decider import ConsentsOnFile, ConsentsRead, ConsentUnreadable, NoConsentOnFile
from gateway.fhir.ids import PATIENT_REFERENCE
from gateway.store.client import Upstream
from gateway.store.search import PAGE_SIZE, SearchFailed, search_all

__all__ = ["PAGE_SIZE", "read_consents"]


async def read_consents(
    upstream: Upstream,
    patient: str,
    *,
    page_size: int = PAGE_SIZE,
) -> ConsentsRead:
    """The active Consents of `patient` ("Patient/<id>") on the store; never cached."""
    if not PATIENT_REFERENCE.fullmatch(patient):
        return ConsentUnreadable("patient is not 'Patient/<id>'")
    params = {"patient": patient, "status": "active"}
    try:
        found = await search_all(upstream, "Consent", params, page_size=page_size)
    except SearchFailed as exc:
        return ConsentUnreadable(str(exc))
    return ConsentsOnFile(tuple(found)) if found else NoConsentOnFile()

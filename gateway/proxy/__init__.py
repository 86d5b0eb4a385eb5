"""The FHIR path of the gateway: one request in, decided, forwarded, filtered, out.

dispatch      FhirProxy: parse the call and hand it to reads, writes or bundles
call          FhirCall, parse_call: what a FHIR REST request asks for
body          request bodies and If-Match, strictly read
reads         read, vread, search, history and follow-up pages
writes        create, update, patch and delete: decided and merged before they are sent
merge         the server-side merge that keeps hidden parts
bundles       batch and transaction Bundles, entry by entry
redaction     removing what the caller may not see
urls          the store's URLs made the gateway's
search        the search-parameter allow-list (search.yaml)
capabilities  the gateway's own CapabilityStatement
"""

__all__: list[str] = []

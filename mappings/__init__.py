"""Source-system mappings: each source system's own format to and from the shared plan.

A mapping is a client of the gateway over HTTP, with its source system's own registration and
token, so role policy, consent and audit apply to it as to any other caller. It imports the
shared FHIR vocabulary (`gateway.fhir`) and nothing else of the gateway or of `auth`
(an import-linter contract in pyproject.toml holds it to that).
"""

__all__: list[str] = []

"""The media types of the FHIR REST API as the gateway speaks it: FHIR JSON and JSON Patch."""

from __future__ import annotations

__all__ = ["FHIR_JSON", "FHIR_MEDIA_TYPES", "JSON_PATCH"]

FHIR_JSON = "application/fhir+json"
"""What the gateway answers with, and asks the store for."""
FHIR_MEDIA_TYPES = frozenset({FHIR_JSON, "application/json"})
"""The media types a resource may be sent in."""
JSON_PATCH = "application/json-patch+json"
"""The media type of an RFC 6902 JSON Patch."""

"""The gateway's CapabilityStatement: what it serves and how to get a token for it.

It describes the gateway, not the store behind it: only the resource types and interactions
the gateway lets through (read, vread, search-type, history-instance, create, update, patch
and delete of the types in `policy/search.yaml`, with those of the store's search parameters
the list allows, as the store defines them; batch and transaction; updates only with If-Match,
never creating, never conditional), and its SMART security —
backend services with private_key_jwt, the token endpoint named in the `oauth-uris`
extension. Built once at start-up; served without a token, as FHIR expects of `/metadata`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.proxy.search import SearchRules

__all__ = ["OAUTH_URIS", "capability_statement"]

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_INTERACTIONS = ("read", "vread", "search-type", "history-instance", "create", "update", "patch", "delete")
_WRITE_RULES = {
    "versioning": "versioned-update",
    "readHistory": True,
    "updateCreate": False,
    "conditionalCreate": False,
    "conditionalRead": "not-supported",
    "conditionalUpdate": False,
    "conditionalDelete": "not-supported",
}


def capability_statement(
    public_base: str,
    token_endpoint: str,
    introspection_endpoint: str,
    search_rules: SearchRules,
    store: Mapping[str, Any],
) -> dict[str, Any]:
    """The statement of a gateway at `public_base` in front of the store whose own statement
    is `store`; tokens come from `token_endpoint`."""
    store_params = _store_search_params(store)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": store.get("date", "2026-01-01"),
        "publisher": "Yhteys",
        "kind": "instance",
        "software": {"name": "Yhteys gateway", "version": "0.1.0"},
        "implementation": {"description": "Yhteys plan-sharing gateway", "url": public_base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Every request needs a SMART Backend Services access token naming the acting "
                    "professional; responses are filtered by role policy and the client's consent. "
                    "Updates, patches and deletes need If-Match with the version read."
                ),
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": OAUTH_URIS,
                            "extension": [
                                {"url": "token", "valueUri": token_endpoint},
                                {"url": "introspect", "valueUri": introspection_endpoint},
                            ],
                        }
                    ],
                },
                "resource": [
                    {
                        "type": rtype,
                        "interaction": [{"code": code} for code in _INTERACTIONS],
                        **_WRITE_RULES,
                        "searchParam": [
                            store_params[rtype][name] for name in sorted(names) if name in store_params.get(rtype, {})
                        ],
                    }
                    for rtype, names in sorted(search_rules.types.items())
                ],
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
            }
        ],
    }


def _store_search_params(store: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per resource type, the store's searchParam entries (name, type, definition) by name."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for rest in store.get("rest", []):
        for resource in rest.get("resource", []):
            params = {
                p["name"]: {key: p[key] for key in ("name", "definition", "type") if key in p}
                for p in resource.get("searchParam", [])
                if isinstance(p, dict) and "name" in p
            }
            found[str(resource.get("type"))] = params
    return found

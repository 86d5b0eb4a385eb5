"""The search rules are checked against the real store's CapabilityStatement at start-up."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from gateway.proxy.search import SearchRulesError, check_supported, load_search_rules


def test_the_shipped_rules_name_only_what_hapi_declares(fhir: httpx.Client) -> None:
    statement = fhir.get("/metadata").json()
    rules = load_search_rules()
    check_supported(rules, statement)
    wrong = dataclasses.replace(rules, include=rules.include | {"CarePlan:addresses"})
    with pytest.raises(SearchRulesError, match="_include=CarePlan:addresses"):
        check_supported(wrong, statement)

"""The reason catalogue: every rule id the deciders write into the trail has its fi, sv and en
texts, read from the shipped policy and the consent decider; a consent's rule names the consent;
anything else is unknown, never given a made-up text."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gateway.access.consent.decider import ConsentPolicy, consent_reasons
from gateway.access.policy import RULES_PATH, load_policy
from gateway.access.reasons import CITED_CONSENT, Explanation, ReasonCatalogue, UnknownRule
from gateway.fhir.systems import CONSENT_RULE_BASE
from tests.unit.gateway.access.test_consent import CASES, ConsentCase

CATALOGUE = ReasonCatalogue.of(load_policy().policy)


def _ids(node: Any) -> list[str]:
    """Every `id` in the policy file, at any depth, read as plain YAML (not through the loader)."""
    if isinstance(node, dict):
        own = [str(node["id"])] if "id" in node else []
        return own + [i for value in node.values() for i in _ids(value)]
    if isinstance(node, list):
        return [i for item in node for i in _ids(item)]
    return []


RULE_IDS = _ids(yaml.safe_load(RULES_PATH.read_text(encoding="utf-8")))


def test_the_file_has_rules_in_every_section() -> None:
    assert len(RULE_IDS) > 30 and len(set(RULE_IDS)) == len(RULE_IDS)
    assert "https://yhteys.fi/fhir/policy/rule/psy-hidden-by-default" in RULE_IDS  # labels
    assert "https://yhteys.fi/fhir/policy/rule/no-rule-permits" in RULE_IDS  # checks
    assert "https://yhteys.fi/fhir/policy/rule/break-the-glass-read" in RULE_IDS


@pytest.mark.parametrize("rule", RULE_IDS)
def test_every_rule_of_the_policy_file_speaks_three_languages(rule: str) -> None:
    explained = CATALOGUE.explain(rule)
    assert isinstance(explained, Explanation) and explained.consent == ""
    fi, sv, en = (explained.text(lang) for lang in ("fi", "sv", "en"))
    assert all(text.strip() for text in (fi, sv, en)) and len({fi, sv, en}) == 3, (fi, sv, en)


def test_the_catalogue_knows_the_policy_and_the_consent_decider_and_nothing_else() -> None:
    assert CATALOGUE.rules == set(RULE_IDS) | {reason.rule for reason in consent_reasons()}


@pytest.mark.parametrize("reason", consent_reasons(), ids=lambda reason: reason.code)
def test_every_consent_reason_citing_no_consent_speaks_three_languages(reason: Any) -> None:
    explained = CATALOGUE.explain(reason.rule)
    assert isinstance(explained, Explanation)
    assert explained.texts == (reason.text_fi, reason.text_sv, reason.text_en)
    assert all(text.strip() for text in explained.texts) and len(set(explained.texts)) == 3


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_reason_the_consent_decider_gives_is_explained(case: ConsentCase) -> None:
    decision = ConsentPolicy(clock=case.now.timestamp).check(case.request, case.consents)
    for reason in decision.reasons:
        explained = CATALOGUE.explain(reason.rule)
        assert isinstance(explained, Explanation), reason.rule
        if reason.rule.startswith(f"{CONSENT_RULE_BASE}Consent/"):
            assert explained.texts == CITED_CONSENT
            assert explained.consent == "Consent/" + reason.rule.rsplit("/", 1)[1]


def test_a_rule_citing_a_consent_names_it_in_each_language() -> None:
    explained = CATALOGUE.explain(f"{CONSENT_RULE_BASE}Consent/demo-consent")
    assert explained == Explanation(f"{CONSENT_RULE_BASE}Consent/demo-consent", CITED_CONSENT, "Consent/demo-consent")
    assert [explained.text(lang) for lang in ("fi", "sv", "en")] == list(CITED_CONSENT)
    with pytest.raises(ValueError, match="lang must be one of fi, sv, en"):
        explained.text("de")


@pytest.mark.parametrize(
    "rule",
    [
        "https://yhteys.fi/fhir/policy/rule/a-rule-of-another-version",
        f"{CONSENT_RULE_BASE}Consent/..",  # no id
        f"{CONSENT_RULE_BASE}Consent/",
        f"{CONSENT_RULE_BASE}something-else",
        "urn:ietf:params:oauth:jti:abc",
    ],
)
def test_an_unknown_rule_is_unknown(rule: str) -> None:
    assert CATALOGUE.explain(rule) == UnknownRule(rule)

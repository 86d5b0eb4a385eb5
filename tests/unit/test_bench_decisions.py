"""The decision benchmark measures real decisions: its consents conform, its loop permits and denies.

`bench.population` must give consents `gateway.access.consent.terms.terms_of` reads (a consent it
refused would turn every decision for that client into a `consent-malformed` denial, and the
benchmark would time an error path), the same consents for the same seed, and a mix that
makes `bench.decisions.decide` both permit and deny without any decider failing.
"""

from __future__ import annotations

import random
from collections import Counter

from bench.decisions import ERROR_REASONS, build_index, decide, samples
from bench.population import NOW, Population
from gateway.access.consent.decider import ConsentPolicy
from gateway.access.consent.terms import concerns, terms_of
from gateway.access.policy import load_policy
from gateway.access.seam import Effect

POPULATION = Population(clients=200, consents_per_client=10, seed=7)


def test_every_generated_consent_conforms() -> None:
    statuses: Counter[str] = Counter()
    for number in range(POPULATION.clients):
        client = POPULATION.client(number)
        assert len(client.consents) == 10
        for consent in client.consents:
            terms = terms_of(consent)
            assert terms.id == consent["id"]
            statuses[consent["status"]] += 1
            assert concerns(consent, client.patient) == (consent["status"] == "active")
    assert statuses["active"] > statuses["inactive"] > 0


def test_a_client_is_the_same_for_the_same_seed() -> None:
    assert POPULATION.client(42) == POPULATION.client(42)
    assert POPULATION.client(42) != Population(clients=200, consents_per_client=10, seed=8).client(42)


def test_the_decision_loop_both_permits_and_denies_and_never_fails() -> None:
    index, teams = build_index(POPULATION)
    assert sum(len(consents) for consents in index.values()) == POPULATION.consents
    role_policy, consent_policy = load_policy(), ConsentPolicy(clock=NOW.timestamp)
    stream = samples(POPULATION, teams, random.Random(1))
    decisions = [decide(role_policy, consent_policy, index, next(stream)) for _ in range(2_000)]
    effects = Counter(decision.effect for decision in decisions)
    codes = Counter(reason.code for decision in decisions for reason in decision.reasons)
    assert effects[Effect.PERMIT] > 0 and effects[Effect.DENY] > 0
    assert codes["consent-permits"] > 0 and codes["consent-denies"] > 0 and codes["consent-refuses-labels"] > 0
    assert not ERROR_REASONS & set(codes)

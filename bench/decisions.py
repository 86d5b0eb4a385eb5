"""How long one access decision takes: the role policy and the client's consent, combined.

    python -m bench.decisions [--clients N] [--consents-per-client K] [--decisions D] [--write]

Builds the shipped role policy (`gateway.access.policy.load_policy()`) and `ConsentPolicy` (clock
fixed at `bench.population.NOW`), generates the synthetic population of `bench.population`
and keeps every consent in memory as an index, client → tuple of Consent dicts. Then, for
each of D samples (a random client; a caller from that client's team, or 20 % of the time
an outsider; read or search of a CarePlan, Goal, CareTeam, Condition or Patient, some
labelled PSY; purpose TREAT, CAREMGT or, rarely, BTG), it times the pipeline's hot path
for one resource: look the client's consents up, wrap them as `ConsentsOnFile`, build the
`AccessRequest` and `combine(role_policy.check(request), consent_policy.check(request,
on_file))`. Sampling happens outside the timed region.

The index is a benchmark artefact: the gateway reads a client's consents from HAPI for each
request (a network call measured by `bench.gateway_throughput`, not here). So that the
collector does not walk the index during the loop, it is built with the collector off and
then frozen (`gc.freeze`). The tuple holds all the client's consents, inactive ones too,
though the store's `status=active` search would leave those out: the decider skips them
(`concerns`), so the work measured is slightly more than the pipeline's.
"""

from __future__ import annotations

import argparse
import functools
import gc
import random
import resource
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from auth.principal import Principal
from auth.scopes import Scope, parse_scope
from bench.population import NOW, OUTSIDE_COUNTY, Population, Professional
from bench.report import write_section
from bench.stats import Summary
from gateway.access.consent.decider import ConsentPolicy, ConsentsOnFile
from gateway.access.policy import RolePolicy, load_policy
from gateway.access.seam import AccessDecision, AccessRequest, Effect, combine
from gateway.fhir.codes import Interaction, PurposeOfUse
from gateway.fhir.labels import PSY, Label

__all__ = ["ERROR_REASONS", "Index", "Measurement", "Sample", "build_index", "decide", "main", "measure", "samples"]

Index = dict[str, tuple[Mapping[str, Any], ...]]
"""Client ("Patient/<id>") → all of that client's Consent resources."""

ERROR_REASONS = frozenset({"consent-error", "consent-malformed", "consent-unreadable", "decider-error"})
"""Reason codes that mean a decider failed or could not read a consent, not a real decision."""

_SCOPES: tuple[Scope, ...] = tuple(
    parse_scope(f"system/{rtype}.rs") for rtype in ("CarePlan", "Goal", "CareTeam", "Condition", "Patient")
)  # what `yhteys demo token` asks for by default
_TYPES = ("CarePlan", "Goal", "CareTeam", "Condition", "Patient")
_TYPE_WEIGHTS = (0.3, 0.3, 0.15, 0.15, 0.1)
_PURPOSES = (PurposeOfUse.TREAT, PurposeOfUse.CAREMGT, PurposeOfUse.BTG)
_PURPOSE_WEIGHTS = (0.8, 0.18, 0.02)
_PSY_ONLY = frozenset({PSY})
_CONSENT_SAYS = (
    "consent-permits",
    "consent-denies",
    "consent-refuses-all",
    "consent-refuses-labels",
    "no-consent-permits",
)


class Sample(NamedTuple):
    """One decision to make: who asks what about which client's resource."""

    patient: str
    principal: Principal
    interaction: Interaction
    resource_type: str
    resource_id: str
    labels: frozenset[Label]


@dataclass(frozen=True)
class Measurement:
    """Per-decision durations summarised; effects, reason codes (once per decision) and
    decisions failing in a decider (`ERROR_REASONS`) counted."""

    summary: Summary
    effects: Mapping[Effect, int]
    reasons: Mapping[str, int]
    errors: int


def build_index(population: Population) -> tuple[Index, list[tuple[Professional, ...]]]:
    """Every client's consents (the index) and team (by client number), built with the collector off."""
    index: Index = {}
    teams: list[tuple[Professional, ...]] = []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for number in range(population.clients):
            client = population.client(number)
            index[client.patient] = client.consents
            teams.append(client.team)
    finally:
        if was_enabled:
            gc.enable()
    return index, teams


@functools.cache
def _principal(professional: Professional, purpose: PurposeOfUse) -> Principal:
    btg = purpose is PurposeOfUse.BTG
    return Principal(
        client_id=f"{professional.sector.value}-system",
        organization=professional.organization,
        organization_oid="1.2.246.10.99990099.10.0",
        sector=professional.sector,
        practitioner_role=professional.practitioner_role,
        team_roles=(professional.team_role,),
        scopes=_SCOPES,
        purpose_of_use=purpose,
        btg_reason="asiakas akuutissa kriisissä, tiedot tarvitaan heti" if btg else "",
        jti="bench",
        expires_at=int(NOW.timestamp()) + 300,
        issued_at=int(NOW.timestamp()),
    )


def samples(population: Population, teams: list[tuple[Professional, ...]], rng: random.Random) -> Iterator[Sample]:
    """An endless stream of decisions to make, drawn with `rng` (see the module doc)."""
    while True:
        number = rng.randrange(population.clients)
        caller = rng.choice(teams[number]) if rng.random() < 0.8 else population.outsider(rng)
        purpose = rng.choices(_PURPOSES, _PURPOSE_WEIGHTS)[0]
        rtype = rng.choices(_TYPES, _TYPE_WEIGHTS)[0]
        labels = _PSY_ONLY if rtype in ("Goal", "Condition") and rng.random() < 0.3 else frozenset()
        interaction = Interaction.READ if rng.random() < 0.5 else Interaction.SEARCH
        resource_id = f"bench-{number}" if rtype == "Patient" else f"bench-{rtype.lower()}-{number}"
        yield Sample(f"Patient/bench-{number}", _principal(caller, purpose), interaction, rtype, resource_id, labels)


def decide(role_policy: RolePolicy, consent_policy: ConsentPolicy, index: Index, sample: Sample) -> AccessDecision:
    """The decision for `sample`, made as the pipeline makes it for one resource; the timed unit."""
    patient, principal, interaction, rtype, resource_id, labels = sample
    on_file = ConsentsOnFile(index[patient])
    request = AccessRequest.of(principal, interaction, rtype, patient=patient, resource_id=resource_id, labels=labels)
    return combine(role_policy.check(request), consent_policy.check(request, on_file))


def measure(
    role_policy: RolePolicy, consent_policy: ConsentPolicy, index: Index, stream: Iterator[Sample], count: int
) -> Measurement:
    """Time `count` decisions from `stream` one by one (samples drawn in batches, untimed)."""
    durations: list[float] = []
    effects: Counter[Effect] = Counter()
    reasons: Counter[str] = Counter()
    clock = time.perf_counter_ns
    busy = 0
    while len(durations) < count:
        batch = [next(stream) for _ in range(min(10_000, count - len(durations)))]
        for sample in batch:
            started = clock()
            decision = decide(role_policy, consent_policy, index, sample)
            took = clock() - started
            busy += took
            durations.append(took / 1e9)
            effects[decision.effect] += 1
            codes = {reason.code for reason in decision.reasons}
            reasons.update(codes)
            reasons["(error)"] += bool(codes & ERROR_REASONS)
    errors = reasons.pop("(error)", 0)
    return Measurement(Summary.of(durations, busy / 1e9), dict(effects), dict(reasons), errors)


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=2_000, help="synthetic clients (issue: 100000)")
    parser.add_argument("--consents-per-client", type=int, default=10, help="consents per client (issue: 10)")
    parser.add_argument("--decisions", type=int, default=20_000, help="decisions timed")
    parser.add_argument("--warmup", type=int, default=2_000, help="decisions made first, untimed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    population = Population(args.clients, args.consents_per_client, seed=args.seed)

    rss_start = _peak_rss_mib()
    started = time.monotonic()
    index, teams = build_index(population)
    gc.freeze()  # the index is an artefact of the benchmark: keep the collector from walking it
    generated = time.monotonic() - started
    rss_index = _peak_rss_mib()
    role_policy = load_policy()
    consent_policy = ConsentPolicy(clock=NOW.timestamp)
    stream = samples(population, teams, random.Random(args.seed + 1))
    measure(role_policy, consent_policy, index, stream, args.warmup)
    result = measure(role_policy, consent_policy, index, stream, args.decisions)
    rss_end = _peak_rss_mib()

    s = result.summary
    share = {effect: 100 * result.effects.get(effect, 0) / s.count for effect in Effect}
    said = {code: 100 * result.reasons.get(code, 0) / s.count for code in _CONSENT_SAYS}
    consent_says = " / ".join(f"{said[code]:.1f} %" for code in _CONSENT_SAYS)
    command = (
        f"python -m bench.decisions --clients {args.clients} --consents-per-client {args.consents_per_client} "
        f"--decisions {args.decisions} --warmup {args.warmup} --seed {args.seed}"
    )
    body = f"""## Access decisions: role policy and consent, per resource

`{command}`

| what | measured |
|---|---|
| synthetic clients / consents held in memory | {population.clients:,} / {population.consents:,} |
| generating them (one thread) | {generated:.1f} s |
| decisions timed (after {args.warmup:,} untimed) | {s.count:,} |
| per decision p50 / p95 / p99 | {_us(s.p50)} / {_us(s.p95)} / {_us(s.p99)} |
| per decision mean / max | {_us(s.mean)} / {_us(s.maximum)} |
| decisions per second (one thread, time inside decisions) | {s.rate:,.0f} |
| combined effect: permit / deny / not applicable | {share[Effect.PERMIT]:.1f} % / {share[Effect.DENY]:.1f} % / {share[Effect.NOT_APPLICABLE]:.1f} % |
| consent's part: {" / ".join(_CONSENT_SAYS)} | {consent_says} |
| decisions failing in a decider ({", ".join(sorted(ERROR_REASONS))}) | {result.errors:,} |
| peak RSS: at start / after generating / after the loop | {rss_start:,.0f} / {rss_index:,.0f} / {rss_end:,.0f} MiB |

One decision is what the pipeline does for each resource it returns once the client's
consents are in hand: wrap them as `ConsentsOnFile`, build the `AccessRequest`, run the role
policy and `ConsentPolicy`, and `combine` them. Callers come from the client's team (80 %) or
are outsiders; {" and ".join(sorted(sector.value for sector in OUTSIDE_COUNTY))} need a
consent naming them. The consent's part counts decisions citing each reason code. All
{population.consents_per_client} consents of a client go to the decider, including the inactive
ones that the store's `status=active` search would leave out (the decider skips them).
Reading the consents from HAPI, a network call made afresh for every request, is not in
these figures: it is part of the gateway's latency in `bench.gateway_throughput`.
"""
    if args.write:
        write_section("decisions", body)
    print(body)


if __name__ == "__main__":
    main()

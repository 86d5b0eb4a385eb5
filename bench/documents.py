"""How long a plan document takes to issue and sign, and to verify, in-process (issue 11).

    python -m bench.documents [--activities 50] [--goals 20] [--iterations N] [--warmup W]
                              [--verify-iterations V] [--rounds R] [--per-round K] [--json FILE] [--write]

The demo client's records with her plan grown to `--activities` activities and `--goals` goals
(`bench.large_plan`), the role policy and the consent decider as the gateway builds them, the
demo consent as the client's only consent, and a CA of its own (EC P-256, `gateway.signing.pki`)
with an empty CRL in the trust store. Nothing is read from a store: the records are in hand, as
they are once the gateway has read them, and HAPI's part is not in these figures.

1. issue, for each recipient (the youth services, whom the demo consent names, and the school
   welfare), the recipients taken in turn: `recipient_principals` → `recipient_view` →
   `closure` from the plan and the issuing Organization → `compose` → `document_problems` →
   `sign_bundle` (ES256), each stage timed. A recipient whose document cannot be composed is
   reported with the stages it passed and why it stopped.
2. verify, of the school welfare's signed document: `verify_bundle` (trust store with the CA
   and its CRL) + `document_problems`, timed whole; then, in the same iteration, its parts
   timed one by one as `verify_bundle` runs them: the canonical form, the certificate checks
   (x5c read, `TrustStore.check`, the organisation's OID), the JWS verification
   (`jws.deserialize_compact` over the canonical bytes) and the document rules.
3. ES256 against RS256 (RSA 2048, the same CA): `sign_bundle` and `verify_bundle` of the same
   document, `--rounds` rounds of `--per-round` each, the algorithms alternating round by round
   (which goes first alternates too), after one untimed round each; the parts of each timed
   apart right after it (`sign_stages`: canonical form, JWS, the copy of the Bundle).

Each timed whole is measured on the wall clock and in the CPU time of the thread
(`thread_time_ns`): on a shared machine the difference is time spent waiting for a core.
Percentiles are `bench.stats` (nearest rank: each figure is a duration measured). Warm-up
iterations come first, untimed. The collector runs as it does in the gateway. `--json FILE`
writes every summary as JSON; `--write` the section "documents" of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import gc
import json
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from bench.large_plan import PLAN, large_pool
from bench.report import machine, write_section
from bench.stats import Summary, percentile
from gateway.access.consent.decider import ConsentPolicy, ConsentsOnFile
from gateway.access.decider import ClientFacts, Policies
from gateway.access.policy import load_policy
from gateway.documents.compose import DocumentRequest, compose
from gateway.documents.structure import closure, document_problems
from gateway.fhir.codes import PurposeOfUse, Sector
from gateway.proxy.recipient import recipient_principals, recipient_view
from gateway.signing.bundle import canonical, sign_bundle, verify_bundle
from gateway.signing.jades import REGISTRY, sign
from gateway.signing.pki import SigningKey, TrustStore, issue, new_ca, organization_oid, revoke

__all__ = [
    "ISSUER",
    "ISSUE_GOAL",
    "ISSUE_STAGES",
    "NOW",
    "RECIPIENTS",
    "VERIFY_GOAL",
    "VERIFY_STAGES",
    "Bench",
    "Issued",
    "Recipient",
    "document_request",
    "issue_document",
    "main",
    "sign_stages",
    "verify_document",
    "verify_stages",
]

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
"""When the documents are signed; they are verified a minute later."""
ISSUER = "Organization/demo-org-social-welfare"
ISSUER_OID = "1.2.246.10.99990002.10.0"
PURPOSE = PurposeOfUse.CAREMGT
ISSUE_GOAL = 0.050
VERIFY_GOAL = 0.010
ISSUE_STAGES = ("principals", "view", "closure", "compose", "problems", "sign")
VERIFY_STAGES = ("canonical", "certificates", "jws", "structure")
_CONSENT_WORDS = ("Aino on antanut suostumuksen: Kunnan nuorisopalvelut näkee suunnitelman, tavoitteet ja tiimin.",)


@dataclass(frozen=True)
class Recipient:
    """A document's recipient organisation: its reference, SOTE OID and sector."""

    name: str
    organization: str
    oid: str
    sector: Sector


RECIPIENTS = (
    Recipient(
        "youth services",
        "Organization/demo-org-youth-services",
        "1.2.246.10.99990004.10.0",
        Sector.MUNICIPAL_YOUTH_SERVICES,
    ),
    Recipient(
        "school welfare", "Organization/demo-org-school-welfare", "1.2.246.10.99990001.10.0", Sector.SCHOOL_WELFARE
    ),
)


@dataclass(frozen=True)
class Bench:
    """Everything in hand before the first timed call: records, deciders, consent, keys, trust."""

    pool: dict[str, dict[str, Any]]
    policies: Policies
    facts: Mapping[str, ClientFacts]
    signers: Mapping[str, SigningKey]
    trust: TrustStore

    @classmethod
    def build(cls, activities: int, goals: int) -> Bench:
        """The bench for a plan of `activities` activities and `goals` goals; keys ES256 and RS256."""
        pool = large_pool(activities, goals)
        facts = {"Patient/demo-client": ClientFacts(ConsentsOnFile((pool["Consent/demo-consent"],)))}
        ca = new_ca("Yhteys bench CA", NOW - timedelta(days=30))
        signers = {}
        for algorithm, key in (
            ("ES256", ec.generate_private_key(ec.SECP256R1())),
            ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ):
            private, certificate = issue(ca, "Demo hyvinvointialue", ISSUER_OID, NOW - timedelta(days=1), key=key)
            signers[algorithm] = SigningKey(f"bench-{algorithm.lower()}", private, certificate)
        trust = TrustStore((ca.certificate,), (revoke(ca, [], NOW - timedelta(days=1)),))
        return cls(pool, Policies(load_policy(), ConsentPolicy(clock=NOW.timestamp)), facts, signers, trust)


@dataclass(frozen=True)
class Issued:
    """One issue: the signed document (None if a stage stopped it), the stages' durations in
    nanoseconds (those it passed, in order) and, if it stopped, where and why."""

    document: dict[str, Any] | None
    stages: dict[str, int]
    failure: str | None = None


_FINNISH_WINTER = timezone(timedelta(hours=2))
Clock = Callable[[], int]


def document_request(recipient: Recipient) -> DocumentRequest:
    """What the issuer asks for `recipient`: the plan's document, version 1, at `NOW`, in Finnish."""
    return DocumentRequest(
        plan=PLAN,
        issuer=ISSUER,
        recipient=recipient.organization,
        purpose=PURPOSE.value,
        identifier=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, recipient.organization)}",
        version=1,
        date=NOW.astimezone(_FINNISH_WINTER).isoformat(),
        base="https://yhteys.example/fhir",
        consents=_CONSENT_WORDS,
    )


def issue_document(
    bench: Bench, recipient: Recipient, signer: SigningKey, clock: Clock = time.perf_counter_ns
) -> Issued:
    """Issue the plan's document for `recipient` signed by `signer`, each stage timed; see the module doc."""
    t0 = clock()
    principals = recipient_principals(
        bench.policies.role, recipient.organization, recipient.oid, recipient.sector, PURPOSE
    )
    t1 = clock()
    view = recipient_view(bench.pool, principals, bench.policies, bench.facts)
    t2 = clock()
    lacking = view.lacks(PLAN, "Patient/demo-client")
    if lacking is not None:  # the gateway refuses here (403), as the bench reports
        return Issued(
            None, {"principals": t1 - t0, "view": t2 - t1}, f"refused: the recipient may not see the {lacking}"
        )
    reached, _ = closure(view.resources, [PLAN, ISSUER])
    t3 = clock()
    stages = {"principals": t1 - t0, "view": t2 - t1, "closure": t3 - t2}
    unsigned = compose(document_request(recipient), reached)
    t4 = clock()
    problems = document_problems(unsigned)
    t5 = clock()
    stages |= {"compose": t4 - t3, "problems": t5 - t4}
    if problems:
        return Issued(None, stages, f"document_problems: {'; '.join(problems[:3])}")
    signed = sign_bundle(unsigned, signer, ISSUER, ISSUER_OID, NOW)
    stages["sign"] = clock() - t5
    return Issued(signed, stages)


def verify_document(bench: Bench, document: Mapping[str, Any], now: datetime) -> list[str]:
    """`verify_bundle` and `document_problems` of `document`, as a receiver runs them: the timed unit
    of verify. Raises `SignatureInvalid`; answers the document's problems (none, for a sound one)."""
    verify_bundle(document, bench.trust, now)
    return document_problems(document)


def verify_stages(
    bench: Bench, document: Mapping[str, Any], now: datetime, clock: Clock = time.perf_counter_ns
) -> dict[str, int]:
    """`verify_document`'s parts timed one by one (ns), by the calls `verify_bundle` makes:
    the canonical form, the certificate checks, the JWS verification, the document rules.
    `RuntimeError` if any of them refuses: the bench would be timing a failure."""
    signature = document["signature"]
    t0 = clock()
    payload = canonical(document)
    t1 = clock()
    token = base64.b64decode(str(signature["data"]), validate=True).decode("ascii")
    encoded = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in header["x5c"]]
    signed_at = datetime.fromisoformat(str(header["sigT"]).removesuffix("Z") + "+00:00")
    leaf = bench.trust.check(chain, signed_at, now)
    oid = organization_oid(leaf)
    t2 = clock()
    public = leaf.public_key()
    key: ECKey | RSAKey
    if isinstance(public, ec.EllipticCurvePublicKey):
        key = ECKey.import_key(public)
    elif isinstance(public, rsa.RSAPublicKey):
        key = RSAKey.import_key(public)
    else:
        raise RuntimeError("the certificate's key is no EC or RSA key")
    jws.deserialize_compact(token, key, algorithms=[str(header["alg"])], registry=REGISTRY, payload=payload)
    t3 = clock()
    problems = document_problems(document)
    t4 = clock()
    if oid != (signature.get("who") or {}).get("identifier", {}).get("value") or problems:
        raise RuntimeError(f"the document does not verify: {oid=}, {problems[:3]}")
    return {"canonical": t1 - t0, "certificates": t2 - t1, "jws": t3 - t2, "structure": t4 - t3}


def sign_stages(unsigned: Mapping[str, Any], signer: SigningKey, clock: Clock = time.perf_counter_ns) -> dict[str, int]:
    """`sign_bundle`'s parts timed apart (ns), by the calls it makes: the canonical form, the JWS
    (`jades.sign`) and the copy of the Bundle that receives the signature (`copy.deepcopy`)."""
    t0 = clock()
    payload = canonical(unsigned)
    t1 = clock()
    sign(payload, signer, when=NOW)
    t2 = clock()
    copy.deepcopy(dict(unsigned))
    t3 = clock()
    return {"canonical": t1 - t0, "jws": t2 - t1, "copy": t3 - t2}


@dataclass
class _Series:
    """Durations of one measured thing, in seconds: the whole (wall clock, and the CPU time of
    this thread in it) and its parts (wall clock)."""

    whole: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    failure: str | None = None

    def add(self, whole_ns: int, cpu_ns: int, parts: Mapping[str, int]) -> None:
        self.whole.append(whole_ns / 1e9)
        self.cpu.append(cpu_ns / 1e9)
        self.add_parts(parts)

    def add_parts(self, parts: Mapping[str, int]) -> None:
        for name, ns in parts.items():
            self.parts.setdefault(name, []).append(ns / 1e9)

    def summary(self) -> Summary | None:
        return Summary.of(self.whole, math.fsum(self.whole) or 1.0) if self.whole else None

    def cpu_summary(self) -> Summary | None:
        return Summary.of(self.cpu, math.fsum(self.whole) or 1.0) if self.cpu else None

    def p50(self, part: str) -> float | None:
        values = self.parts.get(part)
        return percentile(sorted(values), 50) if values else None


def _measure_issue(bench: Bench, warmup: int, count: int) -> dict[str, _Series]:
    series = {recipient.name: _Series() for recipient in RECIPIENTS}
    signer = bench.signers["ES256"]
    cpu = time.thread_time_ns
    for number in range(warmup + count):
        for recipient in RECIPIENTS if number % 2 == 0 else RECIPIENTS[::-1]:
            cpu_started = cpu()
            issued = issue_document(bench, recipient, signer)
            cpu_took = cpu() - cpu_started
            if number < warmup:
                continue
            target = series[recipient.name]
            target.failure = issued.failure
            if issued.failure is None:
                target.add(sum(issued.stages.values()), cpu_took, issued.stages)
            else:
                target.add_parts(issued.stages)
    return series


def _measure_verify(bench: Bench, document: Mapping[str, Any], warmup: int, count: int) -> _Series:
    series = _Series()
    now = NOW + timedelta(minutes=1)
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for number in range(warmup + count):
        cpu_started, started = cpu(), clock()
        problems = verify_document(bench, document, now)
        took, cpu_took = clock() - started, cpu() - cpu_started
        parts = verify_stages(bench, document, now)
        if problems:
            raise RuntimeError(f"the signed document breaks the rules: {problems[:3]}")
        if number >= warmup:
            series.add(took, cpu_took, parts)
    return series


def _measure_algorithms(
    bench: Bench, unsigned: Mapping[str, Any], rounds: int, per_round: int
) -> dict[str, dict[str, _Series]]:
    algorithms = sorted(bench.signers)
    signed = {alg: sign_bundle(unsigned, bench.signers[alg], ISSUER, ISSUER_OID, NOW) for alg in algorithms}
    series = {alg: {"sign": _Series(), "verify": _Series()} for alg in algorithms}
    now = NOW + timedelta(minutes=1)
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for round_number in range(rounds + 1):  # round 0 warms both up, untimed
        for alg in algorithms if round_number % 2 == 0 else algorithms[::-1]:
            signer = bench.signers[alg]
            for _ in range(per_round):
                cpu_started, started = cpu(), clock()
                sign_bundle(unsigned, signer, ISSUER, ISSUER_OID, NOW)
                signing, cpu_signing = clock() - started, cpu() - cpu_started
                sign_parts = sign_stages(unsigned, signer)
                cpu_started, started = cpu(), clock()
                verify_bundle(signed[alg], bench.trust, now)
                verifying, cpu_verifying = clock() - started, cpu() - cpu_started
                verify_parts = verify_stages(bench, signed[alg], now)
                if round_number:
                    series[alg]["sign"].add(signing, cpu_signing, sign_parts)
                    series[alg]["verify"].add(
                        verifying, cpu_verifying, {k: verify_parts[k] for k in ("canonical", "certificates", "jws")}
                    )
    return series


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1e3:.2f}"


def _p(summary: Summary | None) -> str:
    return "–" if summary is None else f"{_ms(summary.p50)} / {_ms(summary.p99)} / {_ms(summary.maximum)}"


_STAGE_CALLS = {
    "principals": "`recipient_principals`",
    "view": "`recipient_view`",
    "closure": "`closure` (plan + issuer)",
    "compose": "`compose`",
    "problems": "`document_problems`",
    "sign": "`sign_bundle` (ES256)",
}
_VERIFY_CALLS = {
    "canonical": "canonical form (`canonical`, RFC 8785)",
    "certificates": "certificate checks (x5c read, `TrustStore.check`, OID)",
    "jws": "JWS verification (`jws.deserialize_compact`)",
    "structure": "document rules (`document_problems`)",
}


def _verdict(summary: Summary | None, goal: float) -> str:
    if summary is None:
        return "not measured"
    return "met" if summary.p99 <= goal else ("not met at p99 (p50 within it)" if summary.p50 <= goal else "not met")


def _p50_p99(summary: Summary | None) -> str:
    return "–" if summary is None else f"{_ms(summary.p50)} / {_ms(summary.p99)}"


def _dominant(series: _Series, names: Sequence[str]) -> str:
    p50s = {name: series.p50(name) or 0.0 for name in names}
    total = math.fsum(p50s.values()) or 1.0
    top = sorted(p50s, key=lambda n: -p50s[n])[:2]
    return ", ".join(f"{name} {100 * p50s[name] / total:.0f} %" for name in top)


def _busy(series: Iterable[_Series]) -> float:
    """CPU time of this thread over wall time, summed over the timed wholes of `series`."""
    both = [(math.fsum(s.cpu), math.fsum(s.whole)) for s in series]
    wall = math.fsum(w for _, w in both)
    return math.fsum(c for c, _ in both) / wall if wall else 0.0


def _render(
    command: str,
    args: argparse.Namespace,
    facts: Mapping[str, Any],
    issue: Mapping[str, _Series],
    verify: _Series,
    algorithms: Mapping[str, Mapping[str, _Series]],
) -> str:
    names = [r.name for r in RECIPIENTS]

    def row(what: str, cell: Callable[[_Series], str]) -> str:
        return f"| {what} | " + " | ".join(cell(issue[n]) for n in names) + " |"

    def stage_p50(stage: str) -> Callable[[_Series], str]:
        return lambda series: _ms(series.p50(stage))

    issue_rows = [row(_STAGE_CALLS[stage], stage_p50(stage)) for stage in ISSUE_STAGES]
    issue_rows += [
        row("issue, whole (wall clock): p50 / p99 / max", lambda s: _p(s.summary())),
        row("issue, whole (CPU time of the thread): p50 / p99 / max", lambda s: _p(s.cpu_summary())),
        row("documents issued (timed)", lambda s: f"{len(s.whole):,}" if s.failure is None else f"none: {s.failure}"),
    ]
    verify_rows = [f"| {_VERIFY_CALLS[stage]}, p50 | {_ms(verify.p50(stage))} |" for stage in VERIFY_STAGES]
    parts_sum = math.fsum(verify.p50(stage) or 0.0 for stage in VERIFY_STAGES)
    alg_rows = []
    for alg, both in algorithms.items():
        signing, verifying = both["sign"], both["verify"]
        alg_rows.append(
            f"| {alg} | {_p50_p99(signing.summary())} | {_p50_p99(signing.cpu_summary())} "
            f"| {_ms(signing.p50('canonical'))} | {_ms(signing.p50('jws'))} | {_ms(signing.p50('copy'))} "
            f"| {_p50_p99(verifying.summary())} | {_p50_p99(verifying.cpu_summary())} "
            f"| {_ms(verifying.p50('canonical'))} | {_ms(verifying.p50('certificates'))} | {_ms(verifying.p50('jws'))} "
            f"| {facts['signature_bytes'][alg]:,} |"
        )
    school = issue["school welfare"]
    goal_rows = [
        f"| issue ≤ {ISSUE_GOAL * 1e3:.0f} ms (school welfare) | {_p50_p99(school.summary())} | {_verdict(school.summary(), ISSUE_GOAL)} "
        f"| {_p50_p99(school.cpu_summary())} | {_verdict(school.cpu_summary(), ISSUE_GOAL)} | {_dominant(school, ISSUE_STAGES)} |",
        f"| verify ≤ {VERIFY_GOAL * 1e3:.0f} ms | {_p50_p99(verify.summary())} | {_verdict(verify.summary(), VERIFY_GOAL)} "
        f"| {_p50_p99(verify.cpu_summary())} | {_verdict(verify.cpu_summary(), VERIFY_GOAL)} | {_dominant(verify, VERIFY_STAGES)} |",
    ]
    everything = [*issue.values(), verify, *(s for both in algorithms.values() for s in both.values())]
    newline = "\n"
    return f"""## Plan documents: issue and sign, verify (issue 11)

`{command}`

### Issue: from the records in hand to the signed document

| stage, p50 ms | {" | ".join(names)} |
|---|---|---|
{newline.join(issue_rows)}

### Verify: the school welfare's signed document

| what | ms |
|---|---|
| `verify_bundle` + `document_problems`, whole (wall clock): p50 / p99 / max | {_p(verify.summary())} |
| `verify_bundle` + `document_problems`, whole (CPU time of the thread): p50 / p99 / max | {_p(verify.cpu_summary())} |
{newline.join(verify_rows)}
| sum of the parts' p50 | {_ms(parts_sum)} |

### ES256 and RS256 (RSA 2048), the same document

| algorithm | `sign_bundle` p50 / p99 ms | CPU p50 / p99 | of it, p50: canonical form | JWS sign | copy of the Bundle | `verify_bundle` p50 / p99 ms | CPU p50 / p99 | of it, p50: canonical form | certificate checks | JWS verify | signature (`data`) bytes |
|---|---|---|---|---|---|---|---|---|---|---|---|
{newline.join(alg_rows)}

### Against the goals of issue 11

| goal | wall clock p50 / p99 ms | verdict | CPU time p50 / p99 ms | verdict on CPU time | what dominates (share of the stages' p50 sum) |
|---|---|---|---|---|---|
{newline.join(goal_rows)}

The plan: the demo client's records ({facts["pool"]} resources) with `CarePlan/bench-plan` of
{args.activities} activities ({facts["activities_by_sector"]}; the {facts["psy_activities"]}
hospital-psychiatry ones PSY-labelled) and {args.goals} goals ({facts["psy_goals"]} PSY-labelled),
each a copy of a demo activity or goal with its own id and text (`bench.large_plan`). The
recipients, purpose CAREMGT, with the demo consent as the client's only consent: the youth
services (role {facts["roles"]["youth services"]}) and the school welfare (roles
{facts["roles"]["school welfare"]}); the issuer {ISSUER}. The school welfare's signed document:
{facts["entries"]} entries, {facts["document_bytes"]:,} bytes of JSON, a canonical form of
{facts["canonical_bytes"]:,} bytes; {facts["psy_note"]}. {facts["youth_note"]}

Issue: {args.warmup} untimed then {args.iterations:,} timed per recipient, the recipients in turn;
the whole is the sum of its stages, timed back to back with `perf_counter_ns`. Verify:
{args.warmup} untimed then {args.verify_iterations:,} timed; the parts are the same calls
`verify_bundle` makes, run again one by one right after the timed whole (which is what the goal
is judged on). ES256 against RS256: {args.rounds} rounds of {args.per_round} per algorithm after
one untimed round, alternating; the parts, again, the calls `sign_bundle` and `verify_bundle`
make, run one by one right after the timed whole. All in one process, one thread, the records in
memory: HAPI's time to read and store is not in these figures. Keys and certificates as
`gateway.signing.pki` issues them (a CA of the bench's own, EC P-256; the RSA key given to
`issue`), the trust store that CA and its empty CRL. The CPU time (`thread_time_ns`) is what the
work itself took; the wall clock adds the time the thread waited for a core. Other processes
shared the machine's {os.cpu_count()} cores: load average (1 min) {facts["load_start"]:.2f} at the
start, {facts["load_end"]:.2f} at the end; over the timed wholes the thread had a core
{100 * _busy(everything):.0f} % of the time.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--activities", type=int, default=50, help="activities in the plan (issue: 50)")
    parser.add_argument("--goals", type=int, default=20, help="goals in the plan (issue: 20)")
    parser.add_argument("--iterations", type=int, default=200, help="issues timed per recipient")
    parser.add_argument("--warmup", type=int, default=20, help="untimed iterations first (issue and verify)")
    parser.add_argument("--verify-iterations", type=int, default=1_000, help="verifications timed")
    parser.add_argument("--rounds", type=int, default=4, help="ES256/RS256 rounds per algorithm")
    parser.add_argument("--per-round", type=int, default=100, help="signs and verifies per round")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--write", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    command = (
        f"python -m bench.documents --activities {args.activities} --goals {args.goals} "
        f"--iterations {args.iterations} --warmup {args.warmup} --verify-iterations {args.verify_iterations} "
        f"--rounds {args.rounds} --per-round {args.per_round}"
    )
    load_start = os.getloadavg()[0]
    bench = Bench.build(args.activities, args.goals)

    # Untimed: what the documents are, and why one may not be composed.
    first = {r.name: issue_document(bench, r, bench.signers["ES256"]) for r in RECIPIENTS}
    school = first["school welfare"].document
    if school is None:
        raise SystemExit(f"the school welfare's document is not issued: {first['school welfare'].failure}")
    unsigned = {key: value for key, value in school.items() if key != "signature"}
    plan = bench.pool[PLAN]
    youth = RECIPIENTS[0]
    youth_principals = recipient_principals(bench.policies.role, youth.organization, youth.oid, youth.sector, PURPOSE)
    youth_view = recipient_view(bench.pool, youth_principals, bench.policies, bench.facts)
    client_seen = "Patient/demo-client" in youth_view.resources
    shown_plan = next(e["resource"] for e in school["entry"] if e["fullUrl"].endswith(PLAN))
    youth_note = (
        f"The youth services' document is not composed: {first[youth.name].failure}. Their view keeps "
        f"{len(youth_view.resources)} resources but not Patient/demo-client (the demo consent shows them "
        "CarePlan, Goal and CareTeam), so no document can name whom it is about and the gateway refuses "
        f"it (403), as here ({sum(d.startswith(PLAN) for d in youth_view.dangling)} references of the plan "
        "name what they may not see); only the stages before the refusal are timed."
        if first[youth.name].failure and not client_seen
        else f"The youth services' document is not composed: {first[youth.name].failure}."
        if first[youth.name].failure
        else "The youth services' document is composed, checked and signed like the school welfare's."
    )
    sectors = Counter(
        next(e["valueCoding"]["code"] for e in a["extension"] if e["url"].endswith("activity-owning-sector"))
        for a in plan["activity"]
    )
    facts: dict[str, Any] = {
        "pool": len(bench.pool),
        "activities_by_sector": ", ".join(f"{n} {s}" for s, n in sorted(sectors.items())),
        "psy_activities": sectors["hospital-psychiatry"],
        "psy_goals": sum(bool(g.get("extension")) for g in plan["goal"]),
        "roles": {
            r.name: ", ".join(
                p.team_roles[0]
                for p in recipient_principals(bench.policies.role, r.organization, r.oid, r.sector, PURPOSE)
            )
            for r in RECIPIENTS
        },
        "entries": len(school["entry"]),
        "document_bytes": len(json.dumps(school, ensure_ascii=False).encode()),
        "canonical_bytes": len(canonical(school)),
        "signature_bytes": {
            alg: len(sign_bundle(unsigned, key, ISSUER, ISSUER_OID, NOW)["signature"]["data"])
            for alg, key in bench.signers.items()
        },
        "youth_note": youth_note,
        "psy_note": ("a PSY label appears in it" if '"PSY"' in json.dumps(school) else "no PSY label appears in it")
        + f" (its plan keeps {len(shown_plan['activity'])} of the {len(plan['activity'])} activities"
        + f" and {len(shown_plan['goal'])} of the {len(plan['goal'])} goals)",
    }

    gc.collect()
    issue = _measure_issue(bench, args.warmup, args.iterations)
    gc.collect()
    verify = _measure_verify(bench, school, args.warmup, args.verify_iterations)
    gc.collect()
    algorithms = _measure_algorithms(bench, unsigned, args.rounds, args.per_round)
    facts["load_start"], facts["load_end"] = load_start, os.getloadavg()[0]

    body = _render(command, args, facts, issue, verify, algorithms)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_as_json(command, facts, issue, verify, algorithms), indent=2) + "\n")
    if args.write:
        write_section("documents", body)
    print(body)


def _as_json(
    command: str,
    facts: Mapping[str, Any],
    issue: Mapping[str, _Series],
    verify: _Series,
    algorithms: Mapping[str, Mapping[str, _Series]],
) -> dict[str, Any]:
    def one(series: _Series, parts: Sequence[str]) -> dict[str, Any]:
        summary, cpu = series.summary(), series.cpu_summary()
        return {
            "whole_seconds": dataclasses.asdict(summary) if summary else None,
            "whole_cpu_seconds": dataclasses.asdict(cpu) if cpu else None,
            "parts_p50_seconds": {name: series.p50(name) for name in parts if name in series.parts},
            "failure": series.failure,
        }

    school = issue["school welfare"]
    return {
        "bench": "documents",
        "command": command,
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "facts": facts,
        "issue": {name: one(series, ISSUE_STAGES) for name, series in issue.items()},
        "verify": one(verify, VERIFY_STAGES),
        "algorithms": {
            alg: {what: one(series, ("canonical", "certificates", "jws", "copy")) for what, series in both.items()}
            for alg, both in algorithms.items()
        },
        "goals": {
            "issue_seconds": ISSUE_GOAL,
            "issue_verdict": _verdict(school.summary(), ISSUE_GOAL),
            "issue_verdict_cpu": _verdict(school.cpu_summary(), ISSUE_GOAL),
            "verify_seconds": VERIFY_GOAL,
            "verify_verdict": _verdict(verify.summary(), VERIFY_GOAL),
            "verify_verdict_cpu": _verdict(verify.cpu_summary(), VERIFY_GOAL),
        },
    }


if __name__ == "__main__":
    main()

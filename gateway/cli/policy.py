"""`yhteys policy`: check a rules file, and explain what it decides for a kind of caller.

    yhteys policy check [FILE]      validate FILE (default: the shipped rules.yaml)
    yhteys policy explain --role ROLE --sector SECTOR --interaction INTERACTION --type TYPE ...

`check` runs the gateway's own loader (`read_policy`), so a file it accepts is one the
gateway starts with. A fault is printed as `FILE:LINE: reason` (the line of the offending
key or item; for a missing key, of the mapping that lacks it) and exits 1.

`explain` runs the role policy alone (`RolePolicy.check`), not the consent decider or a token:
the request is the one `explain_request` builds. Exit codes: 0 PERMIT, 2 DENY, 1 bad input.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from auth.scopes import Scope, ScopeContext
from gateway.access.policy import RULES_PATH, Policy, PolicyError, RolePolicy, read_policy
from gateway.access.policy.model import RESOURCE_TYPES, SYSTEM_LEVEL
from gateway.access.seam import AccessDecision, AccessRequest, Basis, Effect, Reason, UnknownPatient
from gateway.fhir.codes import PERSONAL_WORKER, TEAM_ROLES, Interaction, PurposeOfUse, Sector
from gateway.fhir.labels import LABELS, Label

__all__ = ["BTG_PLACEHOLDER", "DENY_EXIT", "explain_request", "policy_app"]

policy_app = typer.Typer(help="The role policy (rules.yaml): check a file, explain a decision.", no_args_is_help=True)

DENY_EXIT = 2
"""The exit code of `explain` when the policy denies (0 permits, 1 is bad input)."""

BTG_PLACEHOLDER = "explained with yhteys policy explain"
"""The break-the-glass reason of an explained BTG request (the policy only asks that one is given)."""

_LANGUAGES = ("fi", "sv", "en")
_ROLES = tuple(sorted(TEAM_ROLES))
_SECTORS = tuple(Sector)
_INTERACTIONS = tuple(Interaction)
_TYPES = (*sorted(RESOURCE_TYPES), SYSTEM_LEVEL)
_PATIENT = UnknownPatient("explaining the policy, not a request about a client")

console = Console()


def explain_request(
    policy: Policy,
    *,
    sector: Sector,
    team_roles: tuple[str, ...],
    interaction: Interaction,
    resource_type: str | None,
    purpose: PurposeOfUse = PurposeOfUse.TREAT,
    labels: frozenset[Label] = frozenset(),
) -> AccessRequest:
    """The request a caller of `sector` holding `team_roles` would make for `interaction` on
    `resource_type` (None: system level), with scopes that cover it as far as `policy` lets
    any scope (`scope_letters`; operation, batch and transaction have no letter, so none
    does), an unknown patient, and a placeholder reason for BTG.

    For a write, `labels` are the labels the write touches; it touches no plan activity and
    changes no element but `activity`. `personal-worker` is kept if given: the request is
    explained as if the caller held that relation to the client.
    """
    letter = policy.scope_letters.get(interaction)
    scopes: tuple[Scope, ...] = ()
    if letter and resource_type is not None:
        scopes = (Scope(ScopeContext.SYSTEM, resource_type, letter),)
    btg = purpose is PurposeOfUse.BTG
    return AccessRequest(
        client_id="yhteys-policy-explain",
        organization="Organization/explained",
        sector=sector,
        practitioner_role="PractitionerRole/explained",
        team_roles=team_roles,
        scopes=scopes,
        purpose_of_use=purpose,
        btg_reason=BTG_PLACEHOLDER if btg else None,
        interaction=interaction,
        resource_type=resource_type,
        resource_id=None,
        patient=_PATIENT,
        labels=labels,
    )


@policy_app.command("check")
def check(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The rules file to check (default: the shipped rules.yaml).")
    ] = RULES_PATH,
) -> None:
    """Validate a rules file with the gateway's loader; on a fault print FILE:LINE: reason and exit 1."""
    policy = _read(file)
    permits = sum(1 for rule in policy.rules if rule.effect is Effect.PERMIT)
    console.print(
        f"OK: {len(policy.rules)} rules ({permits} permit, {len(policy.rules) - permits} deny) in {file}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@policy_app.command("explain")
def explain(
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="A team role of the caller (required; repeat for several). personal-worker is a relation to one "
            "client in real requests; here the caller is explained as if it held it.",
        ),
    ] = None,
    sector: Annotated[str | None, typer.Option(metavar="SECTOR", help="The caller's sector (required).")] = None,
    interaction: Annotated[
        str | None, typer.Option(metavar="INTERACTION", help="read, search, update, ... (required).")
    ] = None,
    resource_type: Annotated[
        str | None,
        typer.Option(
            "--type", metavar="TYPE", help=f"The resource type, or {SYSTEM_LEVEL!r} for system level (required)."
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            metavar="LABEL",
            help="A label the request involves: PSY, ETH, SOC or R (repeat for several); for a write, "
            "the labels the write touches.",
        ),
    ] = None,
    purpose: Annotated[
        str, typer.Option(metavar="PURPOSE", help="TREAT, CAREMGT or BTG (a placeholder reason is given).")
    ] = "TREAT",
    rules: Annotated[
        Path, typer.Option(metavar="FILE", help="The rules file (default: the shipped rules.yaml).")
    ] = RULES_PATH,
    lang: Annotated[str, typer.Option(metavar="LANG", help="The language of the reasons: fi, sv, en or all.")] = "all",
) -> None:
    """Explain the role policy's decision for a kind of caller: the effect, the labels hidden
    from it, whether a consent is also required, and each reason with its rule and texts.

    Scopes are taken to cover the interaction (this explains the policy, not a token), the
    patient is unknown, and a write touches no plan activity and no element but `activity`.

    Exit status: 0 PERMIT, 2 DENY, 1 bad input (an unknown or missing value, or a broken
    rules file). A command line the parser rejects (e.g. an unknown option) is also 2.
    """
    roles = tuple(_one_of("role", value, _ROLES) for value in role or ())
    if not roles:
        _fail(f"give at least one --role; one of: {', '.join(_ROLES)}")
    the_sector = Sector(_one_of("sector", _required("sector", sector, _SECTORS), _SECTORS))
    the_interaction = Interaction(
        _one_of("interaction", _required("interaction", interaction, _INTERACTIONS), _INTERACTIONS)
    )
    the_type = _one_of("type", _required("type", resource_type, _TYPES), _TYPES)
    labels = frozenset(LABELS[_one_of("label", value, tuple(LABELS))] for value in label or ())
    the_purpose = PurposeOfUse(_one_of("purpose", purpose, tuple(PurposeOfUse)))
    languages = _LANGUAGES if lang == "all" else (_one_of("lang", lang, (*_LANGUAGES, "all")),)
    policy = _read(rules)
    request = explain_request(
        policy,
        sector=the_sector,
        team_roles=roles,
        interaction=the_interaction,
        resource_type=None if the_type == SYSTEM_LEVEL else the_type,
        purpose=the_purpose,
        labels=labels,
    )
    decision = RolePolicy(policy).check(request)
    _print_decision(request, decision, languages)
    if decision.effect is not Effect.PERMIT:
        raise typer.Exit(DENY_EXIT)


def _print_decision(request: AccessRequest, decision: AccessDecision, languages: tuple[str, ...]) -> None:
    def say(text: str = "") -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    roles = ", ".join(request.team_roles)
    target = request.resource_type or SYSTEM_LEVEL
    involved = f", labels {_label_codes(request.labels)}" if request.labels else ""
    say(f"{roles} in {request.sector}: {request.interaction} {target}, purpose {request.purpose_of_use}{involved}")
    say(decision.effect.value.upper())
    say(f"hidden: {_hidden(decision)}")
    say(f"requires: {_requires(decision)}")
    if PERSONAL_WORKER in request.team_roles:
        say(f"note: {PERSONAL_WORKER} is explained as if the caller held that relation to the client")
    say("reasons:")
    for reason in decision.reasons:
        say(f"  {reason.code}  {reason.rule}")
        for language in languages:
            say(f"    {language}: {_text(reason, language)}")


def _hidden(decision: AccessDecision) -> str:
    if decision.effect is not Effect.PERMIT:
        return "n/a (denied: nothing is returned)"
    return _label_codes(decision.redactions.hidden) or "none"


def _requires(decision: AccessDecision) -> str:
    if decision.effect is not Effect.PERMIT:
        return "n/a"
    if Basis.CONSENT in decision.requires:
        return "consent (the permit holds only together with a consent naming the caller's organisation)"
    return "nothing else"


def _text(reason: Reason, language: str) -> str:
    return {"fi": reason.text_fi, "sv": reason.text_sv, "en": reason.text_en}[language]


def _label_codes(labels: frozenset[Label]) -> str:
    return ", ".join(code for code, label in LABELS.items() if label in labels)


def _read(file: Path) -> Policy:
    """The policy in `file`, or exit 1 printing FILE:LINE: reason."""
    try:
        return read_policy(file)
    except PolicyError as exc:
        where = f"{file}:{exc.line}" if exc.line is not None else f"{file}"
        console.print(f"{where}: {exc.reason}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _required(option: str, value: str | None, allowed: Sequence[str]) -> str:
    """`value`, or exit 1 asking for the option and listing `allowed`."""
    if value is None:
        _fail(f"give --{option}; one of: {', '.join(allowed)}")
    return value


def _one_of(option: str, value: str, allowed: Sequence[str]) -> str:
    """`value` if it is one of `allowed`, else exit 1 naming it and the allowed values."""
    if value not in allowed:
        _fail(f"unknown {option} {value!r}; one of: {', '.join(allowed)}")
    return value


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(1)

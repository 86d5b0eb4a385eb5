"""`yhteys policy check` on the shipped rules.yaml and broken copies; `yhteys policy explain` on demo callers.

Broken copies are the shipped text with one edit; the wanted line is found in the edited
text, so the cases hold however rules.yaml grows, and each is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.access.policy import RULES_PATH, Policy, read_policy
from gateway.access.seam import Effect, Reason
from gateway.cli.main import app

SHIPPED = RULES_PATH.read_text(encoding="utf-8")
POLICY = read_policy(RULES_PATH)


def _policy(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["policy", *args])
    return result.exit_code, result.output


def test_the_shipped_rules_check_ok() -> None:
    permits = sum(1 for rule in POLICY.rules if rule.effect is Effect.PERMIT)
    for args in ((), (str(RULES_PATH),)):
        code, output = _policy("check", *args)
        assert code == 0, output
        assert output == (
            f"OK: {len(POLICY.rules)} rules ({permits} permit, {len(POLICY.rules) - permits} deny) in {RULES_PATH}\n"
        )


@dataclass(frozen=True)
class Broken:
    name: str
    old: str  # a unique fragment of the shipped file
    new: str  # what it becomes
    at: str  # the wanted line is the first line holding this, at or after `after`, in the edited text
    want_reason: str
    after: str = ""


BROKEN = [
    Broken(
        "unknown sector in a rule",
        "    sectors: [third-sector]\n    roles: [third-sector-worker]\n    resource_types: [CarePlan, Goal, CareTeam]\n",
        "    sectors: [third-sector, ngo]\n    roles: [third-sector-worker]\n    resource_types: [CarePlan, Goal, CareTeam]\n",
        "sectors: [third-sector, ngo]",
        "rule https://yhteys.fi/fhir/policy/rule/third-sector-reads-plan: sectors: unknown codes ['ngo']",
    ),
    Broken(
        "a missing text.sv",
        "      sv: Ungdomsarbetaren får läsa planen, målen och teamet.\n",
        "",
        "    text:",
        "text: missing ['sv']",
        after="rule/youth-work-reads-plan\n",
    ),
    Broken(
        "a duplicate id",
        "rule/third-sector-reads-plan\n",
        "rule/youth-work-reads-plan\n",
        "rule/youth-work-reads-plan\n",
        "id https://yhteys.fi/fhir/policy/rule/youth-work-reads-plan is used twice",
        after="rule/youth-work-writes-own-activities\n",
    ),
    Broken(
        "a duplicate mapping key",
        "rule/housing-writes-own-activities\n    effect: permit\n",
        "rule/housing-writes-own-activities\n    effect: permit\n    roles: [nurse]\n",
        "    roles: [housing-counsellor]",
        "mapping key 'roles' is repeated",
        after="rule/housing-writes-own-activities\n",
    ),
    Broken(
        "bad YAML indentation",
        'rule/directory-read\n    effect: permit\n    sectors: "*"\n',
        'rule/directory-read\n    effect: permit\n      sectors: "*"\n',
        '      sectors: "*"',
        "cannot read the policy: mapping values are not allowed here",
    ),
    Broken(
        "an unknown top-level key",
        "\nversion: 1\n",
        "\nversion: 1\nenabled: true\n",
        "enabled: true",
        "the policy: unknown keys ['enabled']",
    ),
    Broken(
        "a missing key: the mapping that lacks it",
        "    roles: [housing-counsellor]\n    resource_types: [CarePlan]\n",
        "    resource_types: [CarePlan]\n",
        "  - id: https://yhteys.fi/fhir/policy/rule/housing-writes-own-activities",
        "missing ['roles']",
    ),
]


def _line(text: str, fragment: str, after: str) -> int:
    if after:
        assert text.count(after) == 1, after
    return text.count("\n", 0, text.index(fragment, text.index(after))) + 1


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.name)
def test_a_broken_copy_is_refused_at_its_line(case: Broken, tmp_path: Path) -> None:
    assert SHIPPED.count(case.old) == 1, case.old
    text = SHIPPED.replace(case.old, case.new)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    code, output = _policy("check", str(path))
    assert code == 1
    assert output.startswith(f"{path}:{_line(text, case.at, case.after)}: "), output
    assert case.want_reason in output


def test_an_absent_file_is_refused_without_a_line(tmp_path: Path) -> None:
    code, output = _policy("check", str(tmp_path / "absent.yaml"))
    assert code == 1
    assert output.startswith(f"{tmp_path / 'absent.yaml'}: cannot read the policy")


def _reason(policy: Policy, code: str) -> Reason:
    """The reason with `code` anywhere in `policy`."""
    checks: list[Reason] = [getattr(policy.checks, check.name) for check in fields(policy.checks)]
    reasons = [
        *(rule.reason for rule in policy.rules),
        policy.consent_required.reason,
        policy.break_the_glass.reason,
        *policy.hidden.values(),
        *checks,
    ]
    return next(reason for reason in reasons if reason.code == code)


YOUTH = ["--role", "youth-worker", "--sector", "municipal-youth-services"]
AUDITOR = ["--role", "auditor", "--sector", "social-welfare"]
CURATOR = ["--role", "school-curator", "--sector", "school-welfare"]
PSYCH_NURSE = ["--role", "psychiatric-nurse", "--sector", "hospital-psychiatry"]
READ_PLAN = ["--interaction", "read", "--type", "CarePlan"]


@dataclass(frozen=True)
class Explained:
    name: str
    args: list[str]
    want_code: int
    want_effect: str
    want_reasons: tuple[str, ...]
    want_hidden: str
    want_requires: str


EXPLAINED = [
    Explained(
        "youth worker reads the plan",
        [*YOUTH, *READ_PLAN],
        0,
        "PERMIT",
        ("youth-work-reads-plan", "consent-required-outside-county"),
        "PSY, ETH, SOC, R",
        "consent",
    ),
    Explained(
        "auditor reads the plan", [*AUDITOR, *READ_PLAN], 2, "DENY", ("auditor-no-clinical-access",), "n/a", "n/a"
    ),
    Explained(
        "curator updates a PSY part of the plan",
        [*CURATOR, "--interaction", "update", "--type", "CarePlan", "--label", "PSY"],
        2,
        "DENY",
        ("write-touches-hidden-label", "psy-hidden-by-default"),
        "n/a",
        "n/a",
    ),
    Explained(
        "psychiatric nurse breaks the glass",
        [*PSYCH_NURSE, *READ_PLAN, "--purpose", "BTG"],
        0,
        "PERMIT",
        ("psychiatry-reads-plan", "break-the-glass-read"),
        "none",
        "nothing else",
    ),
    Explained(
        "psychiatric nurse without BTG",
        [*PSYCH_NURSE, *READ_PLAN, "--purpose", "CAREMGT"],
        0,
        "PERMIT",
        ("psychiatry-reads-plan",),
        "SOC, R",
        "nothing else",
    ),
    Explained(
        "a personal worker updates a goal, as if holding the relation",
        ["--role", "adult-social-worker", "--role", "personal-worker", "--sector", "social-welfare"]
        + ["--interaction", "update", "--type", "Goal"],
        0,
        "PERMIT",
        ("personal-worker-updates-goals",),
        "PSY, ETH, R",
        "nothing else",
    ),
    Explained(
        "an operation on the plan is not the nurse's",
        [*PSYCH_NURSE, "--interaction", "operation", "--type", "CarePlan"],
        2,
        "DENY",
        ("no-rule-permits",),
        "n/a",
        "n/a",
    ),
    Explained(
        "capabilities at system level",
        [*AUDITOR, "--interaction", "capabilities", "--type", "system"],
        0,
        "PERMIT",
        ("capabilities-for-every-caller",),
        "PSY, ETH, SOC, R",
        "nothing else",
    ),
]


@pytest.mark.parametrize("case", EXPLAINED, ids=lambda case: case.name)
def test_explain_gives_the_effect_redactions_requirement_and_reasons(case: Explained) -> None:
    code, output = _policy("explain", *case.args)
    assert code == case.want_code, output
    lines = output.splitlines()
    assert lines[1] == case.want_effect
    assert lines[2].startswith(f"hidden: {case.want_hidden}")
    assert lines[3].startswith(f"requires: {case.want_requires}")
    cited = [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("    ")]
    assert tuple(cited) == case.want_reasons
    for code_ in case.want_reasons:
        reason = _reason(POLICY, code_)
        assert f"  {reason.code}  {reason.rule}" in lines
        assert {f"    fi: {reason.text_fi}", f"    sv: {reason.text_sv}", f"    en: {reason.text_en}"} <= set(lines)


def test_explain_in_one_language() -> None:
    code, output = _policy("explain", *YOUTH, *READ_PLAN, "--lang", "sv")
    assert code == 0
    assert f"    sv: {_reason(POLICY, 'youth-work-reads-plan').text_sv}" in output.splitlines()
    assert "    fi: " not in output and "    en: " not in output


def test_explain_says_the_personal_worker_is_assumed() -> None:
    code, output = _policy("explain", "--role", "personal-worker", "--sector", "housing", *READ_PLAN)
    assert code == 2
    assert "note: personal-worker is explained as if the caller held that relation" in output


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["--role", "curator", "--sector", "school-welfare", *READ_PLAN], "unknown role 'curator'; one of: "),
        (["--role", "nurse", "--sector", "hospital", *READ_PLAN], "unknown sector 'hospital'; one of: "),
        (["--role", "nurse", "--sector", "housing", "--interaction", "get", "--type", "Goal"], "interaction 'get'"),
        (["--role", "nurse", "--sector", "housing", "--interaction", "read", "--type", "Careplan"], "type 'Careplan'"),
        ([*YOUTH, *READ_PLAN, "--label", "HIV"], "unknown label 'HIV'; one of: PSY, ETH, SOC, R"),
        ([*YOUTH, *READ_PLAN, "--purpose", "ETREAT"], "unknown purpose 'ETREAT'; one of: TREAT, CAREMGT, BTG"),
        ([*YOUTH, *READ_PLAN, "--lang", "de"], "unknown lang 'de'; one of: fi, sv, en, all"),
        (["--sector", "housing", *READ_PLAN], "give at least one --role; one of: "),
        (["--role", "nurse", *READ_PLAN], "give --sector; one of: municipal-youth-services, "),
        (["--role", "nurse", "--sector", "housing", "--interaction", "read"], "give --type; one of: "),
    ],
)
def test_explain_refuses_bad_input_naming_it(args: list[str], want: str) -> None:
    code, output = _policy("explain", *args)
    assert code == 1
    assert want in output


def test_an_unknown_role_lists_the_allowed_ones() -> None:
    _, output = _policy("explain", "--role", "curator", "--sector", "school-welfare", *READ_PLAN)
    assert "school-curator" in output and "personal-worker" in output and "auditor" in output


def test_explain_with_a_broken_rules_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED.replace("\nversion: 1\n", "\nversion: 2\n"), encoding="utf-8")
    code, output = _policy("explain", *YOUTH, *READ_PLAN, "--rules", str(path))
    assert code == 1
    assert output.startswith(f"{path}:{_line(SHIPPED, 'version: 1', '')}: version: only version 1 is known")


def test_explain_reads_the_rules_file_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED.replace("    roles: [youth-worker]\n", "    roles: [youth-worker, nurse]\n", 1))
    code, output = _policy("explain", "--role", "nurse", "--sector", "municipal-youth-services", *READ_PLAN)
    assert code == 2 and "no-rule-permits" in output
    code, output = _policy(
        "explain", "--role", "nurse", "--sector", "municipal-youth-services", *READ_PLAN, "--rules", str(path)
    )
    assert code == 0 and "youth-work-reads-plan" in output


def test_explain_help_states_the_exit_codes() -> None:
    result = CliRunner().invoke(app, ["policy", "explain", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "0 PERMIT, 2 DENY, 1 bad input" in result.output

"""Only search parameters proven safe reach the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import BadRequest, UnsupportedParameter
from gateway.proxy.call import parse_call
from gateway.proxy.search import SearchRules, SearchRulesError, check_supported, load_search_rules

RULES = load_search_rules()
TYPES = frozenset({"CarePlan", "Goal", "Consent", "Patient", "CareTeam"})

ALLOWED = [
    ("GET", "CarePlan", "subject=Patient/demo-client&status=active&_count=10"),
    ("GET", "CarePlan", "patient=Patient/demo-client&_include=CarePlan:goal&_include=CarePlan:care-team"),
    ("GET", "Goal", "subject=Patient/demo-client&lifecycle-status:not=cancelled"),
    ("GET", "Consent", "patient=Patient/demo-client&status=active"),
    ("GET", "CarePlan/demo-plan", "_pretty=true&_format=json"),
    ("GET", "Patient", "identifier=urn:oid:1.2.246.21|140307A946S"),
    ("GET", "Patient", "_revinclude=CarePlan:subject"),
    ("GET", "CarePlan", "subject=Patient/demo-client&_sort=-date,status"),
    ("GET", "Goal", "_sort=-_lastUpdated"),
    ("GET", "Goal", "subject=Patient/demo-client&_lastUpdated=gt2026-01-01"),
    ("GET", "Goal/demo-goal-home/_history", "_count=5&_pretty=true"),
]

REFUSED = [
    ("GET", "Patient", "_has:CarePlan:subject:status=active", UnsupportedParameter),
    ("GET", "CarePlan", "subject.name=Aino", UnsupportedParameter),
    ("GET", "CarePlan", "subject:Patient.identifier=x", UnsupportedParameter),
    ("GET", "CarePlan", "_summary=count", UnsupportedParameter),
    ("GET", "CarePlan", "_total=accurate", UnsupportedParameter),
    ("GET", "CarePlan", "_elements=status", UnsupportedParameter),
    ("GET", "CarePlan", "_contained=true", UnsupportedParameter),
    ("GET", "CarePlan", "_filter=status eq active", UnsupportedParameter),
    ("GET", "CarePlan", "_include=CarePlan:activity-reference", UnsupportedParameter),
    ("GET", "CarePlan", "_include:iterate=CarePlan:goal", UnsupportedParameter),
    ("GET", "CarePlan", "_format=xml", UnsupportedParameter),
    ("GET", "CarePlan", "performer=PractitionerRole/x", UnsupportedParameter),  # not listed
    ("GET", "CarePlan", "status:above=active", UnsupportedParameter),
    ("GET", "CarePlan/demo-plan", "status=active", UnsupportedParameter),  # search params on a read
    ("GET", "CarePlan", "_sort=subject.name", UnsupportedParameter),  # a chain in the sort
    ("GET", "Goal", "_sort=-performer", UnsupportedParameter),  # not an allowed parameter
    ("GET", "Consent", "patient=Patient/demo-client", BadRequest),  # status required
    ("GET", "Consent", "status=active", BadRequest),  # patient required
    ("GET", "CarePlan", "goal:missing=true", UnsupportedParameter),  # would match on a hidden goal
    ("GET", "CarePlan", "goal:not=Goal/x", UnsupportedParameter),
    ("GET", "CarePlan", "_sort=goal", UnsupportedParameter),  # would order by a hidden goal
    # the store's time of a plan or a team counts edits to parts hidden from the caller
    ("GET", "CarePlan", "_lastUpdated=gt2026-01-01", UnsupportedParameter),
    ("GET", "CareTeam", "_sort=status,-_lastUpdated", UnsupportedParameter),
    ("GET", "CarePlan/demo-plan/_history", "_lastUpdated=gt2026-01-01", UnsupportedParameter),
    ("GET", "Goal/demo-goal-home/_history", "_sort=_id", UnsupportedParameter),  # a history is paged as it is
]


@pytest.mark.parametrize(("method", "path", "query"), ALLOWED)
def test_allowed(method: str, path: str, query: str) -> None:
    RULES.check(parse_call(method, path, query, TYPES))


@pytest.mark.parametrize(("method", "path", "query", "error"), REFUSED)
def test_refused(method: str, path: str, query: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        RULES.check(parse_call(method, path, query, TYPES))


def test_a_file_allowing_has_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "search.yaml"
    bad.write_text("version: 1\ncommon: [_count, _has]\ntypes: {}\n")
    with pytest.raises(SearchRulesError, match="never allowed"):
        load_search_rules(bad)


@pytest.mark.parametrize(
    "text",
    [
        "version: 2\n",
        "version: 1\nsurprise: []\n",
        "version: 1\ntypes: [a]\n",
        "version: 1\ncommon: [1]\n",
        "version: 1\ntypes: {Consent: [status]}\nrequired: {Consent: [patient]}\n",
        "{unclosed",
    ],
)
def test_malformed_files_stop_start_up(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "search.yaml"
    bad.write_text(text)
    with pytest.raises(SearchRulesError):
        load_search_rules(bad)


STATEMENT = {
    "resourceType": "CapabilityStatement",
    "rest": [
        {
            "mode": "server",
            "resource": [
                {
                    "type": "CarePlan",
                    "searchParam": [{"name": n} for n in ("_id", "subject", "condition")],
                    "searchInclude": ["CarePlan:condition"],
                    "searchRevInclude": ["Goal:subject"],
                },
                {"type": "Goal", "searchParam": [{"name": "_id"}, {"name": "subject"}]},
            ],
        }
    ],
}


def _rules(tmp_path: Path, text: str) -> SearchRules:
    path = tmp_path / "search.yaml"
    path.write_text("version: 1\ncommon: [_id, _count, _sort]\n" + text)
    return load_search_rules(path)


def test_rules_naming_only_declared_names_pass(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        "types: {CarePlan: [subject, condition], Goal: [subject]}\n"
        "include: ['CarePlan:condition']\nrevinclude: ['Goal:subject']\n",
    )
    check_supported(rules, STATEMENT)  # raises on any unknown name


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("types: {CarePlan: [addresses]}\n", "CarePlan search parameter addresses"),
        ("types: {CarePlan: [subject]}\ninclude: ['CarePlan:addresses']\n", "_include=CarePlan:addresses"),
        ("types: {Goal: [subject]}\ninclude: ['Goal:condition']\n", "_include=Goal:condition"),
        ("types: {}\nrevinclude: ['CareTeam:subject']\n", "_revinclude=CareTeam:subject"),
        ("types: {Consent: [patient]}\n", "resource type Consent"),
    ],
)
def test_a_name_the_store_does_not_declare_stops_start_up(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(SearchRulesError, match=named):
        check_supported(_rules(tmp_path, text), STATEMENT)


def test_a_common_parameter_must_be_declared_by_every_type(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "types: {Goal: [subject]}\n")
    statement = {"rest": [{"resource": [{"type": "Goal", "searchParam": [{"name": "subject"}]}]}]}
    with pytest.raises(SearchRulesError, match="Goal search parameter _id"):
        check_supported(rules, statement)


def test_a_statement_without_resources_fails_every_name(tmp_path: Path) -> None:
    with pytest.raises(SearchRulesError, match="resource type Goal"):
        check_supported(_rules(tmp_path, "types: {Goal: [subject]}\n"), {"resourceType": "CapabilityStatement"})


def test_team_participants_are_not_searchable_nor_included() -> None:
    # a search or include by participant would tell who is on the team, labelled participants too
    assert "participant" not in RULES.types["CareTeam"]
    assert not any(name.startswith("CareTeam:participant") for name in RULES.include)


def test_a_search_by_a_labelled_reference_matches_only_what_the_caller_sees() -> None:
    call = parse_call("GET", "CarePlan", "goal=Goal/g1,g2&status=active", TYPES)
    terms = RULES.terms(call)
    assert terms == (("goal", "Goal/g1,g2"),)  # status searches no labelled part
    assert RULES.view_matches("CarePlan", terms, {"goal": [{"reference": "Goal/g2"}]})  # a bare id matches
    assert RULES.view_matches("CarePlan", terms, {"goal": [{"reference": "https://x.example/fhir/Goal/g1"}]})
    assert not RULES.view_matches("CarePlan", terms, {"goal": [{"reference": "Goal/g3"}]})
    assert not RULES.view_matches("CarePlan", terms, {"status": "active"})  # the goal was redacted
    assert not RULES.view_matches("CarePlan", terms, {"goal": [{"reference": "Condition/g1"}]})
    assert RULES.view_matches("CarePlan", (), {"status": "active"})  # no terms: nothing to check


def test_labelled_parameters_must_be_allowed_ones(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\ntypes: {CarePlan: [status]}\nlabelled: {CarePlan: {goal: goal}}\n")
    with pytest.raises(SearchRulesError, match="labelled CarePlan.goal"):
        load_search_rules(bad)

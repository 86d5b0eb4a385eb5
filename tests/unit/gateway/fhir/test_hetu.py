"""The henkilötunnus check: the demo code, each kind of error, and properties over all dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.fhir.hetu import HetuError, hetu_check_character, parse_hetu

_SIGNS = {1800: "+", 1900: "-Y X W V U".replace(" ", ""), 2000: "ABCDEF"}
_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def test_the_demo_clients_code_is_valid_and_temporary() -> None:
    hetu = parse_hetu(" 140307A946S ")
    assert (hetu.code, hetu.birth_date, hetu.individual, hetu.temporary) == (
        "140307A946S",
        date(2007, 3, 14),
        946,
        True,
    )


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("140307A946T", "check character"),  # one off
        ("140307G946S", "DDMMYY"),  # no such century sign
        ("310207A946S", "not a date"),  # 31 February
        ("140307A001X", "individual number"),
        ("140307A946", "DDMMYY"),
        ("140307a946s", "DDMMYY"),  # lower case is not the code
        ("１40307A946S", "DDMMYY"),  # a full-width digit
        ("", "DDMMYY"),
    ],
)
def test_a_wrong_code_says_what_is_wrong_without_repeating_it(code: str, why: str) -> None:
    with pytest.raises(HetuError) as refused:
        parse_hetu(code)
    assert why in str(refused.value) and (not code.strip() or code.strip() not in str(refused.value))


@given(
    born=st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    individual=st.integers(min_value=2, max_value=999),
    sign_index=st.integers(min_value=0, max_value=5),
)
def test_every_date_sign_and_number_makes_a_code_that_parses_back(born: date, individual: int, sign_index: int) -> None:
    signs = _SIGNS[born.year // 100 * 100]
    digits = f"{born:%d%m%y}{individual:03d}"
    code = f"{born:%d%m%y}{signs[sign_index % len(signs)]}{individual:03d}{_CHECK[int(digits) % 31]}"
    hetu = parse_hetu(code)
    assert (hetu.birth_date, hetu.individual) == (born, individual)
    for wrong in set(_CHECK) - {code[-1]}:  # every other check character is refused
        with pytest.raises(HetuError):
            parse_hetu(code[:-1] + wrong)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_the_check_character_is_the_digits_modulo_31(digits: str) -> None:
    assert hetu_check_character(digits) == _CHECK[int(digits) % 31]

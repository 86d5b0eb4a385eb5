"""The Finnish personal identity code (henkilötunnus), checked as the profiles check it; pure.

A henkilötunnus is `DDMMYY C NNN Q`: the date of birth, a century sign (`+` 1800s; `-` and,
since 2023, `Y X W V U` 1900s; `A` and `B C D E F` 2000s), an individual number (002–899
issued, 900–999 temporary and test codes) and a check character: the nine digits `DDMMYYNNN`
modulo 31, indexed into `0123456789ABCDEFHJKLMNPRSTUVWXY`. `parse_hetu(text)` answers the
code's parts or raises `HetuError` saying what is wrong; `hetu_check_character(digits)` is the
check character of nine digits. The FHIR store's invariant (yht-hetu-1 in `profiles/`) checks
the same character; the source-system mappings check it before they write anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["Hetu", "HetuError", "hetu_check_character", "parse_hetu"]

_CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_CENTURIES = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900}
_CENTURIES |= {sign: 2000 for sign in "ABCDEF"}
_SHAPE = re.compile(r"(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])", re.ASCII)


class HetuError(ValueError):
    """Not a valid henkilötunnus; the message says why, without repeating the code."""


@dataclass(frozen=True)
class Hetu:
    """A checked henkilötunnus: the code as written, the date of birth, the individual number."""

    code: str
    birth_date: date
    individual: int

    @property
    def temporary(self) -> bool:
        """A temporary or test code (individual number 900–999)."""
        return self.individual >= 900


def hetu_check_character(digits: str) -> str:
    """The check character of the nine digits `DDMMYYNNN`."""
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        raise HetuError("the check character is computed from nine digits")
    return _CHECK_CHARACTERS[int(digits) % 31]


def parse_hetu(text: str) -> Hetu:
    """`text` as a henkilötunnus (surrounding spaces ignored); `HetuError` if it is not one."""
    code = text.strip()
    match = _SHAPE.fullmatch(code)
    if match is None:
        raise HetuError("a henkilötunnus is DDMMYY, a century sign, three digits and a check character")
    day, month, year, sign, individual, check = match.groups()
    try:
        born = date(_CENTURIES[sign] + int(year), int(month), int(day))
    except ValueError:
        raise HetuError("the date of birth in the henkilötunnus is not a date") from None
    if int(individual) < 2:
        raise HetuError("the individual number of a henkilötunnus is 002–999")
    expected = hetu_check_character(f"{day}{month}{year}{individual}")
    if check != expected:
        raise HetuError("the check character of the henkilötunnus is wrong")
    return Hetu(code, born, int(individual))

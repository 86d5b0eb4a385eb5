"""Reading the school system's semicolon-separated export: encodings, headers, broken rows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.tables import TableError, decode, read_table

COLUMNS = {"hetu": ["Oppilaan henkilötunnus", "Elevens personbeteckning"], "school": ["Koulu", "Skola"]}
TEXT = 'Oppilaan henkilötunnus;Koulu;Muuta\n140307A946S;"Ylöjärven yhtenäiskoulu; lukio";x\n\n150308A9476;Åbo skola;y\n'


@pytest.mark.parametrize("encoded", [TEXT.encode(), b"\xef\xbb\xbf" + TEXT.encode(), TEXT.encode("latin-1")])
def test_utf8_with_or_without_bom_and_latin1_read_alike(encoded: bytes) -> None:
    rows = read_table(encoded, COLUMNS)
    assert [(r.line, dict(r.values)) for r in rows] == [
        (2, {"hetu": "140307A946S", "school": "Ylöjärven yhtenäiskoulu; lukio"}),
        (4, {"hetu": "150308A9476", "school": "Åbo skola"}),
    ]


def test_headers_compare_without_case_or_spacing_and_in_swedish() -> None:
    rows = read_table("  ELEVENS   personbeteckning ;skola\n140307A946S;Åbo\n".encode(), COLUMNS)
    assert dict(rows[0].values) == {"hetu": "140307A946S", "school": "Åbo"}


def test_a_missing_column_or_no_header_refuses_the_export() -> None:
    with pytest.raises(TableError, match="'Koulu'"):
        read_table(b"Oppilaan henkil\xc3\xb6tunnus;Luokka\n1;2\n", COLUMNS)
    with pytest.raises(TableError, match="no header"):
        read_table(b"\n \n", COLUMNS)


def test_a_row_with_the_wrong_number_of_fields_is_rejected_not_guessed() -> None:
    rows = read_table("Oppilaan henkilötunnus;Koulu\n140307A946S\n140307A946S;Koulu;ylimääräinen\n".encode(), COLUMNS)
    assert [(r.line, r.problem) for r in rows] == [
        (2, "the row has 1 fields, the header 2"),
        (3, "the row has 3 fields, the header 2"),
    ]


@given(st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\x00")))
def test_latin1_text_decodes_to_itself(text: str) -> None:
    decoded, encoding = decode(text.encode("latin-1"))
    assert decoded == text or (encoding == "utf-8" and decoded == text.encode("latin-1").decode("utf-8"))


@given(st.text())
def test_utf8_text_decodes_to_itself(text: str) -> None:
    assert decode(text.encode("utf-8"))[0] == text
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")

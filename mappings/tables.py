"""Semicolon-separated exports as the source systems write them: decoded, split, headed.

Student administration systems export CSV with `;` between fields, a header row of Finnish
column names, in UTF-8 with or without a byte order mark or in Latin-1 (ISO 8859-1).
`decode(data)` picks the encoding: a UTF-8 BOM means UTF-8; otherwise the bytes are UTF-8 if
they decode as such (Latin-1 text with ä, ö or å practically never does), else Latin-1, which
decodes any byte. `read_table(data, columns)` answers the rows as `TableRow`s keyed by the
names of `columns` (each a column's wanted name and the headers it may appear under, compared
without case, surrounding space or repeated inner space), with the line each row began on; a
header missing from the file is `TableError` naming it, and a row with the wrong number of
fields is a `TableRow` with `problem` set (it is rejected, not guessed at). Blank lines are
skipped. Columns the mapping does not name are ignored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["TableError", "TableRow", "decode", "read_table"]

_BOM = b"\xef\xbb\xbf"


class TableError(ValueError):
    """The export as a whole cannot be read (no header row, a wanted column missing)."""


@dataclass(frozen=True)
class TableRow:
    """One data row: its fields by wanted column name, the line it began on, and what is wrong
    with it as a row (None: nothing)."""

    line: int
    values: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None


def decode(data: bytes) -> tuple[str, str]:
    """`data` as text, and the encoding it was read in (`utf-8-sig`, `utf-8` or `latin-1`)."""
    if data.startswith(_BOM):
        return data[len(_BOM) :].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def read_table(
    data: bytes, columns: Mapping[str, Sequence[str]], optional: frozenset[str] = frozenset()
) -> list[TableRow]:
    """The rows of the export `data`; see the module doc. A column named in `optional` may be
    missing from the export: its rows then have no value for it."""
    text, _ = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"', strict=False)
    header: list[str] | None = None
    rows: list[TableRow] = []
    for fields in reader:
        line = reader.line_num
        if not any(value.strip() for value in fields):
            continue
        if header is None:
            header = [_folded(name) for name in fields]
            where = _positions(header, columns, optional)
            continue
        if len(fields) != len(header):
            rows.append(TableRow(line, problem=f"the row has {len(fields)} fields, the header {len(header)}"))
            continue
        rows.append(TableRow(line, {name: fields[index].strip() for name, index in where.items()}))
    if header is None:
        raise TableError("the export has no header row")
    return rows


def _positions(header: list[str], columns: Mapping[str, Sequence[str]], optional: frozenset[str]) -> dict[str, int]:
    """The position of each wanted column in `header`; `TableError` naming those missing (but
    the optional ones)."""
    where: dict[str, int] = {}
    missing = []
    for name, headings in columns.items():
        found = [header.index(h) for h in (_folded(heading) for heading in headings) if h in header]
        if found:
            where[name] = found[0]
        elif name not in optional:
            missing.append(f"{headings[0]!r}")
    if missing:
        raise TableError(f"the export has no column {', '.join(missing)}")
    return where


def _folded(heading: str) -> str:
    return " ".join(heading.split()).casefold()

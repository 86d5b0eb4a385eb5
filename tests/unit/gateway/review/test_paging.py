"""Page windows and their links: positions X–Y of N, and links that replace the page keys and keep
every other parameter."""

from __future__ import annotations

from urllib.parse import parse_qsl

from gateway.review.paging import EMPTY, Window, linked

PARAMS = [("patient", "Patient/demo-client"), ("date", "ge2026-11-01"), ("date", "le2026-11-30"), ("_offset", "5")]


def test_a_window_says_where_its_page_lies() -> None:
    middle = Window(first=250, last=151, shown=100, newer=40, older=7)
    assert (middle.start, middle.end, middle.total) == (41, 140, 147)
    assert (EMPTY.start, EMPTY.end, EMPTY.total) == (0, 0, 0)


def test_links_name_the_page_by_key_and_keep_the_filters() -> None:
    middle = Window(first=250, last=151, shown=100, newer=40, older=7)
    older, newer = middle.next_query(PARAMS), middle.previous_query(PARAMS)
    assert older is not None and newer is not None
    assert parse_qsl(older[1:]) == [*PARAMS[:3], ("_before", "151")]  # both date bounds kept, no offset
    assert parse_qsl(newer[1:]) == [*PARAMS[:3], ("_after", "250")]
    assert parse_qsl(Window(9, 5, 5, 0, 1).next_query([("_after", "3"), ("lang", "sv")])[1:]) == [  # type: ignore[index]
        ("lang", "sv"),
        ("_before", "5"),
    ]


def test_the_first_and_the_last_page_link_only_inwards() -> None:
    assert Window(300, 201, 100, 0, 200).previous_query(PARAMS) is None
    assert Window(100, 1, 100, 200, 0).next_query(PARAMS) is None
    assert EMPTY.next_query(PARAMS) is None and EMPTY.previous_query(PARAMS) is None


def test_linked_replaces_drops_and_escapes() -> None:
    assert linked([("lang", "fi"), ("_format", "html")], {"lang": "sv"}) == "?_format=html&lang=sv"
    assert linked([("a", "1"), ("a", "2"), ("b", "x y&z")], {"a": None}) == "?b=x+y%26z"
    assert linked([], {}) == "?"

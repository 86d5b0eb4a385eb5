"""Helsinki time: instants shown across the change to and from summer time, and a local day's
bounds as the trail stores `recorded`, 23 hours long in March and 25 in October."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.review.helsinki import day_bounds, local_time


@pytest.mark.parametrize(
    ("recorded", "en", "fi"),
    [
        ("2026-03-29T00:59:59.000000+00:00", "2026-03-29 02:59:59", "29.3.2026 klo 02.59.59"),  # EET, last second
        ("2026-03-29T01:00:00.000000+00:00", "2026-03-29 04:00:00", "29.3.2026 klo 04.00.00"),  # EEST: 03 skipped
        ("2026-10-25T00:59:59.000000+00:00", "2026-10-25 03:59:59", "25.10.2026 klo 03.59.59"),  # EEST, last second
        ("2026-10-25T01:00:00.000000+00:00", "2026-10-25 03:00:00", "25.10.2026 klo 03.00.00"),  # EET: 03 again
        ("2026-11-22T12:01:00", "2026-11-22 14:01:00", "22.11.2026 klo 14.01.00"),  # no offset: UTC
    ],
)
def test_instants_are_shown_in_helsinki_time_across_summer_time(recorded: str, en: str, fi: str) -> None:
    assert local_time(recorded, "en") == en
    assert local_time(recorded, "fi") == fi
    assert local_time(recorded, "sv") == fi.replace("klo", "kl.")


def test_text_that_is_no_instant_is_shown_as_it_is() -> None:
    assert local_time("yesterday", "fi") == "yesterday"


@pytest.mark.parametrize(
    ("day", "first", "last", "hours"),
    [
        (date(2026, 11, 30), "2026-11-29T22:00:00.000000+00:00", "2026-11-30T21:59:59.999999+00:00", 24),
        (date(2026, 7, 1), "2026-06-30T21:00:00.000000+00:00", "2026-07-01T20:59:59.999999+00:00", 24),
        (date(2026, 3, 29), "2026-03-28T22:00:00.000000+00:00", "2026-03-29T20:59:59.999999+00:00", 23),
        (date(2026, 10, 25), "2026-10-24T21:00:00.000000+00:00", "2026-10-25T21:59:59.999999+00:00", 25),
    ],
)
def test_a_local_day_is_bounded_by_its_first_and_last_instant(day: date, first: str, last: str, hours: int) -> None:
    assert day_bounds(day) == (first, last)
    length = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    assert round(length.total_seconds() / 3600) == hours
    recorded = datetime(2026, 10, 25, 21, 30, tzinfo=UTC).isoformat(timespec="microseconds")  # 23.30 EET, the 25th
    assert (first <= recorded <= last) is (day == date(2026, 10, 25))  # the bounds compare as stored text

"""Helsinki time on the audit pages: a recorded instant shown, and a local day as stored instants.

`HELSINKI` is Europe/Helsinki (EET, UTC+2; EEST, UTC+3, from the last Sunday of March to the last
Sunday of October). `local_time(recorded, lang)` shows a recorded instant in Helsinki time, as
people write it in `lang`. `day_bounds(day)` answers the first and the last instant of the local
day `day` in the form the trail stores `recorded` (ISO 8601 in UTC with microseconds, fixed
width, so they compare as text): a filter from the first to the last takes the whole day, 23
hours long in March and 25 in October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["HELSINKI", "day_bounds", "local_time"]

HELSINKI = ZoneInfo("Europe/Helsinki")


def local_time(recorded: str, lang: str) -> str:
    """`recorded` (ISO 8601; UTC if it names no offset) in Helsinki time: "2026-11-22 14:01:00" in
    English, "22.11.2026 klo 14.01.00" in Finnish, "22.11.2026 kl. 14.01.00" in Swedish; text that
    is no instant is shown as it is."""
    try:
        moment = datetime.fromisoformat(recorded)
    except ValueError:
        return recorded
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(HELSINKI)
    if lang == "en":
        return f"{local:%Y-%m-%d %H:%M:%S}"
    return f"{local.day}.{local.month}.{local.year} {'klo' if lang == 'fi' else 'kl.'} {local:%H.%M.%S}"


def day_bounds(day: date) -> tuple[str, str]:
    """The first and the last instant (to the microsecond) of the Helsinki day `day`, as stored."""
    start = datetime.combine(day, time(), HELSINKI).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), HELSINKI).astimezone(UTC) - timedelta(microseconds=1)
    return start.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds")

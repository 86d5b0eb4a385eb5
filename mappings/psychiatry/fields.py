"""HL7 v2.5 field values and their FHIR counterparts, both ways: times, coded elements, instance ids.

Pure functions over hl7apy elements (reading) and strings (writing), used by the inbound
messages (`mappings.psychiatry.careplan`) and the outbound ones (`mappings.psychiatry.outbound`),
so that what one writes the other reads back to the same FHIR value.

- `fhir_date(ts)` and `fhir_datetime(ts)`: an HL7 TS (`YYYY[MM[DD[HHMM[SS]]]][±ZZZZ]`) as a FHIR
  date or dateTime; a time without an offset is Helsinki time. `hl7_ts(value)` is the way back.
  `FieldError` when a value is no TS.
- `text_of(element)`: the value of a field or component as text, its escape sequences resolved.
- `coded(ce)`: a CE as (code, text, coding system) of its first three components.
- Instance ids (PRB-4, GOL-4) and people (ROL-4's XCN) are keyed by `Key`: `instance_key(ei,
  namespace_base)` reads an EI (EI.3 with EI.4 `ISO` is an OID; EI.2 alone a namespace of the
  sending system, named under `namespace_base`; EI.2 `YHTEYS` names a resource of the shared
  plan by its id, as our own exports write it); `ei_of(identifier, id, namespace_base)` writes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mappings.psychiatry.ack import escape, unescape

__all__ = [
    "SHARED_NAMESPACE",
    "FieldError",
    "Key",
    "coded",
    "ei_of",
    "fhir_date",
    "fhir_datetime",
    "hl7_ts",
    "instance_key",
    "text_of",
]

SHARED_NAMESPACE = "YHTEYS"
"""EI.2 (or HD.1) naming the shared plan service: EI.1 is then a resource id of ours."""
HELSINKI = ZoneInfo("Europe/Helsinki")
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})(\d{2})?(?:\.\d{1,4})?)?([+-]\d{4})?")
_FHIR_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?([+-]\d{2}:\d{2}|Z)?)?)?)?"
)


class FieldError(ValueError):
    """A field's value cannot be read as its datatype; the message says what it is."""


@dataclass(frozen=True)
class Key:
    """An instance id as FHIR keys it: an identifier (`system`, `value`), or, with `system`
    empty, the id of a resource of the shared plan itself (`value`)."""

    system: str
    value: str

    @property
    def shared(self) -> bool:
        """True if the key names a resource of the shared plan by its id."""
        return not self.system


def text_of(element: Any) -> str:
    """A field's or component's value as text, HL7 escapes resolved ("" if not valued)."""
    return unescape(element.to_er7()) if element is not None else ""


def coded(ce: Any) -> tuple[str, str, str]:
    """A CE's identifier, text and name of coding system (CE.1, CE.2, CE.3), unescaped."""
    return text_of(ce.ce_1), text_of(ce.ce_2), text_of(ce.ce_3)


def fhir_date(ts: str) -> str:
    """The date of an HL7 TS as FHIR writes it (`2026`, `2026-09` or `2026-09-01`)."""
    year, month, day, *_ = _parts(ts)
    return "-".join(part for part in (year, month, day) if part)


def fhir_datetime(ts: str) -> str:
    """An HL7 TS as a FHIR dateTime: a date if it has no time, else with its offset (or Helsinki's)."""
    year, month, day, hour, minute, second, offset = _parts(ts)
    if not hour:
        return fhir_date(ts)
    if not (month and day):
        raise FieldError(f"{ts!r} has a time but no whole date")
    naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    if offset:
        return f"{naive.isoformat()}{offset[:3]}:{offset[3:]}"
    return naive.replace(tzinfo=HELSINKI).isoformat()


def hl7_ts(value: str) -> str:
    """A FHIR date or dateTime as an HL7 TS (`20260901`, `20261203101500+0200`)."""
    match = _FHIR_DATETIME.fullmatch(value)
    if match is None:
        raise FieldError(f"{value!r} is no FHIR date or dateTime")
    year, month, day, hour, minute, second, offset = match.groups()
    text = "".join(part for part in (year, month, day, hour, minute, second or ("00" if hour else None)) if part)
    if offset:
        text += "+0000" if offset == "Z" else offset.replace(":", "")
    return text


def _parts(ts: str) -> tuple[str, ...]:
    match = _TS.fullmatch(ts.strip())
    if match is None:
        raise FieldError(f"{ts!r} is no HL7 date/time (YYYYMMDD[HHMM[SS]][+ZZZZ])")
    year, month, day, hour, minute, second, offset = (part or "" for part in match.groups())
    try:
        datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise FieldError(f"{ts!r} is no date that exists") from None
    return year, month, day, hour, minute, second, offset


def instance_key(ei: Any, namespace_base: str) -> Key:
    """The key of an EI (see the module doc); `FieldError` if it names no entity or namespace."""
    entity, namespace, universal, kind = (text_of(part) for part in (ei.ei_1, ei.ei_2, ei.ei_3, ei.ei_4))
    if not entity:
        raise FieldError("the instance id has no entity identifier (EI.1)")
    if namespace == SHARED_NAMESPACE:
        return Key("", entity)
    if universal and kind == "ISO":
        return Key(f"urn:oid:{universal}", entity)
    if namespace and re.fullmatch(r"[A-Za-z0-9._-]{1,40}", namespace):
        return Key(f"{namespace_base}/{namespace}", entity)
    raise FieldError("the instance id names no namespace (EI.2) or ISO universal id (EI.3, EI.4)")


def ei_of(identifier: dict[str, Any] | None, resource_id: str, namespace_base: str) -> str:
    """The EI (components joined by `^`, escaped) of a resource keyed by `identifier` if the
    sending system gave it one, else by its shared plan id."""
    if identifier:
        system, value = str(identifier.get("system", "")), escape(str(identifier.get("value", "")))
        if system.startswith("urn:oid:"):
            return f"{value}^^{system.removeprefix('urn:oid:')}^ISO"
        if system.startswith(f"{namespace_base}/"):
            return f"{value}^{system.removeprefix(f'{namespace_base}/')}"
    return f"{escape(resource_id)}^{SHARED_NAMESPACE}"

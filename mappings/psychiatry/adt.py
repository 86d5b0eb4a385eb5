"""ADT^A04 and ADT^A08 from the psychiatry EHR: the client identified in the shared plan service.

`PatientMessages(client).handle(text)` is the MLLP listener's handler (`mappings.psychiatry.mllp`)
for patient administration messages. The population register owns the client's name and
address, so an ADT message changes nothing in the store; it identifies the client the EHR's
next messages are about. The message is parsed and validated strictly (hl7apy, HL7 v2.5);
PID-3's repetition with assigning authority 1.2.246.21 and identifier type NNFIN is the
henkilötunnus (spec `mappings/specs/psychiatry-hl7v2.yaml`), its check character checked; the
client is looked up through the gateway as the EHR's system; PID-7, if given, must agree with
the date of birth in the henkilötunnus. The answer:
- AA, naming the client (`Patient/<id>`), when the client is known;
- AE with an ERR saying what is wrong (101 PID-3 missing, 102 a wrong check character or a
  birth date that disagrees, 204 no such client or more than one), nothing changed;
- AR (200) for a message type other than ADT^A04/A08, and (102) for a message that does not
  parse or validate as HL7 v2.5.
"""

from __future__ import annotations

from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from gateway.fhir.hetu import HetuError, parse_hetu
from gateway.fhir.systems import HETU_SYSTEM
from mappings.client import GatewayClient
from mappings.psychiatry.ack import AckCode, Acknowledgement, ErrorCode, ErrorLocation, Problem

__all__ = ["PatientMessages", "identify", "parse_strict", "refuse"]

_EVENTS = frozenset({"A04", "A08"})
_HETU_OID = HETU_SYSTEM.removeprefix("urn:oid:")
_PID_3 = ErrorLocation("PID", 1, 3)
_PID_7 = ErrorLocation("PID", 1, 7)


class PatientMessages:
    """The handler of ADT^A04/A08 messages, asking the gateway through `client`."""

    def __init__(self, client: GatewayClient) -> None:
        self._client = client

    async def handle(self, text: str) -> Acknowledgement:
        """The acknowledgement of one ADT message; see the module doc."""
        message = parse_strict(text)
        if isinstance(message, Acknowledgement):
            return message
        return await self.handle_parsed(message)

    async def handle_parsed(self, message: Any) -> Acknowledgement:
        """The acknowledgement of one ADT message already parsed by `parse_strict`."""
        kind = message.msh.msh_9
        code, event = kind.msg_1.to_er7(), kind.msg_2.to_er7()
        if code != "ADT" or event not in _EVENTS:
            return refuse(
                ErrorCode.UNSUPPORTED_MESSAGE_TYPE, f"{code}^{event} is not taken here: send ADT^A04 or ADT^A08"
            )
        found = await identify(self._client, message)
        if isinstance(found, Acknowledgement):
            return found
        return Acknowledgement(AckCode.AA, f"client known as {found}")


def parse_strict(text: str) -> Any:
    """`text` parsed and validated as HL7 v2.5 (hl7apy, strict, groups found), or the AR that
    refuses it: 102 when it is not valid, 100 when its segments are out of order."""
    try:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        message.validate()
    except (HL7apyException, ValueError, KeyError, IndexError) as exc:
        return refuse(ErrorCode.DATA_TYPE_ERROR, f"the message is not valid HL7 v2.5: {str(exc)[:200]}")
    misplaced = _out_of_order(message)
    if misplaced:
        return refuse(ErrorCode.SEGMENT_SEQUENCE_ERROR, f"segments out of order: {misplaced}")
    return message


def _out_of_order(element: Any) -> str:
    """The first child of a message or group that comes before one it must follow ("" if none).

    hl7apy's validation counts a structure's segments and groups but does not check their order."""
    order = [entry[0] for entry in element.reference[1]]
    last = -1
    for child in element.children:
        place = order.index(child.name) if child.name in order else len(order)
        if place < last:
            return f"{child.name} after {order[last]}"
        last = place
        if child.classname == "Group":
            inner = _out_of_order(child)
            if inner:
                return inner
    return ""


async def identify(client: GatewayClient, message: Any) -> str | Acknowledgement:
    """The client a parsed message's PID names (`Patient/<id>`), found through `client`; or the
    AE that says why not (see the module doc)."""
    hetu = _hetu(message)
    if hetu is None:
        return _error(ErrorCode.REQUIRED_FIELD_MISSING, "PID-3 has no henkilötunnus (1.2.246.21, NNFIN)", _PID_3)
    try:
        identity = parse_hetu(hetu)
    except HetuError as exc:
        return _error(ErrorCode.DATA_TYPE_ERROR, f"PID-3: {exc}", _PID_3)
    born = message.pid.pid_7.to_er7()[:8] if message.pid.pid_7 else ""
    if born and born != identity.birth_date.strftime("%Y%m%d"):
        return _error(ErrorCode.DATA_TYPE_ERROR, "PID-7 does not agree with the henkilötunnus's date of birth", _PID_7)
    answer = await client.request("GET", "Patient", params=[("identifier", f"{HETU_SYSTEM}|{identity.code}")])
    if answer.status_code != 200:
        problem = Problem(
            ErrorCode.APPLICATION_INTERNAL_ERROR, f"the client could not be looked up ({answer.status_code})"
        )
        return Acknowledgement(AckCode.AE, problem.text, (problem,))
    found = [
        e["resource"] for e in answer.json().get("entry", []) if e.get("resource", {}).get("resourceType") == "Patient"
    ]
    if len(found) != 1:
        which = "no client" if not found else "more than one client"
        return _error(
            ErrorCode.UNKNOWN_KEY_IDENTIFIER, f"{which} with this henkilötunnus in the shared plan service", _PID_3
        )
    stored = found[0].get("birthDate")
    if stored and stored != identity.birth_date.isoformat():
        return _error(ErrorCode.DATA_TYPE_ERROR, "the client's date of birth is not that of the henkilötunnus", _PID_3)
    return f"Patient/{found[0]['id']}"


def _hetu(message: Any) -> str | None:
    """The henkilötunnus among PID-3's repetitions (assigning authority 1.2.246.21, type NNFIN)."""
    for identifier in message.pid.pid_3:
        if identifier.cx_4.hd_2.to_er7() == _HETU_OID and identifier.cx_5.to_er7() == "NNFIN":
            value: str = identifier.cx_1.to_er7()
            return value
    return None


def _error(code: ErrorCode, text: str, location: ErrorLocation) -> Acknowledgement:
    return Acknowledgement(AckCode.AE, text, (Problem(code, text, location),))


def refuse(code: ErrorCode, text: str) -> Acknowledgement:
    """An AR with one ERR of `code` saying `text`."""
    return Acknowledgement(AckCode.AR, text, (Problem(code, text),))

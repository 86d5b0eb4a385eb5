"""Every message of the psychiatry EHR, parsed once and handed to the handler of its kind.

`PsychiatryMessages(client, organization).handle(text)` is what the MLLP listener calls: the
message is parsed and validated strictly as HL7 v2.5 (`mappings.psychiatry.adt.parse_strict`;
AR 102 if it is not valid, for example a required segment missing or segments out of order);
ADT^A04/A08 go to `mappings.psychiatry.adt.PatientMessages`, PPR^PC1-PC3 and PGL^PC6-PC8 to
`mappings.psychiatry.careplan.PlanMessages` (which with `dry_run` writes nothing); any other
kind is refused (AR 200).

`split_messages(data)` reads a file of messages (`yhteys import psychiatry-hl7v2`): each begins
at a line starting `MSH`, its segments on lines of their own (CR, LF or CRLF), each decoded by its
own MSH-18. `outcome_of(lines, ack)` is the import report's line for one answered message.
"""

from __future__ import annotations

import re

from mappings.client import GatewayClient
from mappings.plan import Outcome, Status
from mappings.psychiatry.ack import AckCode, Acknowledgement, ErrorCode
from mappings.psychiatry.adt import PatientMessages, parse_strict, refuse
from mappings.psychiatry.careplan import PlanMessages

__all__ = ["PsychiatryMessages", "outcome_of", "split_messages"]

_LINES = re.compile(rb"\r\n|\r|\n")


class PsychiatryMessages:
    """The EHR's messages, answered through the gateway as the EHR's system (`client`)."""

    def __init__(self, client: GatewayClient, organization: str, *, dry_run: bool = False) -> None:
        self._patients = PatientMessages(client)
        self._plans = PlanMessages(client, organization, dry_run=dry_run)

    async def handle(self, text: str) -> Acknowledgement:
        """The acknowledgement of one message; see the module doc."""
        message = parse_strict(text)
        if isinstance(message, Acknowledgement):
            return message
        kind = message.msh.msh_9
        code, event = kind.msg_1.to_er7(), kind.msg_2.to_er7()
        if code == "ADT":
            return await self._patients.handle_parsed(message)
        if PlanMessages.takes(code, event):
            return await self._plans.handle_parsed(message)
        return refuse(
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            f"{code}^{event} is not taken here: send ADT^A04/A08, PPR^PC1-PC3 or PGL^PC6-PC8",
        )


def split_messages(data: bytes) -> list[tuple[tuple[int, ...], bytes]]:
    """The messages of a file: each one's line numbers and its bytes, segments joined by CR.
    Lines before the first MSH, and empty lines, belong to no message."""
    messages: list[tuple[list[int], list[bytes]]] = []
    for number, line in enumerate(_LINES.split(data), start=1):
        if line.startswith(b"MSH"):
            messages.append(([], []))
        if messages and line.strip():
            messages[-1][0].append(number)
            messages[-1][1].append(line)
    return [(tuple(lines), b"\r".join(segments)) for lines, segments in messages]


def outcome_of(lines: tuple[int, ...], ack: Acknowledgement, *, dry_run: bool = False) -> Outcome:
    """One answered message as an import outcome: rejected (AE, AR: the first ERR's location and
    text), unchanged (nothing changed, or a patient message), created or updated."""
    if ack.code is not AckCode.AA:
        where = ack.problems[0].location if ack.problems else None
        column = f"{where.segment}-{where.field}" if where is not None and where.field else ""
        return Outcome(lines, "rejected", column=column, reason=ack.text, dry_run=dry_run)
    if ack.text.startswith("nothing changed") or ack.text.startswith("client known"):
        return Outcome(lines, "unchanged", notes=(ack.text,), dry_run=dry_run)
    status: Status = "created" if " created" in ack.text and " updated" not in ack.text else "updated"
    return Outcome(lines, status, notes=(ack.text,), dry_run=dry_run)

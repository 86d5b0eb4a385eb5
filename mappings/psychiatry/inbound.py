"""Every message of the psychiatry EHR, parsed once and handed to the handler of its kind.

`PsychiatryMessages(client, organization).handle(text)` is what the MLLP listener calls: the
message is parsed and validated strictly as HL7 v2.5 (`mappings.psychiatry.adt.parse_strict`;
AR 102 if it is not valid, for example a required segment missing or segments out of order);
ADT^A04/A08 go to `mappings.psychiatry.adt.PatientMessages`, PPR^PC1-PC3 and PGL^PC6-PC8 to
`mappings.psychiatry.careplan.PlanMessages`; any other kind is refused (AR 200).
"""

from __future__ import annotations

from mappings.client import GatewayClient
from mappings.psychiatry.ack import Acknowledgement, ErrorCode
from mappings.psychiatry.adt import PatientMessages, parse_strict, refuse
from mappings.psychiatry.careplan import PlanMessages

__all__ = ["PsychiatryMessages"]


class PsychiatryMessages:
    """The EHR's messages, answered through the gateway as the EHR's system (`client`)."""

    def __init__(self, client: GatewayClient, organization: str) -> None:
        self._patients = PatientMessages(client)
        self._plans = PlanMessages(client, organization)

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

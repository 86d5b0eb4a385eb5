"""A file of HL7 messages split into messages, and an ACK read as an import outcome."""

from __future__ import annotations

from mappings.psychiatry.ack import AckCode, Acknowledgement, ErrorCode, ErrorLocation, Problem
from mappings.psychiatry.inbound import outcome_of, split_messages


def test_messages_begin_at_msh_whatever_the_line_breaks() -> None:
    data = b"junk before\r\nMSH|^~\\&|A\r\nPID|1\n\nMSH|^~\\&|B\rPRB|AD\r\n"
    assert split_messages(data) == [((2, 3), b"MSH|^~\\&|A\rPID|1"), ((5, 6), b"MSH|^~\\&|B\rPRB|AD")]
    assert split_messages(b"PID|1\r\nPRB|AD") == []


def test_an_ack_is_an_outcome() -> None:
    problem = Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, "no role", ErrorLocation("ROL", 1, 3))
    rejected = outcome_of((1, 2), Acknowledgement(AckCode.AE, "no role", (problem,)))
    assert (rejected.status, rejected.column, rejected.reason) == ("rejected", "ROL-3", "no role")
    assert outcome_of((1,), Acknowledgement(AckCode.AR, "bad")).column == ""
    assert outcome_of((1,), Acknowledgement(AckCode.AA, "nothing changed: 2 unchanged of 2")).status == "unchanged"
    assert outcome_of((1,), Acknowledgement(AckCode.AA, "client known as Patient/x")).status == "unchanged"
    assert outcome_of((1,), Acknowledgement(AckCode.AA, "2 created of 2 problems and goals")).status == "created"
    assert outcome_of((1,), Acknowledgement(AckCode.AA, "1 created, 1 updated of 2")).status == "updated"
    assert outcome_of((1,), Acknowledgement(AckCode.AA, "nothing of 1; team 1 added")).status == "updated"

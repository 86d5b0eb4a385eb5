"""HL7 v2.5 acknowledgements: a received message's header, and the ACK that answers it.

`decode(frame)` turns a received message's bytes into text by its MSH-18 character set
(`UNICODE UTF-8` is UTF-8; an empty MSH-18 or `8859/1` is Latin-1; `ASCII` is ASCII) and reads
its `Header`; a message that cannot be read so far raises `Unreadable`, which carries the
problem and, when the MSH could be read, the header. `build_ack(header, answer, ...)` builds,
with hl7apy, the ACK^<trigger>^ACK that answers it: MSH with sending and receiving application
and facility swapped and a fresh control id, MSA-1 AA/AE/AR, MSA-2 the received MSH-10, MSA-3
a text, and one ERR per `Problem` (ERR-2 location, ERR-3 table 0357 code, ERR-4 severity,
ERR-8 text). `encode(message)` turns a message we built back into bytes by its own MSH-18.

`escape` and `unescape` are HL7's escape sequences for text in a field: `\\F\\ \\S\\ \\T\\ \\R\\
\\E\\` for the field, component, subcomponent and repetition separators and the escape
character, `\\X0D\\` and `\\X0A\\` for carriage return and line feed (and `\\X0B\\`, `\\X1C\\` for
MLLP's block characters, so no text can end a frame). In an ACK, line breaks and other control
characters in texts become spaces before escaping: hl7apy's serialiser re-escapes the
backslashes of `\\X..\\` sequences (it knows only `\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\H\\ \\N\\`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

__all__ = [
    "DEFAULT_SEPARATORS",
    "OUR_APPLICATION",
    "AckCode",
    "Acknowledgement",
    "ErrorCode",
    "ErrorLocation",
    "Header",
    "Problem",
    "Received",
    "Separators",
    "Severity",
    "Unreadable",
    "build_ack",
    "decode",
    "encode",
    "escape",
    "new_control_id",
    "read_header",
    "unescape",
]

_CODECS = {"": "latin-1", "8859/1": "latin-1", "ASCII": "ascii", "UNICODE UTF-8": "utf-8"}
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROLS = re.compile(r"\r\n|[\x00-\x1f\x7f]")

OUR_APPLICATION = ("YHTEYS",)
"""MSH-3 of an ACK that answers a message whose header could not be read, or named no receiver."""


class AckCode(StrEnum):
    """MSA-1, HL7 table 0008 (original acknowledgement mode)."""

    AA = "AA"
    """Accepted: the message was applied (or there was nothing to apply)."""
    AE = "AE"
    """Application error: the message was read but its content could not be applied."""
    AR = "AR"
    """Rejected: the message could not be read, or is of a kind this receiver does not take."""


class ErrorCode(IntEnum):
    """ERR-3, HL7 table 0357 (message error condition codes)."""

    SEGMENT_SEQUENCE_ERROR = 100
    REQUIRED_FIELD_MISSING = 101
    DATA_TYPE_ERROR = 102
    TABLE_VALUE_NOT_FOUND = 103
    UNSUPPORTED_MESSAGE_TYPE = 200
    UNSUPPORTED_EVENT_CODE = 201
    UNSUPPORTED_PROCESSING_ID = 202
    UNSUPPORTED_VERSION_ID = 203
    UNKNOWN_KEY_IDENTIFIER = 204
    DUPLICATE_KEY_IDENTIFIER = 205
    APPLICATION_RECORD_LOCKED = 206
    APPLICATION_INTERNAL_ERROR = 207

    @property
    def text(self) -> str:
        """The code's text in table 0357, e.g. `Required field missing`."""
        return self.name.replace("_", " ").capitalize()


class Severity(StrEnum):
    """ERR-4, HL7 table 0516."""

    ERROR = "E"
    WARNING = "W"
    INFORMATION = "I"


@dataclass(frozen=True)
class ErrorLocation:
    """ERR-2 (ERL): where in the received message a problem is, as far as it is known.

    `sequence` is the segment's occurrence in the message (1 for the first PRB), `field` the
    field's position and `component` the component's, both 1-based; `None` is not known.
    Requires `component` only with `field`.
    """

    segment: str
    sequence: int = 1
    field: int | None = None
    component: int | None = None

    def __post_init__(self) -> None:
        if self.component is not None and self.field is None:
            raise ValueError("an error location names a component only within a field")

    def to_er7(self) -> str:
        """The location as ERL components: `SEG^seq^field`, or `SEG^seq^field^1^component`."""
        parts = [escape(self.segment), str(self.sequence)]
        if self.field is not None:
            parts.append(str(self.field))
        if self.component is not None:
            parts += ["1", str(self.component)]
        return "^".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a received message: one ERR segment of the ACK."""

    code: ErrorCode
    text: str
    """ERR-8, the user message: what is wrong, in words the sending system's staff can act on."""
    location: ErrorLocation | None = None
    severity: Severity = Severity.ERROR


@dataclass(frozen=True)
class Acknowledgement:
    """What the receiver answers to one message: MSA-1, MSA-3 and the ERR segments."""

    code: AckCode
    text: str
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Separators:
    """The field separator (MSH-1) and the encoding characters (MSH-2) of a message.

    Requires five distinct characters, none a letter, digit, space, carriage return or line feed.
    """

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def __post_init__(self) -> None:
        chars = (self.field, self.component, self.repetition, self.escape, self.subcomponent)
        if any(len(c) != 1 or c.isalnum() or c in " \r\n" for c in chars) or len(set(chars)) != 5:
            raise ValueError("the separators are five distinct characters, none a letter, digit, space or line break")


DEFAULT_SEPARATORS = Separators()
"""`|^~\\&`, the separators every ACK we build uses."""


def escape(text: str, separators: Separators = DEFAULT_SEPARATORS) -> str:
    """`text` with each separator, the escape character, CR, LF and MLLP's block characters
    (0x0B, 0x1C) written as HL7 escapes.

    The result holds none of the five separators except as part of an escape sequence, no line
    break and nothing that could end an MLLP frame; `unescape(escape(text, s), s) == text`.
    """
    e = separators.escape
    table = {
        separators.escape: f"{e}E{e}",
        separators.field: f"{e}F{e}",
        separators.component: f"{e}S{e}",
        separators.subcomponent: f"{e}T{e}",
        separators.repetition: f"{e}R{e}",
        "\r": f"{e}X0D{e}",
        "\n": f"{e}X0A{e}",
        "\x0b": f"{e}X0B{e}",
        "\x1c": f"{e}X1C{e}",
    }
    return "".join(table.get(char, char) for char in text)


def unescape(text: str, separators: Separators = DEFAULT_SEPARATORS) -> str:
    """`text` as read from a field, with its HL7 escape sequences resolved.

    `\\F\\ \\S\\ \\T\\ \\R\\ \\E\\` become the separators and the escape character; `\\Xhh..\\`
    becomes its characters when every byte is ASCII (a wider byte's meaning depends on the
    character set, so such a sequence, any other sequence such as `\\H\\` or `\\.br\\`, and an
    escape character with no closing one are kept as written).
    """
    e = separators.escape
    names = {
        "E": separators.escape,
        "F": separators.field,
        "S": separators.component,
        "T": separators.subcomponent,
        "R": separators.repetition,
    }
    out: list[str] = []
    at = 0
    while (start := text.find(e, at)) >= 0:
        end = text.find(e, start + 1)
        if end < 0:
            break
        out.append(text[at:start])
        body = text[start + 1 : end]
        if body in names:
            out.append(names[body])
        elif body[:1] == "X" and _HEX.fullmatch(body[1:]) and max(bytes.fromhex(body[1:])) < 0x80:
            out.append(bytes.fromhex(body[1:]).decode("ascii"))
        else:
            out.append(text[start : end + 1])
        at = end + 1
    out.append(text[at:])
    return "".join(out)


@dataclass(frozen=True)
class Header:
    """The MSH of a received message, as far as the transport needs it; values unescaped.

    An HD field (MSH-3 to MSH-6) is its components, trailing empty ones dropped, so `()` is an
    empty field. `charset` is MSH-18's first repetition as written, `""` when absent.
    """

    separators: Separators
    sending_application: tuple[str, ...]
    sending_facility: tuple[str, ...]
    receiving_application: tuple[str, ...]
    receiving_facility: tuple[str, ...]
    message_type: tuple[str, ...]
    control_id: str
    processing_id: str
    charset: str

    @property
    def trigger(self) -> str:
        """MSH-9.2, the trigger event (`PC6`), `""` if not given."""
        return self.message_type[1] if len(self.message_type) > 1 else ""


@dataclass(frozen=True)
class Received:
    """A received message: its text, decoded by its MSH-18, and its header."""

    header: Header
    text: str


class Unreadable(Exception):
    """A received message that cannot be read far enough to hand on: answer it AR.

    `header` is the message's MSH when that much could be read (so the AR can name the
    message's control id), else `None`.
    """

    def __init__(self, problem: Problem, header: Header | None = None) -> None:
        super().__init__(problem.text)
        self.problem = problem
        self.header = header


def _components(field: str, separators: Separators) -> tuple[str, ...]:
    """A field's first repetition as its unescaped components, trailing empty ones dropped."""
    first = field.split(separators.repetition, 1)[0]
    parts = [unescape(part, separators) for part in first.split(separators.component)]
    while parts and not parts[-1]:
        parts.pop()
    return tuple(parts)


def read_header(text: str) -> Header:
    """The MSH of message `text` (its first segment, after any leading line breaks).

    Raises `Unreadable` when the message does not begin with an MSH, MSH-2 is not four encoding
    characters, or MSH-10 (the control id the ACK must answer) is empty.
    """
    segment = _LINE_BREAK.split(text.lstrip("\r\n"), 1)[0]
    if not segment.startswith("MSH") or len(segment) < 4:
        raise Unreadable(
            Problem(
                ErrorCode.SEGMENT_SEQUENCE_ERROR,
                "the message does not begin with an MSH segment",
                ErrorLocation("MSH"),
            )
        )
    fields = segment.split(segment[3])
    encoding = fields[1] if len(fields) > 1 else ""
    try:
        if len(encoding) != 4:
            raise ValueError("MSH-2 is four characters")
        separators = Separators(segment[3], encoding[0], encoding[1], encoding[2], encoding[3])
    except ValueError:
        raise Unreadable(
            Problem(
                ErrorCode.DATA_TYPE_ERROR,
                "MSH-1 and MSH-2 must be five distinct separator characters, such as |^~\\&",
                ErrorLocation("MSH", 1, 2),
            )
        ) from None

    def field(number: int) -> str:
        return fields[number - 1] if number - 1 < len(fields) else ""

    header = Header(
        separators=separators,
        sending_application=_components(field(3), separators),
        sending_facility=_components(field(4), separators),
        receiving_application=_components(field(5), separators),
        receiving_facility=_components(field(6), separators),
        message_type=_components(field(9), separators),
        control_id=unescape(field(10).split(separators.repetition, 1)[0], separators),
        processing_id=(_components(field(11), separators) or ("",))[0],
        charset=field(18).split(separators.repetition, 1)[0],
    )
    if not header.control_id:
        raise Unreadable(
            Problem(
                ErrorCode.REQUIRED_FIELD_MISSING,
                "MSH-10 (message control ID) is empty",
                ErrorLocation("MSH", 1, 10),
            ),
            header,
        )
    return header


def decode(frame: bytes) -> Received:
    """A received message's bytes as text, decoded by its MSH-18, with its header.

    Raises `Unreadable` when `read_header` does, when MSH-18 names a character set other than
    `UNICODE UTF-8`, `8859/1` or `ASCII`, or when the bytes are not valid in the one it names;
    the last two carry the header as read in Latin-1 (MSH's own fields are ASCII).
    """
    provisional = read_header(frame.decode("latin-1"))
    codec = _CODECS.get(provisional.charset)
    if codec is None:
        raise Unreadable(
            Problem(
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"MSH-18 character set {provisional.charset!r} is not supported: send UNICODE UTF-8 or 8859/1",
                ErrorLocation("MSH", 1, 18),
            ),
            provisional,
        )
    if codec == "latin-1":
        return Received(provisional, frame.decode("latin-1"))
    try:
        text = frame.decode(codec)
    except UnicodeDecodeError as exc:
        raise Unreadable(
            Problem(
                ErrorCode.DATA_TYPE_ERROR,
                f"the message is not valid {provisional.charset} (MSH-18): byte {exc.start} cannot be decoded",
                ErrorLocation("MSH", 1, 18),
            ),
            provisional,
        ) from None
    return Received(read_header(text), text)


def encode(message: str) -> bytes:
    """A message we built, as bytes in the character set its MSH-18 names.

    A character that set cannot hold is sent as `?` (an empty MSH-18 means Latin-1). Requires a
    message with an MSH whose MSH-18 is one `decode` reads.
    """
    return message.encode(_CODECS[read_header(message).charset], errors="replace")


def new_control_id() -> str:
    """A fresh message control id (MSH-10): 20 hexadecimal characters, MSH-10's length in v2.5."""
    return uuid.uuid4().hex[:20]


def _text(text: str) -> str:
    """A text for an ACK field: line breaks and other control characters made spaces, then escaped."""
    return escape(_CONTROLS.sub(" ", text))


def _hd(components: tuple[str, ...]) -> str:
    return "^".join(escape(c) for c in components)


def build_ack(received: Header | None, answer: Acknowledgement, *, control_id: str, now: datetime) -> str:
    """The ACK (v2.5, separators `|^~\\&`, segments joined by CR) that answers a message.

    `received` is the message's header, or `None` when it had no readable MSH: then the ACK's
    MSH is our own (MSH-3 `OUR_APPLICATION`), MSH-9 is `ACK` and MSA-2 is empty. MSH-18 repeats
    the received character set when `decode` reads it, else it is empty (Latin-1); send the
    result with `encode`. `control_id` is the ACK's own MSH-10 (`new_control_id()`); `now`, an
    aware datetime, is MSH-7.
    """
    if now.tzinfo is None:
        raise ValueError("MSH-7 needs an aware datetime")
    ack = Message("ACK", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msh = ack.msh
    if received is None:
        msh.msh_3 = _hd(OUR_APPLICATION)
        msh.msh_9 = "ACK"
    else:
        msh.msh_3 = _hd(received.receiving_application or OUR_APPLICATION)
        if received.receiving_facility:
            msh.msh_4 = _hd(received.receiving_facility)
        if received.sending_application:
            msh.msh_5 = _hd(received.sending_application)
        if received.sending_facility:
            msh.msh_6 = _hd(received.sending_facility)
        msh.msh_9 = f"ACK^{escape(received.trigger)}^ACK" if received.trigger else "ACK"
        if received.charset and received.charset in _CODECS:
            msh.msh_18 = escape(received.charset)
    msh.msh_7 = now.strftime("%Y%m%d%H%M%S%z")
    msh.msh_10 = escape(control_id)
    msh.msh_11 = escape(received.processing_id) if received is not None and received.processing_id else "P"
    msa = ack.msa
    msa.msa_1 = answer.code.value
    msa.msa_2 = escape(received.control_id) if received is not None else ""
    if answer.text:
        msa.msa_3 = _text(answer.text)
    for problem in answer.problems:
        err = ack.add_segment("ERR")
        if problem.location is not None:
            err.err_2 = problem.location.to_er7()
        err.err_3 = f"{problem.code.value}^{escape(problem.code.text)}^HL70357"
        err.err_4 = problem.severity.value
        if problem.text:
            err.err_8 = _text(problem.text)
    er7: str = ack.to_er7()
    return er7

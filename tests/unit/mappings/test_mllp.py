"""The psychiatry MLLP transport over real loopback sockets: framing, ACKs, repeats, charsets, send.

Each test runs its own event loop (`asyncio.run`) under a timeout, starts a listener on a
free loopback port with a recording handler, and talks to it with plain asyncio streams, so
the framing is checked by bytes we write ourselves, not by the code under test.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from hypothesis import given
from hypothesis import strategies as st

from mappings.psychiatry.ack import (
    AckCode,
    Acknowledgement,
    ErrorCode,
    ErrorLocation,
    Problem,
    Separators,
    Severity,
    build_ack,
    decode,
    escape,
    read_header,
    unescape,
)
from mappings.psychiatry.mllp import (
    END_BLOCK,
    START_BLOCK,
    AnswerTimeout,
    ConnectionClosed,
    MalformedAnswer,
    MessageKey,
    MllpConnection,
    MllpListener,
    NoConnection,
    SeenMessages,
    frame,
    send,
)
from tests.ports import free_port

NOW = datetime(2026, 12, 3, 9, 15, 30, tzinfo=UTC)
TIMEOUT = 5.0
PID = "PID|1||010105A9987^^^&1.2.246.21&ISO^NNFIN||Äijälä^Åsa Öllö"


def message(control_id: str = "MSG0001", *, charset: str = "UNICODE UTF-8", body: str = PID) -> str:
    """A PGL^PC6 from the psychiatry EHR (the listener reads only its MSH)."""
    return (
        f"MSH|^~\\&|PSY_EHR^1.2.246.10.99^ISO|HUS_PSY|YHTEYS|YHTEYS_HUB|20261203081500||PGL^PC6^PGL_PC6|"
        f"{control_id}|P|2.5||||||{charset}\r{body}"
    )


def run(test: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(test, TIMEOUT))


def fields(ack: str, segment: str, occurrence: int = 0) -> list[str]:
    """The fields of a segment of an ACK we built (separators `|^~\\&`): `[name, field 1, ...]`.

    For MSH, index n is MSH-(n+1), as MSH-1 is the separator itself."""
    found = [s.split("|") for s in ack.split("\r") if s.startswith(segment)]
    return found[occurrence]


def field_of(ack: str, segment: str, number: int, occurrence: int = 0) -> str:
    parts = fields(ack, segment, occurrence)
    index = number - 1 if segment == "MSH" else number
    return parts[index] if index < len(parts) else ""


@dataclass
class Recorder:
    """A handler that records each message text and answers what `answer` says."""

    answer: Callable[[str], Acknowledgement] = lambda text: Acknowledgement(AckCode.AA, "applied")
    texts: list[str] = field(default_factory=list)

    async def __call__(self, text: str) -> Acknowledgement:
        self.texts.append(text)
        return self.answer(text)


@pytest.fixture
def seen(tmp_path: Path) -> Any:
    with SeenMessages(tmp_path / "seen.sqlite") as store:
        yield store


def listener(handle: Callable[[str], Awaitable[Acknowledgement]], seen: SeenMessages, **options: Any) -> MllpListener:
    return MllpListener(handle, seen=seen, clock=lambda: NOW, **options)


async def exchange(port: int, data: bytes | list[bytes], answers: int = 1) -> list[str]:
    """Write `data` (chunks, drained one by one), read `answers` framed answers as UTF-8."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for chunk in [data] if isinstance(data, bytes) else data:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0)  # let the listener read each chunk on its own
        out = []
        for _ in range(answers):
            answer = await reader.readuntil(END_BLOCK)
            assert answer.startswith(START_BLOCK)
            out.append(answer[1 : -len(END_BLOCK)].decode("utf-8"))
        return out
    finally:
        writer.close()
        await writer.wait_closed()


# Framing


def test_one_message_is_handled_and_acknowledged(seen: SeenMessages) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            [ack] = await exchange(server.port, frame(message().encode()))
        assert handle.texts == [message()]
        assert field_of(ack, "MSA", 1) == "AA"
        assert field_of(ack, "MSA", 2) == "MSG0001"

    run(test())


def test_two_messages_in_one_write_get_two_acks_in_order(seen: SeenMessages) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            data = frame(message("A1").encode()) + frame(message("A2").encode())
            acks = await exchange(server.port, data, answers=2)
        assert [field_of(a, "MSA", 2) for a in acks] == ["A1", "A2"]
        assert handle.texts == [message("A1"), message("A2")]

    run(test())


def test_a_frame_written_in_three_chunks_is_one_message(seen: SeenMessages) -> None:
    handle = Recorder()
    data = frame(message().encode())
    chunks = [data[:10], data[10:-1], data[-1:]]  # the last chunk splits the end block

    async def test() -> None:
        async with listener(handle, seen) as server:
            [ack] = await exchange(server.port, chunks)
        assert handle.texts == [message()]
        assert field_of(ack, "MSA", 1) == "AA"

    run(test())


def test_bytes_before_the_start_block_are_discarded(seen: SeenMessages) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            data = b"\r\nnoise MSH|x" + frame(message("G1").encode()) + b"\n\n" + frame(message("G2").encode())
            acks = await exchange(server.port, data, answers=2)
        assert handle.texts == [message("G1"), message("G2")]
        assert [field_of(a, "MSA", 1) for a in acks] == ["AA", "AA"]

    run(test())


def test_an_oversize_frame_is_refused_and_the_connection_closed(seen: SeenMessages) -> None:
    handle = Recorder()
    big = message("BIG1", body="NTE|1||" + "x" * 2000)

    async def test() -> None:
        async with listener(handle, seen, max_frame=1000) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(START_BLOCK + big.encode())  # no end block yet: refused on size alone
            await writer.drain()
            ack = (await reader.readuntil(END_BLOCK))[1:-2].decode()
            assert await reader.read() == b""  # then the listener closes the connection
            writer.close()
            await writer.wait_closed()
        assert handle.texts == []
        assert field_of(ack, "MSA", 1) == "AR"
        assert field_of(ack, "MSA", 2) == "BIG1"  # its MSH had arrived whole
        assert "1000 bytes" in unescape(field_of(ack, "MSA", 3))

    run(test())


def test_a_frame_of_exactly_max_frame_bytes_is_taken(seen: SeenMessages) -> None:
    handle = Recorder()
    text = message("EXACT")
    size = len(text.encode())

    async def test() -> None:
        async with listener(handle, seen, max_frame=size) as server:
            [ack] = await exchange(server.port, frame(text.encode()))
        assert field_of(ack, "MSA", 1) == "AA"
        assert handle.texts == [text]

    run(test())


@pytest.mark.parametrize("drop", ["close", "abort"])
def test_a_connection_dropped_mid_frame_hands_nothing_on(seen: SeenMessages, drop: str) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(START_BLOCK + message("PART").encode()[:40])
            await writer.drain()
            if drop == "close":
                writer.close()
            else:
                writer.transport.abort()
            await writer.wait_closed()
            [ack] = await exchange(server.port, frame(message("NEXT").encode()))
        assert handle.texts == [message("NEXT")]
        assert field_of(ack, "MSA", 2) == "NEXT"

    run(test())


# ACK contents


def test_the_ack_swaps_the_header_and_answers_the_control_id(seen: SeenMessages) -> None:
    async def test() -> None:
        async with listener(Recorder(), seen) as server:
            [ack] = await exchange(server.port, frame(message("CTRL-7").encode()))
        msh = fields(ack, "MSH")
        assert msh[2:6] == ["YHTEYS", "YHTEYS_HUB", "PSY_EHR^1.2.246.10.99^ISO", "HUS_PSY"]  # MSH-3..6
        assert msh[6] == "20261203091530+0000"  # MSH-7, from the listener's clock
        assert msh[8] == "ACK^PC6^ACK"  # MSH-9
        assert msh[9] not in ("", "CTRL-7")  # MSH-10: a control id of our own
        assert msh[10:12] == ["P", "2.5"]
        assert msh[17] == "UNICODE UTF-8"  # MSH-18: answered in the sender's character set
        assert fields(ack, "MSA")[1:4] == ["AA", "CTRL-7", "applied"]
        parsed = parse_message(ack, validation_level=VALIDATION_LEVEL.STRICT)
        assert parsed.validate()  # a well-formed v2.5 ACK by hl7apy's rules

    run(test())


def test_the_ack_has_one_err_per_problem(seen: SeenMessages) -> None:
    problems = (
        Problem(ErrorCode.REQUIRED_FIELD_MISSING, "GOL-4 goal instance id is empty", ErrorLocation("GOL", 1, 4)),
        Problem(ErrorCode.TABLE_VALUE_NOT_FOUND, "unknown role code", ErrorLocation("ROL", 2, 3, 1), Severity.WARNING),
        Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, "the gateway did not answer"),
    )
    handle = Recorder(lambda text: Acknowledgement(AckCode.AE, "not applied", problems))

    async def test() -> None:
        async with listener(handle, seen) as server:
            [ack] = await exchange(server.port, frame(message().encode()))
        assert fields(ack, "MSA")[1:4] == ["AE", "MSG0001", "not applied"]
        errs = [fields(ack, "ERR", n) for n in range(3)]
        assert [e[2] for e in errs] == ["GOL^1^4", "ROL^2^3^1^1", ""]  # ERR-2
        assert [e[3] for e in errs] == [
            "101^Required field missing^HL70357",
            "103^Table value not found^HL70357",
            "207^Application internal error^HL70357",
        ]
        assert [e[4] for e in errs] == ["E", "W", "E"]  # ERR-4
        assert [e[8] for e in errs] == [p.text for p in problems]  # ERR-8
        assert parse_message(ack, validation_level=VALIDATION_LEVEL.STRICT).validate()

    run(test())


TRICKY = ["a|b", "x^y&z~w", "back\\slash", "\\F\\ written out", "two\r\nlines", "Åbo | Turku ^ ä ö"]


@pytest.mark.parametrize("text", TRICKY)
def test_texts_with_delimiters_round_trip_through_the_ack(seen: SeenMessages, text: str) -> None:
    problem = Problem(ErrorCode.DATA_TYPE_ERROR, text, ErrorLocation("PID", 1, 7))
    handle = Recorder(lambda _: Acknowledgement(AckCode.AE, text, (problem,)))
    one_line = text.replace("\r\n", " ")

    async def test() -> None:
        async with listener(handle, seen) as server:
            [ack] = await exchange(server.port, frame(message().encode()))
        assert len(ack.split("\r")) == 3  # MSH, MSA, ERR: no text broke a segment
        assert len(fields(ack, "MSA")) == 4 and len(fields(ack, "ERR")) == 9  # nor a field
        assert unescape(field_of(ack, "MSA", 3)) == one_line
        assert unescape(field_of(ack, "ERR", 8)) == one_line

    run(test())


@given(st.text(st.characters(blacklist_categories=["Cs"])))
def test_any_text_round_trips_through_an_acks_msa_3(text: str) -> None:
    received = read_header(message())
    ack = build_ack(received, Acknowledgement(AckCode.AA, text), control_id="C1", now=NOW)
    assert ack.count("\r") == 1 and "\x1c" not in ack
    one_line = re.sub(r"\r\n|[\x00-\x1f\x7f]", " ", text)  # control characters become spaces
    assert unescape(field_of(ack, "MSA", 3)) == one_line


def test_a_message_without_msh_is_rejected_with_our_own_header(seen: SeenMessages) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            [ack] = await exchange(server.port, frame(b"PID|1||x\rGOL|AD"))
        assert handle.texts == []
        assert fields(ack, "MSH")[2] == "YHTEYS" and fields(ack, "MSH")[8] == "ACK"
        assert fields(ack, "MSA")[1:3] == ["AR", ""]
        assert field_of(ack, "ERR", 3).startswith("100^")

    run(test())


@pytest.mark.parametrize(
    ("data", "code", "location", "control_id"),
    [
        (message("").encode(), "101", "MSH^1^10", ""),
        (message("U1", charset="UNICODE UTF-16").encode(), "103", "MSH^1^18", "U1"),
        (message("U2").encode("latin-1"), "102", "MSH^1^18", "U2"),  # says UTF-8, is Latin-1
        (b"MSH|^~|A|B|||||PGL^PC6|U3|P|2.5", "102", "MSH^1^2", ""),
    ],
    ids=["no control id", "unknown charset", "not utf-8", "short MSH-2"],
)
def test_an_unreadable_message_is_rejected(
    seen: SeenMessages, data: bytes, code: str, location: str, control_id: str
) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            [ack] = await exchange(server.port, frame(data))
        assert handle.texts == []
        assert fields(ack, "MSA")[1:3] == ["AR", control_id]
        assert field_of(ack, "ERR", 2) == location
        assert field_of(ack, "ERR", 3).startswith(f"{code}^")

    run(test())


# Repeated control ids


def test_a_repeated_control_id_is_answered_with_the_same_ack(seen: SeenMessages) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            [first] = await exchange(server.port, frame(message("R1").encode()))
            [again] = await exchange(server.port, frame(message("R1").encode()))
            [other] = await exchange(server.port, frame(message("R2").encode()))
        assert again == first  # the same ACK, its own MSH-10 included
        assert field_of(other, "MSA", 2) == "R2"
        assert handle.texts == [message("R1"), message("R2")]

    run(test())


def test_the_same_control_id_from_another_facility_is_another_message(seen: SeenMessages) -> None:
    handle = Recorder()
    elsewhere = message("R1").replace("|HUS_PSY|", "|TAYS_PSY|")

    async def test() -> None:
        async with listener(handle, seen) as server:
            await exchange(server.port, frame(message("R1").encode()))
            await exchange(server.port, frame(elsewhere.encode()))
        assert handle.texts == [message("R1"), elsewhere]

    run(test())


def test_a_repeat_after_a_restart_is_answered_from_the_file(tmp_path: Path) -> None:
    handle = Recorder()
    path = tmp_path / "seen.sqlite"

    async def test() -> None:
        with SeenMessages(path) as seen:
            async with listener(handle, seen) as server:
                [first] = await exchange(server.port, frame(message("RS1").encode()))
        with SeenMessages(path) as seen:
            async with listener(handle, seen) as server:
                [again] = await exchange(server.port, frame(message("RS1").encode()))
        assert again == first
        assert handle.texts == [message("RS1")]

    run(test())


def test_two_concurrent_duplicates_are_handled_once(seen: SeenMessages) -> None:
    entered = 0
    release = asyncio.Event()

    async def slow(text: str) -> Acknowledgement:
        nonlocal entered
        entered += 1
        await release.wait()
        return Acknowledgement(AckCode.AA, "applied")

    async def test() -> None:
        async with listener(slow, seen) as server:
            both = asyncio.gather(*(exchange(server.port, frame(message("DUP").encode())) for _ in range(2)))
            while entered == 0:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)  # the second copy has arrived and waits on the first
            release.set()
            [[one], [two]] = await both
        assert entered == 1
        assert one == two

    run(test())


def test_a_rejection_or_a_failure_is_not_remembered(seen: SeenMessages) -> None:
    calls = 0

    async def handle(text: str) -> Acknowledgement:
        nonlocal calls
        calls += 1
        if calls == 1:
            return Acknowledgement(AckCode.AR, "unsupported")
        if calls == 2:
            raise RuntimeError("gateway down")
        return Acknowledgement(AckCode.AA, "applied")

    async def test() -> None:
        async with listener(handle, seen) as server:
            acks = [(await exchange(server.port, frame(message("F1").encode())))[0] for _ in range(4)]
        assert [field_of(a, "MSA", 1) for a in acks] == ["AR", "AE", "AA", "AA"]
        assert field_of(acks[1], "ERR", 3).startswith("207^")
        assert "gateway down" not in acks[1]  # the failure is logged, not told to the sender
        assert calls == 3

    run(test())


def test_stop_waits_for_a_handler_in_flight_and_sends_its_ack(seen: SeenMessages) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(text: str) -> Acknowledgement:
        started.set()
        await release.wait()
        return Acknowledgement(AckCode.AA, "applied")

    async def test() -> None:
        server = listener(slow, seen)
        await server.start()
        busy_reader, busy_writer = await asyncio.open_connection("127.0.0.1", server.port)
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", server.port)
        busy_writer.write(frame(message("INF").encode()))
        await busy_writer.drain()
        await started.wait()
        stopping = asyncio.create_task(server.stop())
        assert await idle_reader.read() == b""  # an idle connection is closed at once
        assert not stopping.done()  # but stop waits for the handler
        release.set()
        await stopping
        ack = (await busy_reader.readuntil(END_BLOCK))[1:-2].decode()
        assert field_of(ack, "MSA", 2) == "INF"  # whose ACK is sent before its connection closes
        assert await busy_reader.read() == b""
        for writer in (busy_writer, idle_writer):
            writer.close()
            await writer.wait_closed()

    run(test())
    assert seen.answer_for(MessageKey.of(read_header(message("INF")))) is not None


# Character sets


@pytest.mark.parametrize(("charset", "codec"), [("UNICODE UTF-8", "utf-8"), ("8859/1", "latin-1"), ("", "latin-1")])
def test_finnish_and_swedish_letters_are_decoded_by_msh_18(seen: SeenMessages, charset: str, codec: str) -> None:
    handle = Recorder(lambda text: Acknowledgement(AckCode.AA, "tallennettu: ä ö å"))
    text = message(charset=charset)

    async def test() -> None:
        async with listener(handle, seen) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(frame(text.encode(codec)))
            await writer.drain()
            answer = (await reader.readuntil(END_BLOCK))[1:-2]
            writer.close()
            await writer.wait_closed()
        assert handle.texts == [text]
        assert "Äijälä^Åsa Öllö" in handle.texts[0]
        assert answer.decode(codec).split("\r")[1] == "MSA|AA|MSG0001|tallennettu: ä ö å"  # answered in kind

    run(test())


def test_decode_reads_the_header_in_the_messages_own_separators() -> None:
    text = "MSH#*!@%#PSY*1.2@T@3*ISO#HUS|PSY#YHTEYS##20261203##PGL*PC7#C@S@^1#T#2.5######8859/1\rPID#1"
    received = decode(text.encode("latin-1"))
    assert received.header.separators == Separators("#", "*", "!", "@", "%")
    assert received.header.sending_application == ("PSY", "1.2%3", "ISO")
    assert received.header.sending_facility == ("HUS|PSY",)
    assert received.header.control_id == "C*^1"
    assert received.header.trigger == "PC7"
    ack = build_ack(received.header, Acknowledgement(AckCode.AA, "ok"), control_id="A1", now=NOW)
    assert fields(ack, "MSH")[4:6] == ["PSY^1.2%3^ISO", "HUS\\F\\PSY"]  # in our separators, escaped where needed
    assert field_of(ack, "MSA", 2) == "C*\\S\\1"


# Escapes

separators = st.lists(
    st.characters(codec="ascii", categories=["P", "S"]).filter(lambda c: c != " "), min_size=5, max_size=5, unique=True
).map(lambda cs: Separators(*cs))


@given(st.text(st.characters(blacklist_categories=["Cs"])), separators)
def test_escape_then_unescape_is_the_identity(text: str, seps: Separators) -> None:
    assert unescape(escape(text, seps), seps) == text


@given(st.text(st.characters(blacklist_categories=["Cs"])), separators)
def test_escaped_text_has_no_delimiters(text: str, seps: Separators) -> None:
    escaped = escape(text, seps)
    for char in (seps.field, seps.component, seps.repetition, seps.subcomponent, "\r", "\n", "\x0b", "\x1c"):
        assert char not in escaped
    # every escape character opens or closes one of the sequences escape writes
    inner = escaped.split(seps.escape)[1::2]
    assert escaped.count(seps.escape) % 2 == 0
    assert set(inner) <= {"E", "F", "S", "T", "R", "X0D", "X0A", "X0B", "X1C"}


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("\\H\\bold\\N\\", "\\H\\bold\\N\\"),  # highlighting is kept as written
        ("line\\.br\\two", "line\\.br\\two"),
        ("\\X41420D\\", "AB\r"),
        ("\\XC3A4\\", "\\XC3A4\\"),  # a wide byte's meaning depends on the character set
        ("open \\F", "open \\F"),  # an escape with no closing one
    ],
)
def test_unescape_keeps_what_it_cannot_resolve(written: str, text: str) -> None:
    assert unescape(written) == text


# The sender


def test_send_returns_the_listeners_ack(seen: SeenMessages) -> None:
    handle = Recorder()

    async def test() -> None:
        async with listener(handle, seen) as server:
            ack = await send("127.0.0.1", server.port, message("S1"))
            latin = await send("127.0.0.1", server.port, message("S2", charset="8859/1"), encoding="latin-1")
        assert field_of(ack, "MSA", 2) == "S1" and field_of(latin, "MSA", 2) == "S2"
        assert handle.texts == [message("S1"), message("S2", charset="8859/1")]

    run(test())


def test_one_connection_carries_many_messages_and_eight_run_at_once(seen: SeenMessages) -> None:
    handle = Recorder()

    async def client(name: str, count: int, port: int) -> list[str]:
        async with await MllpConnection.open("127.0.0.1", port) as connection:
            return [field_of(await connection.exchange(message(f"{name}-{n}")), "MSA", 2) for n in range(count)]

    async def test() -> None:
        async with listener(handle, seen) as server:
            alone = await client("ONE", 20, server.port)
            together = await asyncio.gather(*(client(f"C{c}", 5, server.port) for c in range(8)))
        assert alone == [f"ONE-{n}" for n in range(20)]
        assert together == [[f"C{c}-{n}" for n in range(5)] for c in range(8)]
        assert len(handle.texts) == 60

    run(test())


async def peer(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> asyncio.Server:
    """A stand-in receiver on loopback that does `answer` with each connection."""
    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("silent", AnswerTimeout),
        ("hang up", ConnectionClosed),
        ("garbage", MalformedAnswer),
        ("no msa", MalformedAnswer),
    ],
)
def test_send_says_clearly_what_went_wrong(behaviour: str, error: type[Exception]) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(END_BLOCK)
        if behaviour == "silent":
            await reader.read()  # until the sender gives up
        elif behaviour == "garbage":
            writer.write(frame(b"hello"))
        elif behaviour == "no msa":
            writer.write(frame(b"MSH|^~\\&|YHTEYS||||20261203||ACK|1|P|2.5"))
        writer.close()

    async def test() -> None:
        server = await peer(answer)
        async with server:
            with pytest.raises(error):
                await send("127.0.0.1", server.sockets[0].getsockname()[1], message(), timeout=0.2)

    run(test())


def test_send_to_no_one_raises_no_connection() -> None:
    with pytest.raises(NoConnection):
        asyncio.run(send("127.0.0.1", free_port(), message(), timeout=1.0))


def test_the_listener_binds_loopback_by_default(seen: SeenMessages) -> None:
    async def test() -> None:
        server = listener(Recorder(), seen)
        with pytest.raises(RuntimeError):
            _ = server.port
        async with server:
            assert server.host == "127.0.0.1"

    run(test())

"""MLLP: HL7 v2 messages over TCP, one message per frame; the listener and the sender.

A frame is `0x0B`, the message's bytes, `0x1C 0x0D`. `FrameReader` reads frames off a stream:
bytes before a start block are discarded, frames that arrive in one read come out one by one
in order, a frame split over reads is put back together, and a stream that ends mid-frame
ends with nothing (the partial frame is dropped).

`MllpListener` serves the psychiatry EHR. For each frame it decodes the message (`ack.decode`),
hands the text to the adapter's `handle`, and answers the `Acknowledgement` that returns as an
ACK on the same connection, in order. It calls `handle` at most once per message: a message
whose (MSH-3, MSH-4, MSH-10) it has answered before, by `SeenMessages`, is answered with the
ACK it answered then, and messages with the same key are handled one at a time. It refuses,
with AR and without calling `handle`, a message it cannot decode and a frame longer than
`max_frame` bytes (then it closes the connection, as the rest of the stream cannot be framed).

`MllpConnection` sends messages on one connection, each answered before the next;
`send(host, port, message)` sends one on a connection of its own. Both return the answer's text.

Errors of the sender::

    MllpError
    ├── NoConnection       the connection could not be opened
    ├── ConnectionClosed   the peer closed the connection before a whole answer
    ├── AnswerTimeout      no whole answer within the timeout (also a TimeoutError)
    └── MalformedAnswer    the answer is not an HL7 acknowledgement we can read
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Self

from mappings.psychiatry.ack import (
    AckCode,
    Acknowledgement,
    ErrorCode,
    Header,
    Problem,
    Unreadable,
    build_ack,
    decode,
    encode,
    escape,
    new_control_id,
    read_header,
)

__all__ = [
    "END_BLOCK",
    "START_BLOCK",
    "AnswerTimeout",
    "ConnectionClosed",
    "FrameReader",
    "FrameTooLarge",
    "Handler",
    "MalformedAnswer",
    "MessageKey",
    "MllpConnection",
    "MllpError",
    "MllpListener",
    "NoConnection",
    "SeenMessages",
    "frame",
    "send",
]

_log = logging.getLogger("mappings.psychiatry.mllp")

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
_READ_SIZE = 65_536

Handler = Callable[[str], Awaitable[Acknowledgement]]
"""The adapter's work on one message: given its decoded text, apply it and say how it went.

An exception it raises is answered AE (207, application internal error) and not remembered,
so a resent message is handled again."""


def frame(payload: bytes) -> bytes:
    """`payload` as one MLLP frame; `ValueError` if it holds the end block `0x1C 0x0D`."""
    if END_BLOCK in payload:
        raise ValueError("an MLLP payload cannot hold the end block 0x1C 0x0D")
    return START_BLOCK + payload + END_BLOCK


class FrameTooLarge(Exception):
    """A frame grew past the limit before its end block; `head` is its first bytes, for the ACK."""

    def __init__(self, limit: int, head: bytes) -> None:
        super().__init__(f"an MLLP frame is at most {limit} bytes")
        self.limit = limit
        self.head = head


class FrameReader:
    """The MLLP frames of one stream, in order. Not for concurrent use by two readers."""

    def __init__(self, reader: asyncio.StreamReader, max_frame: int) -> None:
        self._reader = reader
        self._max_frame = max_frame
        self._buffer = bytearray()
        self._in_frame = False
        self._scanned = 0  # bytes of the open frame already searched for the end block

    async def next(self) -> bytes | None:
        """The next frame's payload, or `None` when the stream ends (a partial frame is dropped).

        Raises `FrameTooLarge` when a payload would exceed `max_frame` bytes; the stream cannot
        be framed after that, so the caller closes it.
        """
        while True:
            if not self._in_frame:
                start = self._buffer.find(START_BLOCK)
                if start < 0:
                    self._buffer.clear()
                else:
                    del self._buffer[: start + 1]
                    self._in_frame = True
                    self._scanned = 0
            if self._in_frame:
                end = self._buffer.find(END_BLOCK, max(0, self._scanned - 1))
                if 0 <= end <= self._max_frame:
                    payload = bytes(self._buffer[:end])
                    del self._buffer[: end + len(END_BLOCK)]
                    self._in_frame = False
                    return payload
                if end > self._max_frame or len(self._buffer) > self._max_frame + 1:
                    raise FrameTooLarge(self._max_frame, bytes(self._buffer[:4096]))
                self._scanned = len(self._buffer)
            chunk = await self._reader.read(_READ_SIZE)
            if not chunk:
                return None
            self._buffer += chunk


def _er7(components: tuple[str, ...]) -> str:
    return "^".join(escape(c) for c in components)


class MessageKey(NamedTuple):
    """What makes a message the same message: MSH-3 and MSH-4 as written in ER7, and MSH-10."""

    application: str
    facility: str
    control_id: str

    @classmethod
    def of(cls, header: Header) -> MessageKey:
        """The key of a received message."""
        return cls(_er7(header.sending_application), _er7(header.sending_facility), header.control_id)


class SeenMessages:
    """The messages answered AA or AE, with the ACK each was answered: an SQLite file.

    The file is created if missing. One listener (one process) uses a file at a time; calls
    block the event loop briefly (one indexed read, one committed insert). Close when done.
    """

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answered ("
            " application TEXT NOT NULL, facility TEXT NOT NULL, control_id TEXT NOT NULL,"
            " ack TEXT NOT NULL, answered_at TEXT NOT NULL,"
            " PRIMARY KEY (application, facility, control_id))"
        )

    def answer_for(self, key: MessageKey) -> str | None:
        """The ACK that answered the message with `key`, or `None` if none was stored."""
        row = self._db.execute(
            "SELECT ack FROM answered WHERE application = ? AND facility = ? AND control_id = ?", key
        ).fetchone()
        return None if row is None else str(row[0])

    def remember(self, key: MessageKey, ack: str, *, at: datetime) -> None:
        """Store the ACK that answered `key`. Requires that none is stored for `key` yet."""
        self._db.execute("INSERT INTO answered VALUES (?, ?, ?, ?, ?)", (*key, ack, at.isoformat()))

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class _KeyLocks:
    """One asyncio lock per message key, held by whoever handles that message; freed when unused."""

    def __init__(self) -> None:
        self._locks: dict[MessageKey, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: MessageKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class _Connection:
    """An open connection of the listener; `busy` while one of its messages is being answered."""

    writer: asyncio.StreamWriter
    busy: bool = False


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MllpListener:
    """The MLLP server for the psychiatry EHR: frames, decodes, de-duplicates, answers.

    `handle` is called with each decoded message that has not been answered before; the
    listener sends the ACK built from what it returns. `seen` remembers answered messages
    across connections and restarts (the caller opens and closes it). Bound to loopback
    unless `host` says otherwise; `port=0` takes a free port (read `port` after `start`).
    """

    def __init__(
        self,
        handle: Handler,
        *,
        seen: SeenMessages,
        host: str = "127.0.0.1",
        port: int = 0,
        max_frame: int = 1_048_576,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if max_frame < 1:
            raise ValueError("max_frame is at least one byte")
        self._handle = handle
        self._seen = seen
        self._host = host
        self._requested_port = port
        self._max_frame = max_frame
        self._clock = clock
        self._locks = _KeyLocks()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], _Connection] = {}

    @property
    def host(self) -> str:
        """The bound address. Requires a started listener."""
        host: str = self._bound()[0]
        return host

    @property
    def port(self) -> int:
        """The bound port. Requires a started listener."""
        port: int = self._bound()[1]
        return port

    def _bound(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the listener is not started")
        address: tuple[str, int] = self._server.sockets[0].getsockname()[:2]
        return address

    async def start(self) -> None:
        """Bind and start accepting connections. Requires a listener not already started."""
        if self._server is not None:
            raise RuntimeError("the listener is already started")
        self._server = await asyncio.start_server(self._serve, self._host, self._requested_port)

    async def stop(self) -> None:
        """Stop accepting, close every open connection, and wait for handlers in flight.

        A connection waiting for a frame is closed at once (a partial frame on it is dropped);
        one whose message is being handled is closed when the handler has returned and its ACK
        has been sent. Frames after that one are not read.
        """
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for connection in self._connections.values():
            if not connection.busy:
                connection.writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    def _stopping(self) -> bool:
        return self._server is None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # start_server runs each connection in a task
        if self._stopping():  # accepted just before stop()
            writer.close()
            return
        connection = self._connections[task] = _Connection(writer)
        frames = FrameReader(reader, self._max_frame)
        try:
            while (payload := await frames.next()) is not None:
                connection.busy = True
                answer = await self._answer(payload)
                writer.write(frame(encode(answer)))
                await writer.drain()
                connection.busy = False
                if self._stopping():  # stop() was waiting for this answer only
                    break
        except FrameTooLarge as exc:
            if not writer.is_closing():
                writer.write(frame(encode(self._too_large(exc))))
                await writer.drain()
        except ConnectionError:
            _log.info("an MLLP connection was dropped")
        except Exception:
            _log.exception("an MLLP connection failed; it is closed without an answer")
        finally:
            del self._connections[task]
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, payload: bytes) -> str:
        """The ACK for one frame's payload: refused, remembered, or what `handle` says."""
        try:
            received = decode(payload)
        except Unreadable as exc:
            return self._ack(exc.header, Acknowledgement(AckCode.AR, exc.problem.text, (exc.problem,)))
        key = MessageKey.of(received.header)
        async with self._locks.hold(key):
            stored = self._seen.answer_for(key)
            if stored is not None:
                return stored
            try:
                answer = await self._handle(received.text)
            except Exception:
                _log.exception("the psychiatry adapter failed on message %s", received.header.control_id)
                problem = Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, "the receiver failed; send the message again")
                return self._ack(received.header, Acknowledgement(AckCode.AE, problem.text, (problem,)))
            ack = self._ack(received.header, answer)
            if answer.code is not AckCode.AR:
                self._seen.remember(key, ack, at=self._clock())
            return ack

    def _too_large(self, exc: FrameTooLarge) -> str:
        """The AR for an oversize frame, naming its control id when its MSH arrived whole."""
        header = None
        head = exc.head.decode("latin-1")
        if "\r" in head or "\n" in head:
            with contextlib.suppress(Unreadable):
                header = read_header(head)
        text = f"the message is larger than this receiver's limit of {exc.limit} bytes"
        problem = Problem(ErrorCode.APPLICATION_INTERNAL_ERROR, text)
        return self._ack(header, Acknowledgement(AckCode.AR, text, (problem,)))

    def _ack(self, received: Header | None, answer: Acknowledgement) -> str:
        return build_ack(received, answer, control_id=new_control_id(), now=self._clock())


class MllpError(Exception):
    """No answer that can be returned; the message may or may not have arrived."""


class NoConnection(MllpError):
    """The connection to the receiver could not be opened."""


class ConnectionClosed(MllpError):
    """The receiver closed the connection before a whole answer arrived."""


class AnswerTimeout(MllpError, TimeoutError):
    """No whole answer arrived within the timeout."""


class MalformedAnswer(MllpError):
    """The answer is not an HL7 acknowledgement: no readable MSH, no MSA, or oversize."""


class MllpConnection:
    """One open connection to an MLLP receiver: a message at a time, each answer read before the next.

    Open with `await MllpConnection.open(host, port)` (or `async with`), close with `close()`.
    After an error the connection is closed, since an answer may still be on its way and would
    be read as the next message's.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, max_frame: int) -> None:
        self._frames = FrameReader(reader, max_frame)
        self._writer = writer
        self._peer = "{}:{}".format(*writer.get_extra_info("peername")[:2])

    @classmethod
    async def open(cls, host: str, port: int, *, timeout: float = 10.0, max_frame: int = 1_048_576) -> Self:
        """Connect to `host:port`; `NoConnection` if that fails or takes longer than `timeout`."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:  # TimeoutError is one
            raise NoConnection(f"cannot connect to {host}:{port}: {exc or 'timed out'}") from exc
        return cls(reader, writer, max_frame=max_frame)

    async def exchange(self, message: str, *, timeout: float = 10.0, encoding: str = "utf-8") -> str:
        """Send `message` in one frame and return the text of the answer.

        `encoding` must be the character set the message's MSH-18 names. The answer is decoded by
        its own MSH-18 and must hold an MSA segment; whether it accepts the message is the
        caller's to read. `timeout` bounds the exchange. Raises an `MllpError`.
        """
        payload = frame(message.encode(encoding))
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(payload)
                await self._writer.drain()
                answer = await self._frames.next()
            if answer is None:
                raise ConnectionClosed(f"{self._peer} closed the connection before answering")
            return _acknowledgement(answer)
        except TimeoutError:
            await self.close()
            raise AnswerTimeout(f"no answer from {self._peer} within {timeout} s") from None
        except FrameTooLarge as exc:
            await self.close()
            raise MalformedAnswer(str(exc)) from None
        except ConnectionError as exc:
            await self.close()
            raise ConnectionClosed(f"{self._peer} closed the connection: {exc}") from exc
        except MllpError:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection (again is harmless)."""
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _acknowledgement(answer: bytes) -> str:
    """An answer frame's text: `MalformedAnswer` unless it decodes and holds an MSA segment."""
    try:
        text = decode(answer).text
    except Unreadable as exc:
        raise MalformedAnswer(f"the answer cannot be read: {exc}") from None
    if not any(segment.startswith("MSA") for segment in re.split(r"[\r\n]+", text)):
        raise MalformedAnswer("the answer has no MSA segment")
    return text


async def send(
    host: str,
    port: int,
    message: str,
    *,
    timeout: float = 10.0,
    encoding: str = "utf-8",
    max_frame: int = 1_048_576,
) -> str:
    """Send `message` on a new connection and return the answer's text (`MllpConnection.exchange`).

    `timeout` bounds connecting and the exchange, each. Raises an `MllpError`.
    """
    async with await MllpConnection.open(host, port, timeout=timeout, max_frame=max_frame) as connection:
        return await connection.exchange(message, timeout=timeout, encoding=encoding)

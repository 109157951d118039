"""AudioSocket (Asterisk's ``chan_audiosocket``/``app_audiosocket``): a TCP server for live audio.

The protocol is a stream of frames, each a one-byte kind, a two-byte big-endian payload
length and the payload::

    0x00 hang-up (no payload)         0x01 the stream's UUID (16 bytes, always first)
    0x03 a DTMF digit (1 ASCII byte)  0x10 audio: signed 16-bit little-endian 8 kHz mono
    0xff an error (optional code)     (0x11-0x18: other sample rates, refused here)

Asterisk connects to us: a channel ``AudioSocket/127.0.0.1:9093/<uuid>/c(slin)`` dials this
server, sends its UUID and then 20 ms audio frames; closing the connection (or a hang-up
frame from us) hangs the channel up. The server hands each connection to ``on_stream`` with
the UUID it announced and the audio it sends, as an async iterator of payloads::

    async def on_stream(stream: AudioStream) -> None:
        async for pcm in stream:          # ends at a hang-up frame or when Asterisk closes
            ...
    server = AudioSocketServer(host="127.0.0.1", port=9093, on_stream=on_stream)
    await server.start(); ...; await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

from hotline.errors import TelephonyError

log = logging.getLogger(__name__)

HEADER_BYTES = 3
MAX_PAYLOAD = 0xFFFF


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10  # slin, 8 kHz
    ERROR = 0xFF


class AudioSocketError(TelephonyError):
    """The peer broke the protocol (or the connection): named with what was wrong."""

    error_id = "audiosocket-protocol"


@dataclass(frozen=True)
class Frame:
    kind: int
    payload: bytes = b""


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One frame on the wire: kind, length (big-endian), payload."""
    if not 0 <= kind <= 0xFF:
        raise ValueError(f"AudioSocket frame kind {kind} is not one byte")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes: at most {MAX_PAYLOAD}")
    return bytes((kind,)) + len(payload).to_bytes(2, "big") + payload


def uuid_frame(stream_id: uuid.UUID) -> bytes:
    return encode_frame(Kind.UUID, stream_id.bytes)


async def read_frame(reader: asyncio.StreamReader) -> Frame | None:
    """The next frame; None when the peer closed between frames. A connection closed in the
    middle of a frame is an :class:`AudioSocketError`."""
    try:
        head = await reader.readexactly(HEADER_BYTES)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise AudioSocketError(f"connection closed inside a frame header "
                               f"({len(exc.partial)} of {HEADER_BYTES} bytes)") from exc
    size = int.from_bytes(head[1:], "big")
    try:
        payload = await reader.readexactly(size) if size else b""
    except asyncio.IncompleteReadError as exc:
        raise AudioSocketError(f"connection closed inside a frame of kind 0x{head[0]:02x}: "
                               f"{len(exc.partial)} of {size} payload bytes") from exc
    return Frame(kind=head[0], payload=payload)


class AudioStream:
    """One AudioSocket connection after its UUID: iterate for the audio payloads.

    ``digits`` collects DTMF frames; ``ended_by`` says how the stream ended
    (``hangup`` frame, ``closed`` by the peer, ``closed_here``, or the error).
    """

    def __init__(self, stream_id: uuid.UUID, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.id = stream_id
        self._reader = reader
        self._writer = writer
        self.digits = ""
        self.audio_bytes = 0
        self.ended_by: str | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._audio()

    async def _audio(self) -> AsyncIterator[bytes]:
        while self.ended_by is None:
            try:
                frame = await read_frame(self._reader)
            except (ConnectionError, OSError) as exc:
                if self.ended_by is None:  # not closed by us meanwhile
                    self.ended_by = f"connection error: {exc}"
                    raise AudioSocketError(f"stream {self.id}: {exc}") from exc
                return
            if frame is None:
                self.ended_by = self.ended_by or "closed"
                return
            if frame.kind == Kind.AUDIO:
                self.audio_bytes += len(frame.payload)
                yield frame.payload
            elif frame.kind == Kind.HANGUP:
                self.ended_by = "hangup"
            elif frame.kind == Kind.DTMF:
                self.digits += frame.payload.decode("ascii", "replace")
            elif frame.kind == Kind.ERROR:
                self.ended_by = f"error {frame.payload.hex() or '(no code)'}"
                raise AudioSocketError(f"stream {self.id}: Asterisk sent an error frame "
                                       f"({frame.payload.hex() or 'no code'})")
            else:
                self.ended_by = f"unsupported kind 0x{frame.kind:02x}"
                raise AudioSocketError(f"stream {self.id}: frame kind 0x{frame.kind:02x} is "
                                       "not 8 kHz slin (dial with c(slin))")

    async def send_audio(self, pcm: bytes) -> None:
        """Audio towards Asterisk (ChanSpy drives its spy with what we send, if anything)."""
        self._writer.write(encode_frame(Kind.AUDIO, pcm))
        await self._writer.drain()

    async def close(self) -> None:
        """Hang the AudioSocket channel up: a hang-up frame, then the connection closes."""
        if self.ended_by is None:
            self.ended_by = "closed_here"
        if self._writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, OSError):
            self._writer.write(encode_frame(Kind.HANGUP))
            await self._writer.drain()
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


StreamHandler = Callable[[AudioStream], Awaitable[None]]


class AudioSocketServer:
    """Accepts AudioSocket connections; each one's audio goes to ``on_stream``."""

    def __init__(self, *, host: str, port: int, on_stream: StreamHandler,
                 uuid_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.on_stream = on_stream
        self.uuid_timeout = uuid_timeout
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._active: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                      reuse_address=True)
        except OSError as exc:
            raise TelephonyError(f"AudioSocket cannot listen on {self.host}:{self.port}: "
                                 f"{exc.strerror} (set HOTLINE_STT__STREAM__PORT)") from exc
        if self.port == 0:  # tests: the port the system chose
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("AudioSocket listening on %s:%s", self.host, self.port)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._active):
            task.cancel()
        await asyncio.gather(*self._active, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        peer = writer.get_extra_info("peername")
        stream: AudioStream | None = None
        try:
            stream_id = await self._read_uuid(reader, peer)
            if stream_id is not None:
                self.accepted += 1
                stream = AudioStream(stream_id, reader, writer)
                await self.on_stream(stream)
        except asyncio.CancelledError:
            log.info("AudioSocket connection from %s closed: the server is stopping", peer)
        except Exception:
            log.exception("AudioSocket connection from %s failed", peer)
        finally:
            if task is not None:
                self._active.discard(task)
            if stream is not None:
                await stream.close()
            else:
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()

    async def _read_uuid(self, reader: asyncio.StreamReader, peer: object) -> uuid.UUID | None:
        try:
            async with asyncio.timeout(self.uuid_timeout):
                frame = await read_frame(reader)
        except TimeoutError:
            log.warning("AudioSocket: %s sent no UUID within %.0f s", peer, self.uuid_timeout)
            return None
        except AudioSocketError as exc:
            log.warning("AudioSocket: %s: %s", peer, exc)
            return None
        if frame is None or frame.kind != Kind.UUID or len(frame.payload) != 16:
            what = "closed" if frame is None else f"sent kind 0x{frame.kind:02x} " \
                                                  f"({len(frame.payload)} bytes)"
            log.warning("AudioSocket: %s %s instead of a 16-byte UUID frame", peer, what)
            return None
        return uuid.UUID(bytes=frame.payload)

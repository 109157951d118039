"""AudioSocket framing over real loopback sockets against a real ``AudioSocketServer``.

The client side plays Asterisk's part (chan_audiosocket): it connects, sends the UUID frame,
then audio (and DTMF) frames, and hangs up or closes; the tests check what the stream handler
receives, and what the server sends back when it ends a stream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from hotline.telephony.audiosocket import (
    AudioSocketError,
    AudioSocketServer,
    AudioStream,
    Kind,
    encode_frame,
    read_frame,
    uuid_frame,
)

STREAM_ID = uuid.UUID("12345678-1234-5678-9abc-def012345678")
FRAME = bytes(range(256)) + bytes(64)  # 320 bytes: 20 ms of 8 kHz slin


@dataclass
class Heard:
    streams: list[AudioStream] = field(default_factory=list)
    audio: list[bytes] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    close_after: int | None = None  # the handler hangs the stream up after this many frames


@pytest.fixture
async def served() -> AsyncIterator[tuple[AudioSocketServer, Heard]]:
    heard = Heard()

    async def on_stream(stream: AudioStream) -> None:
        heard.streams.append(stream)
        try:
            async for pcm in stream:
                heard.audio.append(pcm)
                if heard.close_after is not None and len(heard.audio) >= heard.close_after:
                    await stream.close()
        except AudioSocketError as exc:
            heard.errors.append(exc)
        finally:
            heard.ended.set()

    server = AudioSocketServer(host="127.0.0.1", port=0, on_stream=on_stream,
                               uuid_timeout=0.5)
    await server.start()
    yield server, heard
    await server.stop()


async def connect(server: AudioSocketServer
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


def test_frames_are_kind_length_big_endian_then_payload() -> None:
    assert encode_frame(Kind.HANGUP) == b"\x00\x00\x00"
    assert encode_frame(Kind.AUDIO, FRAME)[:3] == b"\x10\x01\x40"
    assert uuid_frame(STREAM_ID) == b"\x01\x00\x10" + STREAM_ID.bytes
    with pytest.raises(ValueError, match="at most 65535"):
        encode_frame(Kind.AUDIO, bytes(65536))


async def test_given_uuid_audio_dtmf_and_hangup_then_the_handler_gets_them_in_order(
    served: tuple[AudioSocketServer, Heard],
) -> None:
    server, heard = served
    reader, writer = await connect(server)
    writer.write(uuid_frame(STREAM_ID) + encode_frame(Kind.AUDIO, FRAME)
                 + encode_frame(Kind.DTMF, b"#") + encode_frame(Kind.AUDIO, FRAME[:160])
                 + encode_frame(Kind.HANGUP))
    await writer.drain()
    await asyncio.wait_for(heard.ended.wait(), 5)
    (stream,) = heard.streams
    assert stream.id == STREAM_ID and heard.audio == [FRAME, FRAME[:160]]
    assert stream.digits == "#" and stream.ended_by == "hangup"
    assert stream.audio_bytes == 480 and heard.errors == []
    assert await reader.read() == encode_frame(Kind.HANGUP)  # the server hangs up too
    writer.close()


async def test_given_frames_split_across_writes_then_they_are_reassembled(
    served: tuple[AudioSocketServer, Heard],
) -> None:
    server, heard = served
    _reader, writer = await connect(server)
    wire = uuid_frame(STREAM_ID) + encode_frame(Kind.AUDIO, FRAME) * 3
    for i in range(0, len(wire), 7):  # Nagle off on loopback: many small segments
        writer.write(wire[i:i + 7])
        await writer.drain()
    writer.close()  # closing is a hang-up as well
    await asyncio.wait_for(heard.ended.wait(), 5)
    assert heard.audio == [FRAME] * 3 and heard.streams[0].ended_by == "closed"


async def test_given_a_connection_closed_inside_a_frame_then_the_stream_fails_by_name(
    served: tuple[AudioSocketServer, Heard],
) -> None:
    server, heard = served
    _reader, writer = await connect(server)
    writer.write(uuid_frame(STREAM_ID) + encode_frame(Kind.AUDIO, FRAME)[:100])
    await writer.drain()
    writer.close()
    await asyncio.wait_for(heard.ended.wait(), 5)
    (error,) = heard.errors
    assert "inside a frame of kind 0x10: 97 of 320 payload bytes" in str(error)


async def test_given_an_error_frame_then_the_stream_fails_with_its_code(
    served: tuple[AudioSocketServer, Heard],
) -> None:
    server, heard = served
    _reader, writer = await connect(server)
    writer.write(uuid_frame(STREAM_ID) + encode_frame(Kind.ERROR, b"\x02"))
    await writer.drain()
    await asyncio.wait_for(heard.ended.wait(), 5)
    assert "error frame (02)" in str(heard.errors[0])
    writer.close()


async def test_given_another_sample_rate_then_the_stream_is_refused(
    served: tuple[AudioSocketServer, Heard],
) -> None:
    server, heard = served
    _reader, writer = await connect(server)
    writer.write(uuid_frame(STREAM_ID) + encode_frame(0x12, FRAME))  # 16 kHz slin
    await writer.drain()
    await asyncio.wait_for(heard.ended.wait(), 5)
    assert "0x12 is not 8 kHz slin" in str(heard.errors[0])
    writer.close()


@pytest.mark.parametrize("first", [b"", encode_frame(Kind.AUDIO, FRAME),
                                   encode_frame(Kind.UUID, b"short")],
                         ids=["silent", "audio-first", "short-uuid"])
async def test_given_no_uuid_first_then_the_connection_is_closed_without_a_stream(
    served: tuple[AudioSocketServer, Heard], first: bytes,
) -> None:
    server, heard = served
    reader, writer = await connect(server)
    writer.write(first)
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed (after the timeout)
    assert heard.streams == [] and server.accepted == 0
    writer.close()


async def test_given_the_handler_closes_then_asterisk_gets_a_hangup_frame(
    served: tuple[AudioSocketServer, Heard],
) -> None:
    server, heard = served
    heard.close_after = 2
    reader, writer = await connect(server)
    writer.write(uuid_frame(STREAM_ID) + encode_frame(Kind.AUDIO, FRAME) * 2)
    await writer.drain()
    frame = await asyncio.wait_for(read_frame(reader), 5)
    assert frame is not None and frame.kind == Kind.HANGUP and frame.payload == b""
    assert await read_frame(reader) is None  # then the connection closes
    await asyncio.wait_for(heard.ended.wait(), 5)
    assert heard.streams[0].ended_by == "closed_here" and len(heard.audio) == 2
    writer.close()

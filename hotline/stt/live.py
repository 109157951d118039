"""Live transcription of a caller's message: the transcript and the draft exist at hang-up.

While the IVR records a message (``RECORD FILE``), Asterisk also sends the caller's audio to
our AudioSocket server: the AGI channel runs ``Originate(AudioSocket/<us>/<uuid>/c(slin),app,
ChanSpy,<caller>\\,qEuo)``, a spy channel that hears only the caller (``o``), quietly (``q``),
and ends with the call (``E``). The caller's channel is untouched: the prompt, the beep, ``#``,
the silence end, MixMonitor and the message file are exactly as without streaming.

The spy starts a little before the recording (the beep): the stream's audio is the recording's
sample for sample, after a lead. The lead is found by reading the head of the message file as
Asterisk writes it (``find_lead``); from there on the stream is cut into the same half-second
chunks as ``transcribe_file`` reads from the file and fed to a live recogniser
(``StreamWorker``), so the words are the batch job's words. At the end the file, now complete,
is compared with what was fed: equal (or the file a prefix: RECORD FILE trims a silence end)
and the transcript is stored as the recording's job; otherwise the batch job does it.

The job is held (leased, renewed) from the start of the stream, so no worker takes the
finished file meanwhile; a stream that fails withdraws the job and the recording is queued
like any other ("the batch job stays the fallback and the reference"). One recording, one
job, one transcript either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.config import Settings
from hotline.stt import queue
from hotline.stt.errors import SttError
from hotline.stt.service import TranscriptionService
from hotline.stt.stream_worker import StreamFailed, StreamWorker
from hotline.telephony.audiosocket import AudioSocketServer, AudioStream

log = logging.getLogger(__name__)

CHUNK_BYTES = 8000  # half a second of 8 kHz 16-bit audio: transcribe_file's chunks
PROBE_BYTES = 1600  # a tenth of a second of sound locates the recording in the stream
HEAD_BYTES = 44 + 30 * 16000  # the file's first sound is looked for in its first 30 s
FROM_FILE_BYTES = 16000  # a hang-up may end the stream a few frames before the file
KEPT_CHUNKS = 64  # raw chunks kept for the final comparison of a trimmed ending (32 s)


def first_sound(pcm: bytes) -> int | None:
    """Byte offset of the first non-zero sample (16-bit), None if all are zero."""
    stripped = pcm.lstrip(b"\x00")
    if not stripped:
        return None
    at = len(pcm) - len(stripped)
    return at - at % 2


def find_lead(stream: bytes, head: bytes) -> int | None:
    """Where the recording whose first bytes are ``head`` starts in ``stream`` (in bytes),
    or None while that cannot be told yet (the file has no sound so far, or the stream has
    not reached it). Raises :class:`SttError` when the stream cannot hold the recording."""
    sound = first_sound(head)
    if sound is None or len(head) - sound < PROBE_BYTES:
        return None
    probe = head[sound:sound + PROBE_BYTES]
    at = stream.find(probe)
    while at >= 0 and at % 2:
        at = stream.find(probe, at + 1)
    if at < 0:
        if len(stream) > len(head) + 30 * 16000:
            raise SttError("the recording's first sound is not in the stream")
        return None
    lead = at - sound
    if lead < 0 or stream[lead:lead + len(head)] != head[:len(stream) - lead]:
        raise SttError("the stream started after the recording, or differs from it")
    return lead


@dataclass
class _Session:
    """A message being recorded and streamed."""

    stream_id: uuid.UUID
    call_id: str
    host_path: Path
    recording_id: int
    claim: queue.Claim
    created: float = field(default_factory=time.monotonic)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    stream: AudioStream | None = None
    outcome: str = "waiting"  # stored / fallback: <why>


class _Fed:
    """What reached the recogniser: digests of each chunk, the last chunks raw."""

    def __init__(self) -> None:
        self.digests: list[bytes] = []
        self.recent: deque[bytes] = deque(maxlen=KEPT_CHUNKS)
        self.bytes = 0

    def add(self, chunk: bytes) -> None:
        self.digests.append(hashlib.sha1(chunk).digest())
        self.recent.append(chunk)
        self.bytes += len(chunk)

    def matches(self, recorded: bytes) -> bool:
        """The recording equals what was fed, or is a prefix of it within the chunks kept."""
        if len(recorded) > self.bytes:
            return False
        whole, rest = divmod(len(recorded), CHUNK_BYTES)
        for i in range(whole):
            if hashlib.sha1(recorded[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]).digest() \
                    != self.digests[i]:
                return False
        if rest:
            back = len(self.digests) - whole
            if back > len(self.recent):
                return False
            return self.recent[-back][:rest] == recorded[whole * CHUNK_BYTES:]
        return True


class LiveTranscripts:
    """The AudioSocket server, the live recogniser and the messages being streamed."""

    def __init__(self, *, settings: Settings, service: TranscriptionService) -> None:
        self.settings = settings
        self.config = settings.stt.stream
        self.service = service
        self.server = AudioSocketServer(host=self.config.host, port=self.config.port,
                                        on_stream=self._on_stream)
        self.worker: StreamWorker | None = None
        self.sessions: dict[uuid.UUID, _Session] = {}
        self.stored = 0
        self.fell_back = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if not self.config.enabled:
            return
        model = self.service.models.get(self.settings.stt.language)
        if model is None:
            log.warning("live transcription off: no %s model yet (the batch job transcribes "
                        "messages)", self.settings.stt.language)
            return
        self.worker = StreamWorker((model,))
        self.worker.start()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in list(self.sessions.values()):
            await self._fall_back(session, "the controller is stopping")
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop)
            self.worker = None

    def status(self) -> dict[str, Any]:
        return {"enabled": self.worker is not None, "listening": self.server.listening,
                "worker_pid": self.worker.pid if self.worker else None,
                "ready": bool(self.worker and self.worker.ready),
                "streaming": len(self.sessions), "stored": self.stored,
                "fell_back": self.fell_back}

    # the IVR's side (hotline.telephony.agi.MessageStreams) -------------------------------
    async def begin(self, *, call_id: str, host_path: str) -> str | None:
        """A message is about to be recorded at ``host_path``: the AudioSocket dial string
        of its stream, or None (not streamed: no model, the job is taken, …)."""
        worker = self.worker
        if worker is None or not worker.alive:
            return None
        path = Path(host_path)
        try:
            rel = path.relative_to(self.settings.recordings_dir).as_posix()
            claim = await self.service.claim_live(path=rel)
        except Exception:  # the database is away: the batch job will do it
            log.exception("call %s: live transcription not started", call_id)
            return None
        if claim is None or claim.recording_id is None:
            return None
        recording_id = claim.recording_id
        session = _Session(stream_id=uuid.uuid4(), call_id=call_id, host_path=path,
                           recording_id=recording_id, claim=claim)
        self.sessions[session.stream_id] = session
        self._spawn(self._watch(session), f"live-{call_id}")
        return (f"AudioSocket/{self.config.connect_host or self.config.host}:"
                f"{self.server.port}/{session.stream_id}/c(slin)")

    async def end(self, dial: str) -> None:
        """The recording ended (key, silence, length, hang-up): the stream ends too."""
        stream_id = uuid.UUID(dial.split("/")[2])
        session = self.sessions.get(stream_id)
        if session is not None and session.stream is not None:
            await session.stream.close()

    # the stream ---------------------------------------------------------------------
    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, session: _Session) -> None:
        """Keep the job's lease while streaming; give up if Asterisk never connects."""
        interval = self.settings.stt.lease_seconds / 3
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                await session.connected.wait()
        except TimeoutError:
            await self._fall_back(session, "Asterisk did not connect the stream")
            return
        while not session.done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await session.done.wait()
            if not session.done.is_set() and not await self.service.renew_live(session.claim):
                log.warning("call %s: live transcription lost its job's lease",
                            session.call_id)

    async def _on_stream(self, stream: AudioStream) -> None:
        session = self.sessions.get(stream.id)
        if session is None or session.done.is_set():
            log.warning("AudioSocket: no message waits for stream %s", stream.id)
            return
        session.stream = stream
        session.connected.set()
        worker = self.worker
        assert worker is not None
        name = str(stream.id)
        try:
            fed, pending = await self._feed(session, stream, worker, name)
            recorded = await self._recorded(session.host_path)
            # The last, partial chunk only as far as the file goes: the stream ends a few
            # frames after the recording (the AGI command returns, then we hang the spy up),
            # or a frame before it (a hang-up ends the spy first): that much comes from the
            # file (compared with the rest below).
            missing = len(recorded) - fed.bytes - len(pending)
            if missing > FROM_FILE_BYTES:
                raise SttError(f"the stream lacks the last {missing / 16000:.2f} s of the "
                               "message")
            if missing > 0:
                pending += recorded[len(recorded) - missing:]
            tail = bytes(pending[:max(0, len(recorded) - fed.bytes)])
            for start in range(0, len(tail), CHUNK_BYTES):
                self._send(worker, name, fed, tail[start:start + CHUNK_BYTES])
            result = await worker.finish(name, audio_seconds=len(recorded) / 16000)
            if not fed.matches(recorded):
                raise SttError(f"the message file ({len(recorded)} bytes) is not what was "
                               f"streamed ({fed.bytes} bytes)")
        except (SttError, StreamFailed, OSError) as exc:
            worker.drop(name)
            await self._fall_back(session, str(exc))
            return
        except BaseException:
            worker.drop(name)
            await self._fall_back(session, "the stream was interrupted")
            raise
        await self._store(session, result)

    @staticmethod
    def _send(worker: StreamWorker, name: str, fed: _Fed, chunk: bytes) -> None:
        worker.feed(name, chunk)
        fed.add(chunk)

    async def _feed(self, session: _Session, stream: AudioStream, worker: StreamWorker,
                    name: str) -> tuple[_Fed, bytearray]:
        """Stream → recogniser from the recording's first sample, in whole chunks; returns
        what was fed and the partial chunk left when the stream ended."""
        worker.open(name, self.service.models[self.settings.stt.language])
        fed, pending = _Fed(), bytearray()
        lead: int | None = None
        checked = 0.0
        async for pcm in stream:
            pending += pcm
            if lead is None:
                if time.monotonic() - checked < 0.2:
                    continue
                checked = time.monotonic()
                lead = find_lead(bytes(pending), await self._head(session.host_path))
                if lead is None:
                    continue
                del pending[:lead]
            while len(pending) > CHUNK_BYTES:  # the last chunk waits for the end
                self._send(worker, name, fed, bytes(pending[:CHUNK_BYTES]))
                del pending[:CHUNK_BYTES]
        if lead is None:  # the stream ended first: the file is complete now
            lead = find_lead(bytes(pending), await self._head(session.host_path))
            if lead is None:
                raise SttError("the recording could not be found in the stream")
            del pending[:lead]
        while len(pending) > CHUNK_BYTES:
            self._send(worker, name, fed, bytes(pending[:CHUNK_BYTES]))
            del pending[:CHUNK_BYTES]
        return fed, pending

    async def _head(self, path: Path) -> bytes:
        def read() -> bytes:
            try:
                with path.open("rb") as f:
                    data = f.read(HEAD_BYTES)
            except FileNotFoundError:
                return b""
            at = data.find(b"data")
            return data[at + 8:] if at >= 0 else b""

        head = await asyncio.to_thread(read)
        return head[:len(head) - len(head) % 2]

    async def _recorded(self, path: Path) -> bytes:
        """The message's audio once Asterisk closed the file: its header then announces
        the audio's size (0 while it writes)."""
        def read() -> tuple[bytes, bool]:
            data = path.read_bytes()
            at = data.find(b"data")
            if at < 0 or len(data) < at + 8:
                return b"", False
            announced = int.from_bytes(data[at + 4:at + 8], "little")
            audio = data[at + 8:]
            return audio[:len(audio) - len(audio) % 2], 0 < announced <= len(audio)

        audio, closed = await asyncio.to_thread(read)
        deadline = time.monotonic() + self.config.settle_seconds
        while not closed and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            audio, closed = await asyncio.to_thread(read)
        return audio

    # outcomes -----------------------------------------------------------------------
    async def _store(self, session: _Session, result: dict[str, Any]) -> None:
        try:
            row = await self.service.complete_live(session.claim, result)
        except Exception as exc:  # noqa: BLE001 - the batch job will do it
            await self._fall_back(session, f"storing failed: {exc}")
            return
        if row is None:
            await self._fall_back(session, "the job's lease was lost")
            return
        self.stored += 1
        session.outcome = "stored"
        log.info("call %s: message transcribed live (%.1f s of audio, transcript %s)",
                 session.call_id, result["audio_seconds"], row.id)
        self._close(session)

    async def _fall_back(self, session: _Session, why: str) -> None:
        if session.done.is_set():
            return
        session.outcome = f"fallback: {why}"
        self.fell_back += 1
        log.warning("call %s: live transcription failed (%s): the batch job transcribes "
                    "the message", session.call_id, why)
        self._close(session)
        with contextlib.suppress(Exception):
            await self.service.withdraw_live(session.claim)

    def _close(self, session: _Session) -> None:
        session.done.set()
        self.sessions.pop(session.stream_id, None)

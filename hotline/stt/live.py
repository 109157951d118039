"""Live transcription of a caller's message: the transcript and the draft exist at hang-up.

While the IVR records a message (``RECORD FILE``), Asterisk also sends the caller's audio to
our AudioSocket server: the AGI channel runs ``Originate(AudioSocket/<us>/<uuid>/c(slin),app,
ChanSpy,<caller>\\,qEuo)``, a spy channel that hears only the caller (``o``), quietly (``q``),
and ends with the call (``E``). The caller's channel is untouched: the prompt, the beep, ``#``,
the silence end, MixMonitor and the message file are exactly as without streaming.

While the stream runs, the recogniser (the transcription service's interactive process,
``StreamWorker``, never busy with batch jobs) is fed the message in the same half-second
chunks as ``transcribe_file`` reads, so the words are the batch job's words. What it is fed
is the recording itself, read as Asterisk writes it (a few kilobytes behind): the stream
alone is not a faithful copy. ChanSpy's audiohook drops audio it could not hand over in time
(``AST_AUDIOHOOK_SMALL_QUEUE``), which on a loaded machine happened in three of five
60-second messages. The stream is cut where the recording starts
(``find_lead``) and compared with the file; where they part, the log says so and the file's
audio goes on (``repaired`` in the status). The end of the stream is the end of the message:
the closed file's last bytes are fed, and the transcript is stored as the recording's job.

The job is held (leased, renewed) from the start of the stream, so no worker takes the
finished file meanwhile; a stream that fails (Asterisk does not connect, the recogniser dies,
the file does not close) withdraws the job and the recording is queued like any other ("the
batch job stays the fallback and the reference"). One recording, one job, one transcript.
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
HEAD_BYTES = 30 * 16000  # the file's first sound is looked for in its first 30 s
READ_EVERY = 0.1  # seconds between reads of the growing message file
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
        return self.first_difference(recorded) is None

    def first_difference(self, recorded: bytes) -> int | None:
        """The byte offset of the chunk where the recording and what was fed first differ
        (None: the recording is what was fed, or a prefix of it within the chunks kept)."""
        whole, rest = divmod(min(len(recorded), self.bytes), CHUNK_BYTES)
        for i in range(whole):
            if hashlib.sha1(recorded[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]).digest() \
                    != self.digests[i]:
                return i * CHUNK_BYTES
        if len(recorded) > self.bytes:
            return self.bytes
        if rest:
            back = len(self.digests) - whole
            if back > len(self.recent) \
                    or self.recent[-back][:rest] != recorded[whole * CHUNK_BYTES:]:
                return whole * CHUNK_BYTES
        return None


class _Tail:
    """The audio of a WAV file that Asterisk is still writing, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.audio = bytearray()
        self._offset: int | None = None  # where the audio starts in the file

    def read(self) -> None:
        try:
            with self.path.open("rb") as f:
                if self._offset is None:
                    head = f.read(512)
                    at = head.find(b"data")
                    if at < 0:
                        return
                    self._offset = at + 8
                f.seek(self._offset + len(self.audio))
                more = f.read()
        except FileNotFoundError:
            return
        self.audio += more[:len(more) - len(more) % 2]


class _Check:
    """The stream compared with the file: where it starts in the stream (``find_lead``),
    how far they agree, and where the stream first lost or changed audio."""

    def __init__(self) -> None:
        self.stream = bytearray()
        self.lead: int | None = None
        self.agreed = 0  # bytes of the file the stream holds unchanged
        self.diverged_at: int | None = None
        self.problem: str | None = None

    def align(self, audio: bytearray) -> None:
        if self.lead is not None or self.diverged_at is not None:
            return
        try:
            self.lead = find_lead(bytes(self.stream), bytes(audio[:HEAD_BYTES]))
        except SttError as exc:
            self.diverged_at, self.problem = 0, str(exc)
            return
        if self.lead is not None:
            del self.stream[:self.lead]

    def compare(self, audio: bytes | bytearray) -> None:
        if self.lead is None or self.diverged_at is not None:
            return
        end = min(len(audio), len(self.stream))
        if end <= self.agreed:
            return
        if self.stream[self.agreed:end] == audio[self.agreed:end]:
            self.agreed = end
            return
        at = self.agreed
        while at < end and self.stream[at:at + 2] == audio[at:at + 2]:
            at += 2
        self.agreed = self.diverged_at = at


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
        self.repaired = 0  # stored, but the stream had lost audio: the file's was fed
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if not self.config.enabled:
            return
        model = self.service.models.get(self.settings.stt.language)
        if model is None:
            log.warning("live transcription off: no %s model yet (the batch job transcribes "
                        "messages)", self.settings.stt.language)
            return
        self.worker = self.service.interactive_recogniser()
        if self.worker is None:
            log.warning("live transcription off: the transcription service is not started")
            return
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in list(self.sessions.values()):
            await self._fall_back(session, "the controller is stopping")
        self.worker = None  # the transcription service's: it stops it

    def status(self) -> dict[str, Any]:
        return {"enabled": self.worker is not None, "listening": self.server.listening,
                "worker_pid": self.worker.pid if self.worker else None,
                "ready": bool(self.worker and self.worker.ready),
                "streaming": len(self.sessions), "stored": self.stored,
                "repaired": self.repaired, "fell_back": self.fell_back}

    # the IVR's side (hotline.telephony.agi.MessageStreams) -------------------------------
    async def begin(self, *, call_id: str, host_path: str) -> str | None:
        """A message is about to be recorded at ``host_path``: the AudioSocket dial string
        of its stream, or None (not streamed: no model, the job is taken, …)."""
        if self.worker is None:
            return None
        # it died (its streams fell back): the service starts a new one for this message
        self.worker = self.service.interactive_recogniser()
        if self.worker is None:
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
            fed, check = await self._feed(session, stream, worker, name)
            recorded = await self._recorded(session.host_path)
            rest = recorded[fed.bytes:]  # the file's last bytes (it closed at the end)
            for start in range(0, len(rest), CHUNK_BYTES):
                self._send(worker, name, fed, rest[start:start + CHUNK_BYTES])
            result = await worker.finish(name, audio_seconds=len(recorded) / 16000)
            differs = fed.first_difference(recorded)
            if differs is not None:
                raise SttError(f"the message file ({len(recorded) / 16000:.2f} s) changed "
                               f"from {differs / 16000:.1f} s on while it was transcribed")
            check.compare(recorded)
        except (SttError, StreamFailed, OSError) as exc:
            worker.drop(name)
            await self._fall_back(session, str(exc))
            return
        except BaseException:
            worker.drop(name)
            await self._fall_back(session, "the stream was interrupted")
            raise
        if check.diverged_at is not None:
            self.repaired += 1
            log.warning("call %s: the stream lost audio at %.2f s (the spy's audiohook "
                        "dropped it); the message file's own audio was fed from there",
                        session.call_id, check.diverged_at / 16000)
        await self._store(session, result)

    @staticmethod
    def _send(worker: StreamWorker, name: str, fed: _Fed, chunk: bytes) -> None:
        worker.feed(name, chunk)
        fed.add(chunk)

    async def _feed(self, session: _Session, stream: AudioStream, worker: StreamWorker,
                    name: str) -> tuple[_Fed, _Check]:
        """While the stream runs: every chunk the message file confirms goes to the
        recogniser. The file, as Asterisk writes it (a few kilobytes behind), is the
        reference; the stream, cut where the file starts, is compared with it."""
        worker.open(name, self.service.models[self.settings.stt.language])
        fed, check, tail = _Fed(), _Check(), _Tail(session.host_path)
        checked = 0.0
        async for pcm in stream:
            check.stream += pcm
            if time.monotonic() - checked < READ_EVERY:
                continue
            checked = time.monotonic()
            await asyncio.to_thread(tail.read)
            check.align(tail.audio)
            while len(tail.audio) - fed.bytes > CHUNK_BYTES:  # the last chunk waits
                self._send(worker, name, fed,
                           bytes(tail.audio[fed.bytes:fed.bytes + CHUNK_BYTES]))
            check.compare(tail.audio)
        return fed, check

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
        if not closed:  # the stream ended before the recording (a dropped connection)
            raise SttError(f"the message file was still open {self.config.settle_seconds} s "
                           "after the stream ended")
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

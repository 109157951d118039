"""The interactive recogniser: live messages and speech-menu answers, never behind batch jobs.

A live recognition has state (the Kaldi decoder), so it cannot hop between the transcription
pool's processes the way a whole file can. ``StreamWorker`` is one process of its own (spawned,
the models loaded once) holding any number of recognitions by id; the event loop only puts
messages on a queue (never blocks) and awaits the result::

    worker = StreamWorker((model,))
    worker.start()
    worker.open("call-1", model)
    worker.feed("call-1", pcm_8k)        # 16-bit mono 8 kHz, half a second per message
    result = await worker.finish("call-1", audio_seconds=12.5)   # transcript fields
    choice = await worker.choose(Path("answer.wav"), ["네", "아니요"], model)  # a speech menu
    worker.stop()

The transcription service owns it (``TranscriptionService.interactive``): it is the lane of
everything a caller waits on, while the batch pool's processes work through the queue at a
lower priority (``service.BATCH_NICE``), so a backlog of long recordings delays neither a live
message nor a speech menu's answer.

Each chunk is resampled to the model's rate with its state carried over (``audioop.ratecv``)
and fed through ``recognizer.Transcription``: the same chunks as ``transcribe_file`` makes of
the same audio, hence the same words. A choice is ``recognize_choice`` in this process. A
recognition that fails, or a process that dies, fails its ``finish`` (or ``choose``) with
:class:`StreamFailed`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue as stdlib_queue
import threading
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotline.stt.errors import SttError
from hotline.stt.models_dir import ModelInfo
from hotline.stt.recognizer import Choice, Transcription, preload_niced, recognize_choice

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

log = logging.getLogger(__name__)
INPUT_RATE = 8000  # AudioSocket slin
NICE = 10


class StreamFailed(SttError):
    error_id = "stream-failed"


class _Live:
    """One recognition inside the worker process."""

    def __init__(self, model: ModelInfo) -> None:
        self.run = Transcription(model)
        self.rate = model.sample_rate
        self.state: Any = None

    def accept(self, pcm: bytes) -> None:
        if self.rate != INPUT_RATE:
            pcm, self.state = audioop.ratecv(pcm, 2, 1, INPUT_RATE, self.rate, self.state)
        self.run.accept(pcm)


def serve(inbox: Any, outbox: Any, models: Sequence[ModelInfo]) -> None:
    """The worker process's loop: ``(op, id, arg)`` messages until ``None``.

    It runs at a lower priority (nice 10): recognition may lag a little, but Asterisk's
    threads must not, or the spy's audiohook drops audio it could not hand over in time."""
    preload_niced(models, NICE)
    outbox.put(("", "ready", None))
    live: dict[str, _Live] = {}
    while True:
        message = inbox.get()
        if message is None:
            return
        op, stream_id, arg = message
        try:
            if op == "open":
                live[stream_id] = _Live(arg)
            elif op == "audio":
                if stream_id in live:  # a failed recognition ignores the rest of its audio
                    live[stream_id].accept(arg)
            elif op == "finish":
                run = live.pop(stream_id, None)
                if run is None:
                    raise SttError("no such recognition in this process")
                outbox.put((stream_id, "done", run.run.finish(audio_seconds=arg)))
            elif op == "drop":
                live.pop(stream_id, None)
            elif op == "choose":
                audio, phrases, model = arg
                outbox.put((stream_id, "done", recognize_choice(audio, phrases, model)))
        except Exception as exc:  # noqa: BLE001 - reported to the stream's owner
            live.pop(stream_id, None)
            outbox.put((stream_id, "error", f"{type(exc).__name__}: {exc}"))


class StreamWorker:
    """The app's handle on one live-recognition process (see the module docstring)."""

    def __init__(self, models: Sequence[ModelInfo]) -> None:
        self.models = tuple(models)
        self.ready = False
        self._ctx = multiprocessing.get_context("spawn")
        self._inbox: Any = None
        self._outbox: Any = None
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._failed: dict[str, str] = {}
        self._opened: dict[str, Any] = {}  # stream id -> the process holding it
        self._stopping = False

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process (the models load there, in the background)."""
        self._loop = asyncio.get_running_loop()
        self._stopping, self.ready = False, False
        self._inbox, self._outbox = self._ctx.Queue(), self._ctx.Queue()
        self._process = self._ctx.Process(target=serve, name="hotline-stt-stream",
                                          args=(self._inbox, self._outbox, self.models),
                                          daemon=True)
        self._process.start()
        self._reader = threading.Thread(target=self._read, name="stt-stream-results",
                                        args=(self._outbox, self._process), daemon=True)
        self._reader.start()

    def stop(self) -> None:
        self._stopping = True
        if self._process is None:
            return
        if self._process.is_alive():
            self._inbox.put(None)
            self._process.join(5)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)
        if self._reader is not None:
            self._reader.join(5)
        self._fail_all("the live-recognition process stopped", self._process)
        for q in (self._inbox, self._outbox):
            q.close()
            q.cancel_join_thread()
        self._process = None

    # one recognition ----------------------------------------------------------------
    def open(self, stream_id: str, model: ModelInfo) -> None:
        if not self.alive:
            raise StreamFailed(f"stream {stream_id}: the live-recognition process is not "
                               "running")
        self._failed.pop(stream_id, None)
        self._opened[stream_id] = self._process
        self._inbox.put(("open", stream_id, model))

    def feed(self, stream_id: str, pcm: bytes) -> None:
        self._inbox.put(("audio", stream_id, pcm))

    def drop(self, stream_id: str) -> None:
        self._failed.pop(stream_id, None)
        self._opened.pop(stream_id, None)
        if self.alive:
            self._inbox.put(("drop", stream_id, None))

    async def finish(self, stream_id: str, *, audio_seconds: float) -> dict[str, Any]:
        """The transcript fields of everything fed (the recognition ends)."""
        if stream_id in self._failed:
            raise StreamFailed(f"stream {stream_id}: {self._failed.pop(stream_id)}")
        if not self.alive:
            raise StreamFailed(f"stream {stream_id}: the live-recognition process died")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[stream_id] = future
        self._inbox.put(("finish", stream_id, audio_seconds))
        try:
            return await future
        finally:
            self._waiting.pop(stream_id, None)
            self._opened.pop(stream_id, None)

    # one speech-menu answer ---------------------------------------------------------
    async def choose(self, audio: Path | bytes, phrases: Sequence[str], model: ModelInfo
                     ) -> Choice:
        """Which of ``phrases`` was said (``recognize_choice`` in the process)."""
        if not self.alive:
            raise StreamFailed("the interactive recogniser is not running")
        ask = f"choice-{uuid.uuid4()}"
        future: asyncio.Future[Choice] = asyncio.get_running_loop().create_future()
        self._waiting[ask] = future
        self._opened[ask] = self._process
        self._inbox.put(("choose", ask, (audio, list(phrases), model)))
        try:
            return await future
        finally:
            self._waiting.pop(ask, None)
            self._opened.pop(ask, None)
            self._failed.pop(ask, None)

    # results, read in a thread ------------------------------------------------------
    def _read(self, outbox: Any, process: Any) -> None:
        """Results of ``process`` (this thread ends with it; a new process gets its own)."""
        while True:
            try:
                stream_id, kind, value = outbox.get(timeout=0.5)
            except stdlib_queue.Empty:
                if self._stopping or not process.is_alive():
                    self._call(self._fail_all, "the live-recognition process died", process)
                    return
                continue
            except (EOFError, OSError):
                return
            self._call(self._deliver, stream_id, kind, value)

    def _call(self, fn: Any, *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _deliver(self, stream_id: str, kind: str, value: Any) -> None:
        if kind == "ready":
            self.ready = True
            return
        future = self._waiting.get(stream_id)
        if kind == "done":
            if future is not None and not future.done():
                future.set_result(value)
        elif future is not None and not future.done():
            future.set_exception(StreamFailed(f"stream {stream_id}: {value}"))
        else:
            self._failed[stream_id] = str(value)

    def _fail_all(self, reason: str, process: Any) -> None:
        """Every recognition ``process`` held fails (at once, or at its ``finish``)."""
        for stream_id, holder in list(self._opened.items()):
            if holder is not process:
                continue
            future = self._waiting.get(stream_id)
            if future is not None and not future.done():
                future.set_exception(StreamFailed(f"stream {stream_id}: {reason}"))
            else:
                self._failed[stream_id] = reason

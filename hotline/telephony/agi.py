"""FastAGI server (on panoramisk) and the ``CallChannel`` adapter the IVR runner drives.

panoramisk 1.4's own connection handler spins at 100 % CPU on a port probe and raises when
Asterisk closes the socket mid-command; ours reads the AGI header with a timeout and always
closes cleanly. panoramisk's result dicts become our exceptions here, at one seam:
``{'error': 'AGIResultHangup'}``, ``{'error': 'AGIAppError'}`` on a dead channel and status 511
become ``CallerHungUp``; anything else ``AgiError``.

Example::

    server = AgiServer(host="127.0.0.1", port=4573, header_timeout=5.0)
    server.add_route("ivr", handle_call)      # async def handle_call(request: AgiRequest)
    await server.start(); ...; await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from panoramisk import fast_agi

from hotline.errors import AgiError, CallerHungUp, TelephonyError
from hotline.ivr.ports import (
    DialOutcome,
    DialStatus,
    ListenOutcome,
    Prompt,
    QueueOutcome,
    QueueStatus,
    RecordOutcome,
)

log = logging.getLogger(__name__)

Route = Callable[["AgiRequest"], Awaitable[None]]
MAX_HEADER_BYTES = 16384


class CommandStats:
    """Round-trip times of AGI commands, by verb (for the benchmark and /status)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, verb: str, seconds: float) -> None:
        bucket = self.samples.setdefault(verb, [])
        if len(bucket) < 200_000:
            bucket.append(seconds)


class AgiRequest(fast_agi.Request):  # type: ignore[misc]
    """One FastAGI connection. ``command`` raises instead of returning error dicts."""

    def __init__(self, *, headers: dict[str, str], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, stats: CommandStats) -> None:
        super().__init__(app=None, headers=headers, reader=reader, writer=writer)
        self.stats = stats
        self.dead = False

    @property
    def channel(self) -> str:
        return str(self.headers.get("agi_channel", "?"))

    async def command(self, line: str) -> dict[str, Any]:
        if self.dead:
            raise CallerHungUp(f"{self.channel}: caller already hung up, not sending {line!r}")
        two_words = ("GET", "SET", "STREAM", "RECORD", "CHANNEL", "WAIT")
        verb = " ".join(line.split()[:2 if line.startswith(two_words) else 1])
        started = time.perf_counter()
        try:
            result: dict[str, Any] = await self.send_command(line)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, OSError) as exc:
            # Asterisk closed the socket (the call is gone) or sent garbage.
            self.dead = True
            raise CallerHungUp(f"{self.channel}: connection closed during {line!r}") from exc
        self.stats.add(verb, time.perf_counter() - started)
        error = result.get("error")
        if error == "AGIResultHangup" or result.get("status_code") == 511:
            self.dead = True
            raise CallerHungUp(f"{self.channel}: caller hung up during {line!r}")
        if error == "AGIAppError":
            # result=-1: an application failed, or the caller hung up. Ask which.
            if await self._is_dead():
                self.dead = True
                raise CallerHungUp(f"{self.channel}: caller hung up during {line!r}")
            raise AgiError(f"{self.channel}: {line!r} failed (result -1)", command=line)
        if error:
            raise AgiError(f"{self.channel}: {line!r} failed: {result.get('msg') or error}",
                           command=line)
        return result

    async def _is_dead(self) -> bool:
        try:
            result = await self.send_command("CHANNEL STATUS")
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, OSError):
            return True
        return bool(result.get("status_code") == 511 or result.get("error"))

    async def get_variable(self, name: str) -> str:
        result = await self.command(f"GET VARIABLE {name}")
        value, data = result.get("result", ("0", ""))
        return data if value == "1" else ""


class AgiServer(fast_agi.Application):  # type: ignore[misc]
    """panoramisk's Application with a robust connection handler and async-only routes."""

    def __init__(self, *, host: str, port: int, header_timeout: float) -> None:
        # Not Application.__init__: it calls asyncio.get_event_loop(), which outside a running
        # loop creates one that nobody closes. The server runs on the loop that calls start().
        dict.__init__(self)
        self.default_encoding = "utf-8"
        self.loop = None
        self._route: OrderedDict[str, Route] = OrderedDict()
        self.host = host
        self.port = port
        self.header_timeout = header_timeout
        self.stats = CommandStats()
        self.active: set[asyncio.Task[None]] = set()
        self.handled = 0
        self._server: asyncio.Server | None = None

    def add_route(self, path: str, endpoint: Route) -> None:
        if not asyncio.iscoroutinefunction(endpoint):
            raise TypeError(f"AGI route {path!r}: the endpoint must be an async function")
        super().add_route(path, endpoint)

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self.handler, self.host, self.port,
                                                      reuse_address=True)
        except OSError as exc:
            raise TelephonyError(
                f"FastAGI cannot listen on {self.host}:{self.port}: {exc.strerror} "
                "(another controller running? set HOTLINE_AGI__PORT and re-render the sandbox)"
            ) from exc
        log.info("FastAGI listening on %s:%s", self.host, self.port)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self.active):
                task.cancel()
            await asyncio.gather(*self.active, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.active.add(task)
        peer = writer.get_extra_info("peername")
        try:
            headers = await self._read_headers(reader, peer)
            if headers is not None:
                await self._dispatch(headers, reader, writer)
        except asyncio.CancelledError:
            # The server is stopping: the call goes on in the dialplan (fallback queue).
            log.info("FastAGI connection from %s closed: the controller is stopping", peer)
        except Exception:
            log.exception("FastAGI connection from %s failed", peer)
        finally:
            if task is not None:
                self.active.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _read_headers(self, reader: asyncio.StreamReader, peer: object
                            ) -> dict[str, str] | None:
        headers: dict[str, str] = OrderedDict()
        size = 0
        try:
            async with asyncio.timeout(self.header_timeout):
                while True:
                    line = await reader.readline()
                    size += len(line)
                    if not line or size > MAX_HEADER_BYTES:
                        log.warning("FastAGI: %s closed or flooded before the header ended", peer)
                        return None
                    text = line.decode("utf-8", "replace").rstrip("\r\n")
                    if not text:
                        break
                    key, sep, value = text.partition(": ")
                    if sep:
                        headers[key] = value
        except TimeoutError:
            log.warning("FastAGI: %s sent no AGI header within %.0f s", peer, self.header_timeout)
            return None
        if "agi_network_script" not in headers:
            log.warning("FastAGI: %s sent a header without agi_network_script", peer)
            return None
        return headers

    async def _dispatch(self, headers: dict[str, str], reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        script = headers["agi_network_script"].split("?", 1)[0].strip("/")
        route = self._route.get(script)
        if route is None:
            log.error("FastAGI: no route for %r (channel %s)", script, headers.get("agi_channel"))
            return
        self.handled += 1
        request = AgiRequest(headers=headers, reader=reader, writer=writer, stats=self.stats)
        await route(request)


class MessageStreams(Protocol):
    """Live audio of messages (``hotline.stt.live.LiveTranscripts``): ``begin`` gives the
    AudioSocket dial string of a message's stream (None: not streamed), ``end`` says the
    recording is over."""

    async def begin(self, *, call_id: str, host_path: str) -> str | None: ...

    async def end(self, dial: str) -> None: ...


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiCallChannel:
    """``CallChannel`` over one FastAGI request.

    ``resolve_prompt`` turns a Prompt into the name Asterisk plays (rendering it if needed);
    ``recording_name`` gives the Asterisk path (no extension) of a message recording and
    ``on_recording`` is told about it before recording starts, so a message is linked to the
    call even when the caller hangs up in the middle of it. ``answer_target`` gives the
    Asterisk and host paths of the N-th spoken answer of the call (speech menus).
    """

    def __init__(
        self,
        request: AgiRequest,
        *,
        resolve_prompt: Callable[[Prompt], Awaitable[str]],
        recording_target: Callable[[str, str], tuple[str, str]],
        on_recording: Callable[[str, str, datetime], Awaitable[None]],
        answer_target: Callable[[str, int], tuple[str, str]] | None = None,
        streams: MessageStreams | None = None,
    ) -> None:
        self.request = request
        self.caller = request.headers.get("agi_callerid", "")
        if self.caller in ("unknown", "<unknown>"):
            self.caller = ""
        self.call_id = request.headers.get("agi_uniqueid", "")
        self._resolve_prompt = resolve_prompt
        self._recording_target = recording_target
        self._on_recording = on_recording
        self._answer_target = answer_target
        self._answers = 0
        self._streams = streams

    async def answer(self) -> None:
        await self.request.command("ANSWER")

    async def play(self, prompt: Prompt, *, interrupt_keys: str = "") -> str | None:
        name = await self._resolve_prompt(prompt)
        result = await self.request.command(f"STREAM FILE {name} {_quote(interrupt_keys)}")
        code = int(result.get("result", ("0", ""))[0] or 0)
        return chr(code) if code > 0 else None

    async def read_digits(self, prompt: Prompt | None, *, max_digits: int, timeout: float) -> str:
        name = await self._resolve_prompt(prompt) if prompt else "silence/1"
        result = await self.request.command(
            f"GET DATA {name} {int(timeout * 1000)} {max_digits}"
        )
        # "200 result=12* (timeout)": keys typed before the timeout count, '*' included;
        # '#' ends the input and is not one of the keys.
        value = str(result.get("result", ("", ""))[0]).strip().split("#")[0]
        return value if all(key in "0123456789*ABCD" for key in value) else ""

    async def record(self, *, name: str, max_seconds: int, silence_seconds: int,
                     beep: bool) -> RecordOutcome:
        asterisk_path, host_path = self._recording_target(self.call_id, name)
        await self._on_recording(name, host_path, datetime.now(UTC))
        options = " BEEP" if beep else ""
        if silence_seconds > 0:
            options += f" s={silence_seconds}"
        dial = await self._stream(host_path)
        started = time.monotonic()
        try:
            result = await self.request.command(
                f'RECORD FILE {asterisk_path} wav "#" {max_seconds * 1000}{options}'
            )
        finally:
            if dial is not None and self._streams is not None:
                await self._streams.end(dial)
        value, data = result.get("result", ("0", ""))
        if data == "dtmf":
            ended_by = "key"
        elif time.monotonic() - started >= max_seconds - 0.5:
            ended_by = "max_length"
        else:
            ended_by = "silence"
        return RecordOutcome(path=host_path, ended_by=ended_by,
                             duration_ms=int((time.monotonic() - started) * 1000))

    async def _stream(self, host_path: str) -> str | None:
        """Start a live stream of the caller's audio to AudioSocket: a spy channel
        (ChanSpy: only the caller's audio, quiet, gone with the call) dialled by
        Originate. The caller's own channel is untouched; a failure only costs the stream."""
        if self._streams is None:
            return None
        dial = await self._streams.begin(call_id=self.call_id, host_path=host_path)
        if dial is None:
            return None
        spy = f"{dial},app,ChanSpy,{self.request.channel}\\,qEuo"
        try:
            await self.request.command(f"EXEC Originate {_quote(spy)}")
        except AgiError as exc:
            log.warning("%s: no live stream of the message: %s", self.request.channel, exc)
        return dial

    async def listen(self, *, max_seconds: int, silence_seconds: int, keys: str
                     ) -> ListenOutcome:
        if self._answer_target is None:
            raise AgiError(f"{self.request.channel}: no folder for spoken answers",
                           command="RECORD FILE")
        self._answers += 1
        asterisk_path, host_path = self._answer_target(self.call_id, self._answers)
        started = time.monotonic()
        # No BEEP; s= ends the answer after that much silence (from the start too: a caller
        # who says nothing ends it after silence_seconds).
        result = await self.request.command(
            f"RECORD FILE {asterisk_path} wav {_quote(keys)} {max_seconds * 1000} "
            f"s={silence_seconds}"
        )
        value, data = result.get("result", ("0", ""))
        code = int(value) if str(value).isdigit() else 0
        key = chr(code) if data == "dtmf" and code > 0 else None
        return ListenOutcome(path=host_path, key=key,
                             duration_ms=int((time.monotonic() - started) * 1000))

    async def queue(self, *, queue: str, max_wait: int, exit_keys: str) -> QueueOutcome:
        await self.request.command(f"EXEC Queue {_quote(f'{queue},cr,,,{max_wait}')}")
        status = await self.request.get_variable("QUEUESTATUS")
        member = await self.request.get_variable("MEMBERINTERFACE")
        exten = await self.request.get_variable("EXTEN")
        context = await self.request.get_variable("CONTEXT")
        log.debug("%s: Queue returned QUEUESTATUS=%r MEMBERINTERFACE=%r CONTEXT=%r EXTEN=%r",
                  self.request.channel, status, member, context, exten)
        if context == "hotline-queue-exit" and exten:
            return QueueOutcome(QueueStatus.EXIT_KEY, key=exten)
        if member or status == "CONTINUE":
            # CONTINUE: a seat answered, hung up, and option c let the caller continue.
            return QueueOutcome(QueueStatus.ANSWERED)
        if status == "TIMEOUT":
            return QueueOutcome(QueueStatus.TIMEOUT)
        if status == "FULL":
            return QueueOutcome(QueueStatus.FULL)
        return QueueOutcome(QueueStatus.NO_SEAT)

    async def dial(self, *, target: str, timeout: int) -> DialOutcome:
        await self.request.command(f"EXEC Dial {_quote(f'{target},{timeout},g')}")
        status = await self.request.get_variable("DIALSTATUS")
        mapping = {
            "ANSWER": DialStatus.ANSWERED,
            "BUSY": DialStatus.BUSY,
            "NOANSWER": DialStatus.NO_ANSWER,
            "CANCEL": DialStatus.CANCELLED,
        }
        return DialOutcome(mapping.get(status, DialStatus.UNAVAILABLE))

    async def hangup(self) -> None:
        try:
            await self.request.command("HANGUP")
        except CallerHungUp:
            pass

"""AMI events as Asterisk 22 sends them, fed to ``CallEvents``: call rows in a real SQLite
database; resynchronisation after an outage (``reconcile``, ``link_orphan_files``); and the
``AmiController`` facing no Asterisk, or a scripted fake AMI server on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import wave
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.calls.service import CallEvents, link_orphan_files, reconcile
from hotline.calls.store import CallStore, aware
from hotline.config import AmiSettings, RecordingSettings, Settings
from hotline.db import make_engine, migrate
from hotline.errors import AmiUnavailable
from hotline.telephony.ami import AmiController

UID = "1795501598.2"  # 2026-11-24 06:26:38 UTC
SEAT_UID = "1795501598.3"
CHANNEL = "PJSIP/sipp-00000001"
SEAT_CHANNEL = "PJSIP/seat1-00000002"
DAY = "2026/11/24"
REC_VALUE = f"/var/spool/hotline/recordings/{DAY}/{UID}"


def event(name: str, **fields: str) -> dict[str, str]:
    return {"Event": name, "Privilege": "call,all", **fields}


def caller_channel(uid: str = UID, channel: str = CHANNEL, **extra: str) -> dict[str, str]:
    return {"Channel": channel, "Uniqueid": uid, "Linkedid": uid, "CallerIDNum": "13800138000",
            "CallerIDName": "<unknown>", "ConnectedLineNum": "<unknown>",
            "ConnectedLineName": "<unknown>", "Language": "en", "AccountCode": "",
            "Context": "hotline-in", "Exten": "12345", "Priority": "1", **extra}


def seat_channel(**extra: str) -> dict[str, str]:
    return {"Channel": SEAT_CHANNEL, "Uniqueid": SEAT_UID, "Linkedid": UID,
            "CallerIDNum": "seat1", "CallerIDName": "seat1", "ConnectedLineNum": "13800138000",
            "ConnectedLineName": "<unknown>", "Language": "zh", "AccountCode": "",
            "Context": "hotline-seat", "Exten": "s", "Priority": "1", **extra}


def answered_call_events() -> list[dict[str, str]]:
    """A citizen calls 12345, is answered by the dialplan, waits 12 s, talks to seat1."""
    return [
        event("Newchannel", **caller_channel(ChannelState="0", ChannelStateDesc="Down")),
        event("VarSet", **caller_channel(Priority="4"), Variable="HOTLINE_REC", Value=REC_VALUE),
        event("Newstate", **caller_channel(ChannelState="6", ChannelStateDesc="Up",
                                           Priority="6")),
        event("QueueCallerJoin", **caller_channel(ChannelState="6", Priority="1"),
              Queue="hotline", Position="1", Count="1"),
        event("Newchannel", **seat_channel(ChannelState="0", ChannelStateDesc="Down")),
        event("AgentCalled", **caller_channel(), DestChannel=SEAT_CHANNEL,
              DestUniqueid=SEAT_UID, Queue="hotline", MemberName="seat1",
              Interface="PJSIP/seat1"),
        event("Newstate", **seat_channel(ChannelState="6", ChannelStateDesc="Up")),
        event("QueueCallerLeave", **caller_channel(), Queue="hotline", Position="1",
              Count="0"),
        event("AgentConnect", **caller_channel(), DestChannel=SEAT_CHANNEL,
              DestUniqueid=SEAT_UID, Queue="hotline", MemberName="seat1",
              Interface="PJSIP/seat1", HoldTime="12", RingTime="3"),
        event("AgentComplete", **caller_channel(), DestChannel=SEAT_CHANNEL,
              DestUniqueid=SEAT_UID, Queue="hotline", MemberName="seat1",
              Interface="PJSIP/seat1", HoldTime="12", TalkTime="40", Reason="caller"),
        event("Hangup", **caller_channel(ChannelState="6"), Cause="16",
              **{"Cause-txt": "Normal Clearing"}),
        event("Hangup", **seat_channel(ChannelState="6"), Cause="16",
              **{"Cause-txt": "Normal Clearing"}),
    ]


def write_wav(path: Path, *, seconds: float = 0.5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * int(8000 * seconds))
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, recordings=RecordingSettings(settle_seconds=0.05))


@pytest.fixture
def store(settings: Settings) -> Iterator[CallStore]:
    engine = make_engine(settings.db_url)
    migrate(engine)
    yield CallStore(engine)
    engine.dispose()


@pytest.fixture
async def events(settings: Settings, store: CallStore) -> AsyncIterator[CallEvents]:
    handler = CallEvents(settings=settings, store=store)
    yield handler
    await handler.drain()


@pytest.fixture
def call_files(settings: Settings) -> list[Path]:
    """The files MixMonitor wrote for the answered call (both sides, and the caller's)."""
    day = settings.recordings_dir / DAY
    return [write_wav(day / f"{UID}-full.wav", seconds=2.0),
            write_wav(day / f"{UID}-caller.wav", seconds=2.0)]


async def feed(handler: CallEvents, events: list[dict[str, str]]) -> None:
    for item in events:
        await handler.on_event(item)
    await handler.drain()


# ---- AMI events -> call rows -----------------------------------------------------------------


async def test_given_call_answered_by_seat1_after_12s_when_it_hangs_up_then_one_complete_row(
    events: CallEvents, store: CallStore, call_files: list[Path]
) -> None:
    await feed(events, answered_call_events())

    views = store.recent()
    assert len(views) == 1
    call = views[0].call
    assert call.uniqueid == UID
    assert call.linkedid == UID
    assert call.channel == CHANNEL
    assert call.direction == "in"
    assert call.caller_number == "13800138000"
    assert call.caller_name == ""  # <unknown>
    assert call.dialled == "12345"
    assert call.seen_live is True
    started, answered, ended = aware(call.started_at), aware(call.answered_at), aware(
        call.ended_at)
    assert started is not None and answered is not None and ended is not None
    assert started <= answered <= ended
    assert call.hangup_cause == 16
    assert call.hangup_cause_text == "Normal Clearing"
    assert call.queue_joined_at is not None and call.queue_left_at is not None
    assert call.queue_wait_seconds == 12.0
    assert call.queue_outcome == "answered"
    assert call.answered_within_15s is True
    assert call.answered_within_20s is True
    assert call.answered_by == "seat1"
    assert call.transferred_to == "queue:seat1"


async def test_given_recording_variable_set_when_call_ends_then_both_recordings_are_complete(
    events: CallEvents, store: CallStore, call_files: list[Path]
) -> None:
    await feed(events, answered_call_events())

    view = store.get(UID)
    assert view is not None
    recordings = {r.kind: r for r in view.recordings}
    assert sorted(recordings) == ["caller", "full"]
    assert recordings["full"].path == f"{DAY}/{UID}-full.wav"
    assert recordings["caller"].path == f"{DAY}/{UID}-caller.wav"
    for rec in recordings.values():
        assert rec.complete is True
        assert rec.problem is None
        assert rec.duration_seconds == pytest.approx(2.0)
        assert rec.size_bytes == 44 + 2 * 16000


async def test_given_broken_recording_files_when_call_ends_then_their_problem_is_kept(
    events: CallEvents, store: CallStore, settings: Settings
) -> None:
    day = settings.recordings_dir / DAY
    day.mkdir(parents=True)
    (day / f"{UID}-full.wav").write_bytes(b"")  # Asterisk died before writing anything
    full = write_wav(day / f"{UID}-caller.wav", seconds=2.0)
    full.write_bytes(full.read_bytes()[:1000])  # cut short: the header promises more

    await feed(events, answered_call_events())

    view = store.get(UID)
    assert view is not None
    problems = {r.kind: r.problem or "" for r in view.recordings}
    assert problems["full"].startswith("not a readable WAV file")
    assert problems["caller"].startswith("truncated")
    assert all(r.complete for r in view.recordings)


async def test_given_same_events_replayed_when_handled_then_still_one_row_and_one_per_file(
    events: CallEvents, store: CallStore, call_files: list[Path]
) -> None:
    await feed(events, answered_call_events())
    first = store.get(UID)

    await feed(events, answered_call_events())

    assert len(store.recent()) == 1
    view = store.get(UID)
    assert view is not None and first is not None
    assert sorted(r.path for r in view.recordings) == [
        f"{DAY}/{UID}-caller.wav", f"{DAY}/{UID}-full.wav"
    ]
    assert aware(view.call.started_at) == aware(first.call.started_at)  # the earliest stays
    assert view.call.queue_outcome == "answered"


async def test_given_events_of_a_seat_channel_when_handled_then_no_call_row(
    events: CallEvents, store: CallStore
) -> None:
    await feed(events, [
        event("Newchannel", **seat_channel(ChannelState="0", ChannelStateDesc="Down")),
        event("Newstate", **seat_channel(ChannelState="6", ChannelStateDesc="Up")),
        event("VarSet", **seat_channel(), Variable="BRIDGEPEER", Value=CHANNEL),
        event("Hangup", **seat_channel(ChannelState="6"), Cause="16",
              **{"Cause-txt": "Normal Clearing"}),
    ])

    assert store.recent() == []


async def test_given_unknown_or_unhandled_events_when_handled_then_they_are_ignored(
    events: CallEvents, store: CallStore
) -> None:
    await feed(events, [
        event("FullyBooted", Status="Fully Booted", Uptime="12", LastReload="12"),
        event("PeerStatus", ChannelType="PJSIP", Peer="PJSIP/seat1", PeerStatus="Reachable"),
        {"Response": "Success", "Ping": "Pong"},
    ])

    assert store.recent() == []


@pytest.mark.parametrize("leave_first", [True, False], ids=["leave-then-abandon",
                                                              "abandon-then-leave"])
async def test_given_caller_waits_25s_when_abandoning_then_outcome_abandoned_and_flags_false(
    events: CallEvents, store: CallStore, leave_first: bool
) -> None:
    leave = event("QueueCallerLeave", **caller_channel(), Queue="hotline", Position="1",
                  Count="0")
    abandon = event("QueueCallerAbandon", **caller_channel(), Queue="hotline", Position="1",
                    OriginalPosition="1", HoldTime="25")
    await feed(events, [
        event("Newchannel", **caller_channel(ChannelState="0", ChannelStateDesc="Down")),
        event("Newstate", **caller_channel(ChannelState="6", ChannelStateDesc="Up")),
        event("QueueCallerJoin", **caller_channel(), Queue="hotline", Position="1", Count="1"),
        *([leave, abandon] if leave_first else [abandon, leave]),
        event("Hangup", **caller_channel(ChannelState="6"), Cause="16",
              **{"Cause-txt": "Normal Clearing"}),
    ])

    view = store.get(UID)
    assert view is not None
    assert view.call.queue_outcome == "abandoned"
    assert view.call.queue_wait_seconds == 25.0
    assert view.call.answered_within_15s is False
    assert view.call.answered_within_20s is False
    assert view.call.answered_by is None
    assert view.call.ended_at is not None


# ---- resynchronising after an outage ---------------------------------------------------------


async def test_given_open_call_not_live_when_reconciling_then_it_is_closed_with_a_reason(
    settings: Settings, store: CallStore
) -> None:
    started = datetime(2026, 11, 24, 6, 26, 38, tzinfo=UTC)
    await store.update_call(UID, started_at=started, channel=CHANNEL)
    await store.update_call("1795501600.9", started_at=started, channel="PJSIP/sipp-00000009")
    finalized: list[str] = []

    await reconcile(settings=settings, store=store, live_channels={"1795501600.9"},
                    finalize=finalized.append)

    gone = store.get(UID)
    live = store.get("1795501600.9")
    assert gone is not None and live is not None
    assert aware(gone.call.ended_at) == started + timedelta(seconds=1)  # no file to date it
    assert gone.call.hangup_cause_text == "ended while the controller was away"
    assert live.call.ended_at is None
    assert finalized == [UID]


async def test_given_recordings_of_ended_call_when_reconciling_then_end_is_their_last_write(
    settings: Settings, store: CallStore, call_files: list[Path]
) -> None:
    started = datetime(2026, 11, 24, 6, 26, 38, tzinfo=UTC)
    last_write = started + timedelta(seconds=95)
    for path in call_files:
        os.utime(path, (last_write.timestamp(), last_write.timestamp()))
    await store.update_call(UID, started_at=started)

    await reconcile(settings=settings, store=store, live_channels=set(),
                    finalize=lambda uid: None)

    view = store.get(UID)
    assert view is not None
    assert aware(view.call.ended_at) == last_write


# Only recent day folders are scanned after an outage: the orphan call is from now.
_NOW = int(time.time())
ORPHAN = f"{_NOW}.7"
TODAY = datetime.fromtimestamp(_NOW, UTC).strftime("%Y/%m/%d")


ORPHAN_HUNG_UP = _NOW + 60.0  # MixMonitor's files were last written at hang-up


def orphan_files(settings: Settings) -> list[Path]:
    day = settings.recordings_dir / TODAY
    uid = ORPHAN
    files = [write_wav(day / f"{uid}-full.wav"), write_wav(day / f"{uid}-caller.wav"),
             write_wav(day / f"{uid}-message.wav"), write_wav(day / "notes.wav")]
    for path, mtime in zip(files, [ORPHAN_HUNG_UP, ORPHAN_HUNG_UP, _NOW + 30.0, _NOW],
                           strict=True):
        os.utime(path, (mtime, mtime))
    return files


async def test_given_files_without_call_row_when_linking_then_call_not_seen_live_is_created(
    settings: Settings, store: CallStore
) -> None:
    orphan_files(settings)

    touched = await link_orphan_files(settings, store, set())

    assert touched == [ORPHAN]
    view = store.get(ORPHAN)
    assert view is not None
    assert view.call.seen_live is False
    assert aware(view.call.started_at) == datetime.fromtimestamp(int(ORPHAN.split(".")[0]), UTC)
    assert aware(view.call.ended_at) == datetime.fromtimestamp(ORPHAN_HUNG_UP, UTC)
    assert view.call.hangup_cause_text == "not seen live"
    assert sorted((r.kind, r.name, r.path) for r in view.recordings) == [
        ("caller", "caller", f"{TODAY}/{ORPHAN}-caller.wav"),
        ("full", "full", f"{TODAY}/{ORPHAN}-full.wav"),
        ("message", "message", f"{TODAY}/{ORPHAN}-message.wav"),
    ]
    assert len(store.recent()) == 1  # notes.wav is not a recording of ours


async def test_given_files_linked_once_when_linking_again_then_nothing_is_duplicated(
    settings: Settings, store: CallStore
) -> None:
    orphan_files(settings)
    await link_orphan_files(settings, store, set())

    touched = await link_orphan_files(settings, store, set())

    assert touched == []
    assert len(store.recent()) == 1
    view = store.get(ORPHAN)
    assert view is not None and len(view.recordings) == 3


async def test_given_files_of_a_live_call_when_linking_then_call_stays_open(
    settings: Settings, store: CallStore
) -> None:
    orphan_files(settings)

    touched = await link_orphan_files(settings, store, {ORPHAN})

    view = store.get(ORPHAN)
    assert view is not None
    assert touched == []  # not finalised while Asterisk still writes
    assert view.call.ended_at is None


async def test_given_controller_reconnects_when_connected_then_orphans_are_linked_and_finalised(
    events: CallEvents, store: CallStore, settings: Settings
) -> None:
    orphan_files(settings)

    class Controller:
        async def channels(self) -> list[dict[str, str]]:
            return []

    await events.on_connected(Controller())
    await events.drain()

    view = store.get(ORPHAN)
    assert view is not None
    assert all(r.complete and r.problem is None for r in view.recordings)


async def test_given_many_files_to_link_at_start_when_a_call_arrives_then_it_is_stored_while_linking_goes_on(  # noqa: E501
    events: CallEvents, store: CallStore, settings: Settings
) -> None:
    """Linking goes in batches through the store's writer: a call's write waits for one
    batch, not for every file (22,000 files in one write held the first calls for 17 s)."""
    day = settings.recordings_dir / TODAY
    header = write_wav(day / f"{_NOW - 1}.1-full.wav", seconds=0.0).read_bytes()
    for n in range(2, 601):
        for kind in ("full", "caller"):
            (day / f"{_NOW - 1}.{n}-{kind}.wav").write_bytes(header)
    files = sorted(day.glob("*.wav"))
    assert len(files) == 1199

    linking = asyncio.create_task(link_orphan_files(settings, store, set(), files=files,
                                                    batch=100))
    # Until the writer holds the first batch (the store has no event to wait on).
    while store._writer is None or store._pending:  # noqa: ASYNC110
        await asyncio.sleep(0)
    await events.on_event(event("Newchannel", **caller_channel(ChannelState="0")))

    assert not linking.done(), "the call's write waited for every file to be linked"
    view = store.get(UID)
    assert view is not None and view.call.caller_number == "13800138000"
    touched = await linking
    assert len(touched) == 600
    assert len(store.recent(limit=1000)) == 601
    assert sum(len(v.recordings) for v in store.recent(limit=1000)) == 1199


# ---- AmiController without Asterisk ----------------------------------------------------------


class RecordingHandler:
    def __init__(self) -> None:
        self.events: list[dict[str, str]] = []
        self.connected = 0
        self.received = asyncio.Event()

    async def on_event(self, event: dict[str, str]) -> None:
        self.events.append(event)
        self.received.set()

    async def wait_for_event(self, name: str, *, within: float) -> None:
        async with asyncio.timeout(within):
            while not any(e.get("Event") == name for e in self.events):
                self.received.clear()
                await self.received.wait()

    async def on_connected(self, controller: Any) -> None:
        self.connected += 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeAmi:
    """A loopback AMI server: greets, accepts any login (then says FullyBooted), answers
    Ping, sends given events. ``drop_on``: the action on which it drops the connection
    unanswered, the first time (Asterisk restarting while an action is in flight)."""

    def __init__(self, *, drop_on: str | None = None) -> None:
        self.drop_on = drop_on
        self.connections = 0
        self.actions: list[dict[str, str]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.server: asyncio.Server | None = None

    async def start(self, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port,
                                                 reuse_address=True)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 2)
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                fields = dict(line.split(": ", 1) for line in block.decode().split("\r\n")
                              if ": " in line)
                self.actions.append(fields)
                action, action_id = fields.get("Action", "").lower(), fields.get("ActionID", "")
                if action == "login":
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n"
                                 "Message: Authentication accepted\r\n\r\n"
                                 "Event: FullyBooted\r\nPrivilege: system,all\r\n"
                                 "Status: Fully Booted\r\n\r\n".encode())
                elif action == self.drop_on:
                    self.drop_on = None
                    break
                elif action == "ping":
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n"
                                 "Ping: Pong\r\n\r\n".encode())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def send_event(self, fields: dict[str, str]) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        for writer in self.writers:
            if not writer.is_closing():
                writer.write(text.encode())


async def test_given_controller_never_started_when_sending_then_ami_unavailable_at_once() -> None:
    controller = AmiController(settings=AmiSettings(), secret="x", handler=RecordingHandler())

    with pytest.raises(AmiUnavailable, match="Originate"):
        await asyncio.wait_for(controller.send({"Action": "Originate"}), 0.5)


async def test_given_no_asterisk_listening_when_sending_then_ami_unavailable_at_once() -> None:
    settings = AmiSettings(port=free_port(), connect_timeout=0.2)
    controller = AmiController(settings=settings, secret="x", handler=RecordingHandler())
    await controller.start(wait=False)
    try:
        await asyncio.sleep(0.1)  # the connection is refused
        with pytest.raises(AmiUnavailable, match="not connected"):
            await asyncio.wait_for(controller.send({"Action": "Originate"}), 0.5)
        assert controller.connected is False
    finally:
        await controller.stop()


async def test_given_fake_ami_when_connecting_then_controller_logs_in_and_forwards_events() -> None:
    port = free_port()
    ami = FakeAmi()
    await ami.start(port)
    handler = RecordingHandler()
    controller = AmiController(settings=AmiSettings(port=port, connect_timeout=3), secret="pw",
                               handler=handler)
    try:
        await controller.start()
        assert controller.connected and controller.logins == 1
        login = next(a for a in ami.actions if a.get("Action", "").lower() == "login")
        assert login["Username"] == "hotline" and login["Secret"] == "pw"

        reply = await controller.send({"Action": "Ping"}, timeout=2)
        assert reply.get("Ping") == "Pong"

        ami.send_event(event("Newchannel", **caller_channel()))
        await handler.wait_for_event("Newchannel", within=2)
        assert [e["Event"] for e in handler.events] == ["FullyBooted", "Newchannel"]
        assert handler.events[1]["Uniqueid"] == UID
        assert handler.connected == 1
    finally:
        await controller.stop()
        await ami.stop()


async def test_given_stopped_while_asterisk_down_when_asterisk_returns_then_no_reconnect() -> None:
    port = free_port()
    controller = AmiController(settings=AmiSettings(port=port, connect_timeout=0.2),
                               secret="x", handler=RecordingHandler())
    await controller.start(wait=False)
    await asyncio.sleep(0.1)  # refused; panoramisk schedules a reconnect in 1 s
    await controller.stop()
    ami = FakeAmi()
    await ami.start(port)
    try:
        await asyncio.sleep(1.5)

        assert ami.connections == 0, "a stopped controller connected to AMI again"
        assert controller.connected is False
    finally:
        await ami.stop()


async def test_given_originate_in_flight_when_connection_drops_then_failed_not_resent() -> None:
    port = free_port()
    ami = FakeAmi(drop_on="originate")
    await ami.start(port)
    controller = AmiController(
        settings=AmiSettings(port=port, connect_timeout=3, action_timeout=5), secret="pw",
        handler=RecordingHandler(),
    )
    try:
        await controller.start()
        started = time.monotonic()

        with pytest.raises(AmiUnavailable, match="disconnected"):
            await controller.send({"Action": "Originate", "Channel": "PJSIP/citizen1",
                                   "Context": "hotline-callback", "Exten": "s",
                                   "Priority": "1", "Async": "true"})

        assert time.monotonic() - started < 2  # failed at the disconnect, not at the timeout
        await controller.wait_connected(5)  # panoramisk reconnects and logs in again
        assert controller.logins == 2
        await asyncio.sleep(0.2)  # FullyBooted seen: held actions would be re-sent by now
        assert [a.get("Action") for a in ami.actions].count("Originate") == 1
        assert ami.connections == 2
    finally:
        await controller.stop()
        await ami.stop()

"""Recordings of outbound calls finished at the channel's hang-up, as inbound ones are: the AMI
events go through the controller's handler chain (``DialerEvents`` around the inbound
``CallEvents``) with the in-memory dialer; the call rows and recordings are real rows on
SQLite and the files real WAV files. Finished, they are listed by recording search (by the
citizen's number) and get transcription jobs; the transcript of a survey's caller side is not
drafted into a ticket. A queue call-back's seat pop is drawn from its channel's events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from hotline.calls.models import Call, Recording
from hotline.calls.service import CallEvents
from hotline.calls.store import CallStore
from hotline.config import RecordingSettings, Settings
from hotline.db import make_engine, migrate, session_scope
from hotline.errors import AmiActionFailed
from hotline.outbound.agent_calls import CHANNEL_PREFIX as AGENT_PREFIX
from hotline.outbound.ami import CHANNEL_PREFIX, AmiDialer, DialerEvents
from hotline.outbound.comments import SurveyComments
from hotline.outbound.queue_callbacks import CHANNEL_PREFIX as QCB_PREFIX
from hotline.outbound.queue_callbacks import Placed, QueueCallbacks
from hotline.outbound.recordings import OutboundRecordings, bridged_call
from hotline.outbound.settings import OutboundSettings
from hotline.recording.library import RecordingQuery, search
from hotline.seats.events import SeatEvents
from hotline.seats.pop import PopBoard
from hotline.stt import queue
from hotline.stt.models import Transcript, TranscriptionJob
from tests.api import Clock
from tests.protocol.test_ami_events import write_wav
from tests.unit.test_outbound_ami import FakeAsterisk
from tests.unit.test_queue_callbacks import T0, QueueAsterisk, service

CENTER = ZoneInfo("Asia/Shanghai")
SURVEY = "hotline-ob-42"
DAY = datetime.now(UTC).strftime("%Y/%m/%d")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Settings, CallStore]]:
    """Settings with a recordings folder in ``tmp_path``, and the call store on SQLite."""
    settings = Settings(home=tmp_path, recordings=RecordingSettings(settle_seconds=0.05))
    engine = make_engine(settings.db_url)
    migrate(engine)
    yield settings, CallStore(engine)
    engine.dispose()


class Chain:
    """The controller's handler chain (``hotline.app``): the outbound events around the seats'
    (pop board) around the inbound call events."""

    def __init__(self, settings: Settings, store: CallStore,
                 callbacks: QueueCallbacks | None = None) -> None:
        self.woken = 0
        self.inbound = CallEvents(settings=settings, store=store)
        self.recordings = OutboundRecordings(
            settings=settings, store=store, on_complete=self.wake,
            prefixes=(CHANNEL_PREFIX, AGENT_PREFIX, QCB_PREFIX))
        self.board = PopBoard()
        seats = SeatEvents(inner=self.inbound, board=self.board, engine=store.engine,
                           clock=lambda: datetime.now(UTC))
        self.handler = DialerEvents(
            inner=seats, recordings=self.recordings, pops=callbacks, board=self.board,
            dialer=AmiDialer(ami=FakeAsterisk("4"), settings=OutboundSettings(), tz=CENTER))

    def wake(self) -> None:
        self.woken += 1

    async def hang_up(self, uid: str) -> None:
        await self.handler.on_event({"Event": "Hangup", "Uniqueid": uid, "Cause": "16",
                                     "Cause-txt": "Normal Clearing",
                                     "Channel": f"PJSIP/x-{uid}"})
        await self.recordings.drain()
        await self.inbound.drain()


def survey_call(store: CallStore, settings: Settings) -> None:
    """What the flow handler stored of an answered survey: the call (outbound, to the
    citizen) and its MixMonitor files, written by Asterisk."""
    with session_scope(store.engine) as session:
        session.add(Call(uniqueid=SURVEY, direction="out", caller_number="13800138000",
                         started_at=datetime.now(UTC)))
        for kind in ("full", "caller"):
            path = f"{DAY}/{SURVEY}-{kind}.wav"
            session.add(Recording(call_uniqueid=SURVEY, kind=kind, path=path,
                                  started_at=datetime.now(UTC)))
            write_wav(settings.recordings_dir / path, seconds=3.0)


def recordings(store: CallStore, uid: str) -> dict[str, Recording]:
    with Session(store.engine) as session:
        return {r.kind: r for r in session.exec(
            select(Recording).where(Recording.call_uniqueid == uid))}


def test_given_a_survey_call_hangs_up_then_its_recordings_are_complete_listed_and_transcribed(
    env: tuple[Settings, CallStore],
) -> None:
    settings, store = env
    survey_call(store, settings)
    chain = Chain(settings, store)
    with Session(store.engine) as session:
        made, _ = queue.enqueue_finished_recordings(session=session, kinds=["caller"],
                                                    language="zh")
    assert made == 0  # still being written: no job, not listed

    asyncio.run(chain.hang_up(SURVEY))

    found = recordings(store, SURVEY)
    for rec in found.values():
        assert (rec.complete, rec.problem) == (True, None)
        assert rec.duration_seconds == pytest.approx(3.0)
        assert rec.size_bytes == 44 + 2 * 24000
    assert chain.woken == 1  # the transcription service is told at once
    with session_scope(store.engine) as session:
        call = session.exec(select(Call).where(Call.uniqueid == SURVEY)).one()
        assert call.ended_at is not None and call.hangup_cause == 16
        listed = search(session=session, query=RecordingQuery(caller="8000"), tz=CENTER)
        assert sorted(f.recording.kind for f in listed) == ["caller", "full"]
        made, _ = queue.enqueue_finished_recordings(session=session, kinds=["caller"],
                                                    language="zh")
        assert made == 1
        job = session.exec(select(TranscriptionJob)).one()
        assert job.recording_id == found["caller"].id


def test_given_the_survey_caller_side_transcribed_then_it_is_not_drafted(
    env: tuple[Settings, CallStore],
) -> None:
    settings, store = env
    survey_call(store, settings)
    asyncio.run(Chain(settings, store).hang_up(SURVEY))
    drafted: list[Transcript] = []
    hook = SurveyComments(inner=lambda session, transcript: drafted.append(transcript))
    survey_side = recordings(store, SURVEY)["caller"]
    with session_scope(store.engine) as session:
        inbound = Recording(call_uniqueid="1795501598.2", kind="caller", complete=True,
                            path=f"{DAY}/1795501598.2-caller.wav", started_at=datetime.now(UTC))
        session.add(inbound)
        session.flush()
        inbound_id = inbound.id
        for rec_id, path in ((survey_side.id, survey_side.path), (inbound_id, inbound.path)):
            queue.enqueue(session=session, audio_path=path, language="zh", recording_id=rec_id,
                          now=datetime.now(UTC))
    with session_scope(store.engine) as session:  # as the transcription service does
        for claim in queue.claim(session=session, languages=["zh"], limit=2, lease_seconds=60):
            row = queue.complete(session=session, claim=claim, transcript={
                "model_name": "test", "text": "好的", "words": [], "audio_seconds": 3.0,
                "processing_seconds": 0.1})
            assert row is not None
            hook(session, row)
    assert [t.recording_id for t in drafted] == [inbound_id]  # the inbound call's only


def test_given_an_unanswered_survey_hangs_up_then_no_call_row_is_made(
    env: tuple[Settings, CallStore],
) -> None:
    settings, store = env
    chain = Chain(settings, store)
    asyncio.run(chain.hang_up("hotline-ob-7"))
    with Session(store.engine) as session:
        assert session.exec(select(Call)).all() == []
    assert chain.woken == 0


class LiveCall(QueueAsterisk):
    """The bridged call lasts (its channel answers ``Getvar``) until ``gone``."""

    gone = False

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        if action["Action"] == "Getvar":
            await asyncio.sleep(0.01)
            if self.gone:
                raise AmiActionFailed("Getvar refused by Asterisk: No such channel",
                                      action="Getvar")
            return {"Response": "Success", "Value": "ANSWER"}
        return await super().send(action, timeout=timeout, as_list=as_list)


def test_given_a_queue_call_back_then_its_pop_shows_why_and_its_recording_is_finished(
    env: tuple[Settings, CallStore],
) -> None:
    """Placed through ``QueueCallbacks`` (Asterisk in memory): the call's row and its bridged
    recording are stored with the attempt; the seat's channel ringing and answered draw the
    seat's pop with the reason; the hang-up ends the pop and finishes the recording."""
    settings, store = env
    ami = LiveCall(free=["PJSIP/seat2"], busy=[], waiting=[])
    callbacks = service(store.engine, Clock(T0 + timedelta(minutes=10)), ami)
    with session_scope(store.engine) as session:
        session.add(Call(uniqueid="1795501598.9", caller_number="13800000001", started_at=T0,
                         queue_joined_at=T0, ended_at=T0, queue_outcome="abandoned"))
    chain = Chain(settings, store, callbacks)

    async def scenario() -> Placed:
        [placed] = await callbacks.run_once()  # the call runs as a task
        uid = placed.uniqueid
        seat_channel = {"Uniqueid": uid, "Channel": "PJSIP/seat2-00000009"}
        await chain.handler.on_event({"Event": "Newchannel", **seat_channel})
        ring = chain.board.current("PJSIP/seat2")
        assert ring is not None and (ring.state, ring.caller, ring.caller_name) == (
            "ringing", "13800000001", "漏接回拨")
        await chain.handler.on_event({"Event": "Newstate", "ChannelState": "6", **seat_channel})
        ring = chain.board.current("PJSIP/seat2")
        assert ring is not None and (ring.state, ring.caller_name) == ("answered", "漏接回拨")
        write_wav(settings.recordings_dir / placed.recording, seconds=2.0)
        ami.gone = True
        await chain.hang_up(uid)
        await asyncio.gather(*callbacks._tasks)
        return placed

    placed = asyncio.run(scenario())
    ring = chain.board.current("PJSIP/seat2")
    assert ring is not None and ring.state == "ended"
    [rec] = recordings(store, placed.uniqueid).values()
    assert (rec.kind, rec.path, rec.complete) == ("full", placed.recording, True)
    assert rec.duration_seconds == pytest.approx(2.0)
    with Session(store.engine) as session:
        call = session.exec(select(Call).where(Call.uniqueid == placed.uniqueid)).one()
        listed = search(session=session, query=RecordingQuery(caller="0001"), tz=CENTER)
    assert (call.direction, call.caller_number, call.ended_at is not None) == (
        "out", "13800000001", True)
    assert [f.recording.id for f in listed] == [rec.id]


def test_given_a_click_to_call_then_its_call_and_recording_rows_are_stored_once(
    env: tuple[Settings, CallStore],
) -> None:
    settings, store = env
    now = datetime.now(UTC)
    with session_scope(store.engine) as session:
        for _ in range(2):
            bridged_call(session, uniqueid="hotline-ag-3", phone="13800000009",
                         recording=f"{DAY}/hotline-ag-3-agent.wav", now=now)
            session.flush()
    with Session(store.engine) as session:
        assert len(session.exec(select(Call)).all()) == 1
    assert list(recordings(store, "hotline-ag-3")) == ["full"]

"""Monitoring through the real Asterisk sandbox: AMI Originate rings the supervisor's phone
(citizen2, a registered pyVoIP phone) into [hotline-monitor], ChanSpy spies on the call, and
the supervisor's phone receives the call's audio; a whisper reaches the agent and not the
caller, a barge reaches both. Every session is in the audit log with its start and its end.

Each side plays a tone of its own frequency, and what a phone received is measured at that
frequency (Goertzel), so a prompt or the other side's voice never passes for the sound a test
expects: the caller plays 523 Hz, the agent 659 Hz, the supervisor 880 Hz.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlmodel import Session, select

from hotline.audit.models import AuditEntry
from hotline.calls.store import CallView
from hotline.db import session_scope
from hotline.monitoring.rules import Mode
from hotline.monitoring.service import MonitorSession, open_session
from hotline.telephony.phone import RATE, PhoneCall, SoftPhone, sine_tone
from hotline.users.models import Role, User

from .conftest import RunningHotline
from .test_ivr_calls import registered

pytestmark = pytest.mark.integration

SUPERVISOR_PHONE = "citizen2"
OVERRIDES = {"monitoring": {
    "roles": {"supervisor": ["monitor_listen", "monitor_whisper", "monitor_barge"]},
    "phones": {"sup": f"PJSIP/{SUPERVISOR_PHONE}"}}}
SUPERVISOR = User(username="sup", role=Role.supervisor, password_hash="x")
CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 523.0, 659.0, 880.0
HEARD, SILENT = 8.0, 2.0  # amplitude at the tone's frequency, 8-bit samples (full scale 127)


def tone_level(audio_8bit_unsigned: bytes, hz: float) -> float:
    """The amplitude of ``hz`` in the audio (Goertzel over all of it): a tone of amplitude A
    present throughout gives about A, one present a third of the time about A / 3."""
    n = len(audio_8bit_unsigned)
    if n == 0:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for sample in audio_8bit_unsigned:
        s1, s2 = sample - 128 + coefficient * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / n


def heard(listener: PhoneCall, player: PhoneCall, hz: float) -> float:
    """``player`` sends 1.5 s of ``hz``; its level in what ``listener`` received meanwhile."""
    since = time.monotonic()
    player.play(sine_tone(hz, seconds=1.5))  # returns once sent
    time.sleep(0.3)  # the last packets cross Asterisk
    return tone_level(listener.received_audio(since=since), hz)


def supervisor_says(leg: PhoneCall, agent: PhoneCall, caller: PhoneCall) -> tuple[float, float]:
    """The supervisor sends 1.5 s of their tone; its level at the agent and at the caller."""
    since = time.monotonic()
    leg.play(sine_tone(SUPERVISOR_HZ, seconds=1.5))
    time.sleep(0.3)
    return (tone_level(agent.received_audio(since=since), SUPERVISOR_HZ),
            tone_level(caller.received_audio(since=since), SUPERVISOR_HZ))


def start(running: RunningHotline, uniqueid: str, mode: Mode) -> MonitorSession:
    """What 监听/耳语/强插 on /supervisor/monitor does: the session opened and logged, then
    placed over AMI by the controller."""
    hotline = running.hotline
    with session_scope(hotline.engine) as session:
        ms = open_session(session=session, user=SUPERVISOR, call_uniqueid=uniqueid, mode=mode,
                          settings=hotline.settings.monitoring, now=hotline.clock())
    running.loop.call_soon_threadsafe(hotline.monitor.launch, ms)
    return ms


def ended(running: RunningHotline, entry_id: int, *, timeout: float = 30) -> AuditEntry:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(running.hotline.engine) as session:
            entry = session.get(AuditEntry, entry_id)
        if entry is not None and entry.ended_at is not None:
            return entry
        time.sleep(0.1)
    raise AssertionError(f"audit entry {entry_id} got no end within {timeout} s")


def monitor_entries(running: RunningHotline) -> list[AuditEntry]:
    with Session(running.hotline.engine) as session:
        return list(session.exec(select(AuditEntry).where(
            AuditEntry.action.in_([m.value for m in Mode]))).all())  # type: ignore[attr-defined]


def in_progress(caller: str) -> Callable[[CallView], bool]:
    return lambda v: v.call.ended_at is None and v.call.channel.startswith(f"PJSIP/{caller}-")


@contextmanager
def queue_call_at_seat1(running: RunningHotline
                        ) -> Iterator[tuple[PhoneCall, PhoneCall, SoftPhone, CallView]]:
    """citizen1 dials the hotline, the queue gives the call to seat1 (registered, answers);
    yields the caller's and the agent's legs, the supervisor's phone and the call."""
    with registered(running, "seat1", auto_answer=True) as agent, \
            registered(running, "citizen1") as citizen, \
            registered(running, SUPERVISOR_PHONE, auto_answer=True) as sup:
        caller_leg = citizen.call(running.settings.sip.hotline_number, timeout=15)
        agent_leg = agent.wait_for_incoming(timeout=40)
        view = running.wait_for_call(
            lambda v: in_progress("citizen1")(v) and v.call.answered_by == "seat1",
            timeout=40, what="a call of citizen1 answered by seat1 through the queue")
        yield caller_leg, agent_leg, sup, view


def test_given_a_caller_in_the_menu_when_the_supervisor_listens_then_their_phone_rings_and_hears_the_call(  # noqa: E501
        make_hotline: Callable[..., RunningHotline]) -> None:
    running = make_hotline(**OVERRIDES)
    with registered(running, "citizen1") as citizen, \
            registered(running, SUPERVISOR_PHONE, auto_answer=True) as sup:
        call = citizen.call(running.settings.sip.hotline_number, timeout=15)
        view = running.wait_for_call(in_progress("citizen1"), what="a call of citizen1 live")
        ms = start(running, view.call.uniqueid, Mode.LISTEN)
        assert ms.target == view.call.channel  # no agent: the caller's own channel
        leg = sup.wait_for_incoming(timeout=30)  # auto-answered
        level = heard(leg, call, CALLER_HZ)
        assert level > HEARD, f"the supervisor did not hear the caller ({level:.1f})"
        assert leg.state == "answered"
        call.hangup()
        assert leg.wait_until_ended(timeout=15) == "remote"  # ChanSpy's E: gone with the call
    done = ended(running, ms.entry_id)
    assert (done.action, done.actor, done.call_uniqueid) == ("listen", "sup", view.call.uniqueid)
    assert done.at <= done.ended_at  # type: ignore[operator]
    assert done.detail is not None and done.detail["answered"] is True
    assert done.detail["channel"].startswith(f"PJSIP/{SUPERVISOR_PHONE}-")
    assert [e.id for e in monitor_entries(running)] == [ms.entry_id]


def test_given_an_agent_in_a_call_when_the_supervisor_whispers_then_the_agent_hears_and_the_caller_does_not(  # noqa: E501
        make_hotline: Callable[..., RunningHotline]) -> None:
    running = make_hotline(**OVERRIDES)
    with queue_call_at_seat1(running) as (caller_leg, agent_leg, sup, view):
        ms = start(running, view.call.uniqueid, Mode.WHISPER)
        assert ms.target == "PJSIP/seat1-"
        leg = sup.wait_for_incoming(timeout=30)
        # The supervisor hears both sides of the call.
        caller_level = heard(leg, caller_leg, CALLER_HZ)
        agent_level = heard(leg, agent_leg, AGENT_HZ)
        assert caller_level > HEARD, f"the supervisor did not hear the caller ({caller_level})"
        assert agent_level > HEARD, f"the supervisor did not hear the agent ({agent_level})"
        # The whisper: the agent hears it, the caller does not.
        to_agent, to_caller = supervisor_says(leg, agent_leg, caller_leg)
        assert to_agent > HEARD, f"the agent did not hear the whisper ({to_agent:.1f})"
        assert to_caller < SILENT, f"the caller heard the whisper ({to_caller:.1f})"
        leg.hangup()  # the supervisor ends the session; the call goes on
        time.sleep(1.0)
        assert caller_leg.state == "answered" and agent_leg.state == "answered"
        done = ended(running, ms.entry_id)
        agent_leg.hangup()
        caller_leg.wait_until_ended(timeout=15)
    assert (done.action, done.actor, done.call_uniqueid) == (
        "whisper", "sup", view.call.uniqueid)
    assert done.detail is not None and done.detail["answered"] is True
    assert done.detail["target"] == "PJSIP/seat1-"
    assert [e.id for e in monitor_entries(running)] == [ms.entry_id]


def test_given_an_agent_in_a_call_when_the_supervisor_barges_then_both_sides_hear_them(
        make_hotline: Callable[..., RunningHotline]) -> None:
    running = make_hotline(**OVERRIDES)
    with queue_call_at_seat1(running) as (caller_leg, agent_leg, sup, view):
        ms = start(running, view.call.uniqueid, Mode.BARGE)
        leg = sup.wait_for_incoming(timeout=30)
        caller_level = heard(leg, caller_leg, CALLER_HZ)
        assert caller_level > HEARD, f"the supervisor did not hear the caller ({caller_level})"
        to_agent, to_caller = supervisor_says(leg, agent_leg, caller_leg)
        assert to_agent > HEARD, f"the agent did not hear the barge ({to_agent:.1f})"
        assert to_caller > HEARD, f"the caller did not hear the barge ({to_caller:.1f})"
        caller_leg.hangup()  # the call ends: ChanSpy's E ends the session with it
        assert leg.wait_until_ended(timeout=15) == "remote"
    done = ended(running, ms.entry_id)
    assert (done.action, done.call_uniqueid) == ("barge", view.call.uniqueid)
    assert done.detail is not None and done.detail["answered"] is True

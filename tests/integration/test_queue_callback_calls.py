"""Queue call-backs (漏接回拨) through the real Asterisk sandbox, placed by the running
controller's loop: a citizen (citizen1, a pyVoIP phone) calls 12345 and waits in the queue
while the only seat signed in (seat1) is busy in another call; they key 3 to be called back,
or hang up waiting. Nothing is dialled while the seat is busy; once it hangs up, the seat's
phone rings first with the reason on its pop (``PopBoard``: the caller's name is the reason,
as the seat's phone shows it), then the citizen's, both bridged and recorded; the attempt is
stored as answered and the bridged recording is finished at hang-up."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from hotline.calls.models import Call, Recording
from hotline.outbound.models import QueueCallback, QueueCallbackAttempt
from hotline.seats.pop import Ring
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import PhoneCall, SoftPhone, rms, sine_tone
from tests.integration.conftest import RunningHotline
from tests.integration.test_outbound_calls import wait_until

pytestmark = pytest.mark.integration

# Real time (the call records' times are Asterisk's), any hour; requests collected at once.
OVERRIDES = {"outbound": {"interval_seconds": 0.3, "ring_seconds": 15,
                          "queue_callback_delay_seconds": 0,
                          "calling_start": "00:00", "calling_end": "24:00"}}
SEAT = "PJSIP/seat1"


def phone(running: RunningHotline, name: str) -> SoftPhone:
    return SoftPhone(user=name, password=phone_password(running.settings, name),
                     auto_answer=True)


def citizen_call(running: RunningHotline) -> Call | None:
    with Session(running.hotline.engine) as session:
        return session.exec(select(Call).where(Call.caller_number == "citizen1",
                                               Call.direction == "in")).first()


def requests(running: RunningHotline) -> list[QueueCallback]:
    with Session(running.hotline.engine) as session:
        return list(session.exec(select(QueueCallback)).all())


def called_back(running: RunningHotline, leave: Callable[[PhoneCall], None], *,
                reason: str) -> tuple[QueueCallbackAttempt, Ring, Ring]:
    """The citizen waits while seat1 is busy and leaves the queue by ``leave``; seat1 frees.
    Returns the stored attempt and the seat's pop while ringing/answered and at the end."""
    with phone(running, "seat1") as seat, phone(running, "citizen2") as other, \
         phone(running, "citizen1") as citizen:
        busy = seat.call("citizen2", timeout=15)  # the only seat signed in is in a call
        other.wait_for_incoming(timeout=10)
        call = citizen.call("12345", timeout=10)
        wait_until(lambda: (c := citizen_call(running)) is not None
                   and c.queue_joined_at is not None, timeout=40, what="waiting in the queue")
        time.sleep(1.0)
        leave(call)
        call.wait_until_ended(timeout=30)
        wait_until(lambda: requests(running), timeout=30, what="a request")
        [request] = requests(running)
        assert (request.reason, request.phone, request.status) == (reason, "citizen1",
                                                                    "pending")
        time.sleep(1.5)  # several passes: the seat is busy, nobody is dialled
        assert running.hotline.outbound.queue_callbacks.placed == 0
        assert [r.status for r in requests(running)] == ["pending"]
        assert seat.incoming_calls == [] and citizen.incoming_calls == []

        busy.hangup()  # the seat is free: its phone rings first
        seat_leg = seat.wait_for_incoming(timeout=30)
        pop = running.hotline.pop.current(SEAT)
        assert pop is not None
        citizen_leg = citizen.wait_for_incoming(timeout=30)  # then the citizen's
        started = time.monotonic()
        citizen_leg.play(sine_tone(660, seconds=2))
        time.sleep(2.5)
        heard = seat_leg.received_audio(since=started)
        seat_leg.hangup()
        citizen_leg.wait_until_ended(timeout=30)
    assert rms(heard) > 10, "the seat did not hear the citizen: not bridged"
    attempt = wait_until(lambda: next((a for a in attempts(running) if a.outcome), None),
                         timeout=30, what="the attempt stored")
    assert isinstance(attempt, QueueCallbackAttempt)
    end = running.hotline.pop.current(SEAT)
    assert end is not None
    return attempt, pop, end


def attempts(running: RunningHotline) -> list[QueueCallbackAttempt]:
    with Session(running.hotline.engine) as session:
        return list(session.exec(select(QueueCallbackAttempt)).all())


def assert_stored(running: RunningHotline, attempt: QueueCallbackAttempt, pop: Ring,
                  end: Ring, *, label: str) -> None:
    assert (attempt.outcome, attempt.seat, attempt.phone) == ("answered", SEAT, "citizen1")
    assert attempt.detail["dial_status"] == "ANSWER"
    assert [r.status for r in requests(running)] == ["done"]
    assert (pop.uniqueid, pop.caller, pop.reason) == (attempt.uniqueid, "citizen1", label)
    assert pop.state in ("ringing", "answered")
    assert (end.uniqueid, end.state) == (attempt.uniqueid, "ended")

    def recording() -> Recording | None:
        with Session(running.hotline.engine) as session:
            rec = session.exec(select(Recording).where(
                Recording.call_uniqueid == attempt.uniqueid)).first()
        return rec if rec is not None and rec.complete else None

    rec = wait_until(recording, timeout=30, what="the bridged recording finished")
    assert isinstance(rec, Recording)
    assert rec.kind == "full" and rec.problem is None
    assert rec.duration_seconds is not None and rec.duration_seconds > 1.0
    assert (running.settings.recordings_dir / rec.path).is_file()


def test_given_a_caller_keys_3_in_the_queue_when_the_busy_seat_frees_then_they_are_called_back_and_bridged(  # noqa: E501
    make_hotline: Callable[..., RunningHotline],
) -> None:
    running = make_hotline(**OVERRIDES)
    attempt, pop, end = called_back(running, lambda call: call.send_dtmf("3"),
                                    reason="requested")
    assert_stored(running, attempt, pop, end, label="预约回拨")
    call = citizen_call(running)
    assert call is not None and "callback" in call.ivr_path


def test_given_a_caller_hangs_up_waiting_when_the_busy_seat_frees_then_they_are_called_back(
    make_hotline: Callable[..., RunningHotline],
) -> None:
    running = make_hotline(**OVERRIDES)
    attempt, pop, end = called_back(running, lambda call: call.hangup(), reason="abandoned")
    assert_stored(running, attempt, pop, end, label="漏接回拨")
    call = citizen_call(running)
    assert call is not None and call.queue_outcome == "abandoned"

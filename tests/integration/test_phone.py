"""The SIP soft phone (hotline.telephony.phone) against the real Asterisk sandbox.

Most tests call a registered citizen phone directly (``Dial(PJSIP/citizen2)`` in hotline-in), so
they hold whether or not the FastAGI controller runs. The fallback-queue tests need the
controller down: a call to 12345 is then answered, the AGI fails and Queue(hotline) rings the
registered seat. Every wait is bounded.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.config import Settings, load_settings
from hotline.errors import PhoneError
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import CallState, SoftPhone, rms, sine_tone
from hotline.telephony.sandbox import Sandbox

pytestmark = pytest.mark.integration

HOTLINE = "12345"
SEAT = "seat1"
CALLEE = "citizen2"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def phone_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="module", autouse=True)
def asterisk_sandbox(phone_settings: Settings) -> None:
    status = Sandbox(phone_settings).status()
    if not status.booted:
        pytest.fail(
            f"the Asterisk sandbox is not running ({status.describe()}): "
            "start it with `hotline asterisk sandbox up`",
            pytrace=False,
        )


@pytest.fixture
def seat(phone_settings: Settings) -> Iterator[SoftPhone]:
    """The seat phone, registered and answering at once."""
    phone = SoftPhone(user=SEAT, password=phone_password(phone_settings, SEAT), auto_answer=True)
    with phone:
        yield phone


@pytest.fixture
def ringing_seat(phone_settings: Settings) -> Iterator[SoftPhone]:
    """The seat phone, registered but never answering."""
    phone = SoftPhone(user=SEAT, password=phone_password(phone_settings, SEAT), auto_answer=False)
    with phone:
        yield phone


@pytest.fixture
def callee(phone_settings: Settings) -> Iterator[SoftPhone]:
    """A registered citizen phone answering at once, rung directly by Dial()."""
    phone = SoftPhone(
        user=CALLEE, password=phone_password(phone_settings, CALLEE), auto_answer=True
    )
    with phone:
        yield phone


@pytest.fixture
def no_controller(phone_settings: Settings) -> None:
    """The fallback path to the queue is taken only when no FastAGI controller answers."""
    agi = (phone_settings.agi.host, phone_settings.agi.port)
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(agi) == 0:
            pytest.fail(
                f"a FastAGI controller is listening on {agi[0]}:{agi[1]}: calls to {HOTLINE} "
                "go to the IVR, not to the fallback queue this test drives; stop it and rerun",
                pytrace=False,
            )


@pytest.fixture
def caller() -> Iterator[SoftPhone]:
    """An unauthenticated caller, matched by Asterisk as the `demo` endpoint."""
    with SoftPhone(user="demo", password=None) as phone:
        yield phone


class AmiEvents:
    """A plain AMI connection that records every event (one dict per event)."""

    def __init__(self, settings: Settings) -> None:
        self.events: list[dict[str, str]] = []
        self._sock = socket.create_connection(("127.0.0.1", settings.ami.port), timeout=5)
        self._buffer = b""
        self._sock.sendall(
            f"Action: Login\r\nUsername: {settings.ami.username}\r\n"
            f"Secret: {settings.ami_secret}\r\nEvents: call,dtmf\r\n\r\n".encode()
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        login = self.wait_for(lambda e: "Response" in e, timeout=5)
        if login["Response"] != "Success":
            pytest.fail(f"AMI login refused: {login}", pytrace=False)

    def _read(self) -> None:
        self._sock.settimeout(0.2)
        while True:
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            self._buffer += data
            while b"\r\n\r\n" in self._buffer:
                block, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
                lines = block.decode(errors="replace").split("\r\n")
                self.events.append(dict(line.split(": ", 1) for line in lines if ": " in line))

    def wait_for(self, match: Callable[[dict[str, str]], bool], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if match(event):
                    return event
            time.sleep(0.02)
        raise AssertionError(f"no matching AMI event within {timeout} s")

    def action(self, action: str, **fields: str) -> dict[str, str]:
        """Send an action and wait for its response (which must be Success)."""
        action_id = uuid.uuid4().hex
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = self.wait_for(lambda e: e.get("ActionID") == action_id, timeout=5)
        assert reply.get("Response") == "Success", f"AMI {action} failed: {reply}"
        return reply

    def close(self) -> None:
        self._sock.close()
        self._thread.join(timeout=1)


@pytest.fixture
def ami(phone_settings: Settings) -> Iterator[AmiEvents]:
    events = AmiEvents(phone_settings)
    try:
        yield events
    finally:
        events.close()


def rung_call_linkedid(ami: AmiEvents, endpoint: str) -> str:
    """Linkedid of the call that rang ``endpoint``: the caller's channel carries the same one."""
    prefix = f"PJSIP/{endpoint}-"
    ringing = ami.wait_for(
        lambda e: e.get("Event") == "Newchannel" and e.get("Channel", "").startswith(prefix),
        timeout=5,
    )
    return ringing["Linkedid"]


def caller_digits_received(ami: AmiEvents, linkedid: str) -> str:
    return "".join(
        e["Digit"]
        for e in list(ami.events)
        if e.get("Event") == "DTMFEnd"
        and e.get("Direction") == "Received"
        and e.get("Linkedid") == linkedid
        and e.get("Channel", "").startswith("PJSIP/demo-")
    )


def test_given_registered_citizen_when_demo_calls_it_then_citizen_hears_caller_and_sees_hang_up(
    callee: SoftPhone, caller: SoftPhone
) -> None:
    call = caller.call(CALLEE, timeout=10)
    answered = callee.wait_for_incoming(timeout=10)
    assert answered.state is CallState.ANSWERED

    time.sleep(0.5)
    quiet = rms(answered.received_audio())
    playing_from = time.monotonic()
    call.play(sine_tone(440, seconds=1.5, amplitude=0.5))
    time.sleep(0.3)
    heard = rms(answered.received_audio(since=playing_from))
    assert quiet < 5, f"the callee hears noise before the caller plays anything (RMS {quiet})"
    assert heard > 25, f"the callee did not hear the caller's tone (RMS {heard}, silence {quiet})"

    call.hangup()
    assert answered.wait_until_ended(timeout=5) == "remote"
    assert call.ended_by == "local"


def test_given_answered_call_when_callee_hangs_up_then_caller_learns_remote_hang_up(
    callee: SoftPhone, caller: SoftPhone
) -> None:
    call = caller.call(CALLEE, timeout=10)
    answered = callee.wait_for_incoming(timeout=10)
    time.sleep(0.5)

    answered.hangup()

    # Without the ACK To-tag patch Asterisk never confirms the dialog and cannot send this BYE.
    assert call.wait_until_ended(timeout=5) == "remote"
    assert answered.ended_by == "local"
    assert call.ended_at is not None and answered.ended_at is not None
    assert call.ended_at - answered.ended_at < 1.0


def test_given_no_controller_when_demo_calls_hotline_then_fallback_queue_rings_seat_and_both_hang_ups_reach_the_other_side(  # noqa: E501
    no_controller: None, seat: SoftPhone, caller: SoftPhone
) -> None:
    call = caller.call(HOTLINE, timeout=10)
    answered = seat.wait_for_incoming(timeout=20)
    time.sleep(0.3)
    playing_from = time.monotonic()
    call.play(sine_tone(440, seconds=1.0, amplitude=0.5))
    time.sleep(0.3)
    heard = rms(answered.received_audio(since=playing_from))
    assert heard > 25, f"the seat did not hear the caller's tone (RMS {heard})"
    call.hangup()
    assert answered.wait_until_ended(timeout=5) == "remote"

    call = caller.call(HOTLINE, timeout=10)
    answered = seat.wait_for_incoming(timeout=20)
    time.sleep(0.3)
    answered.hangup()
    assert call.wait_until_ended(timeout=5) == "remote"


CALL_ONCE = """
import json, sys, time
from hotline.telephony.phone import SoftPhone
with SoftPhone(user="demo", password=None, sip_port=int(sys.argv[1])) as phone:
    started = time.monotonic()
    call = phone.call(sys.argv[2], timeout=10)
    setup = time.monotonic() - started
    time.sleep(1.0)
    call.hangup()
    call.wait_until_ended(5)
print(json.dumps({"call_id": call.call_id, "setup": setup}))
"""


def test_given_two_fresh_processes_on_the_same_sip_port_when_each_calls_then_both_connect(
    callee: SoftPhone,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        sip_port = probe.getsockname()[1]

    results = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", CALL_ONCE, str(sip_port), CALLEE],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"call from a fresh process failed:\n{done.stderr}"
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    assert results[0]["call_id"] != results[1]["call_id"]
    first, second = callee.wait_for_incoming(timeout=5), callee.wait_for_incoming(timeout=5)
    assert first.wait_until_ended(timeout=5) == "remote"
    assert second.wait_until_ended(timeout=5) == "remote"


def test_given_recorded_bridged_call_when_caller_sends_rfc4733_digits_then_asterisk_receives_them_in_order(  # noqa: E501
    phone_settings: Settings, ami: AmiEvents, callee: SoftPhone, caller: SoftPhone
) -> None:
    call = caller.call(CALLEE, timeout=10)
    answered = callee.wait_for_incoming(timeout=10)
    linkedid = rung_call_linkedid(ami, CALLEE)
    caller_channel = ami.wait_for(
        lambda e: e.get("Event") == "Newchannel" and e.get("Uniqueid") == linkedid, timeout=5
    )["Channel"]
    # Hotline calls are recorded (MixMonitor), which keeps Asterisk in the media path; a bare
    # Dial() bridge would go native_rtp and pass RFC 4733 packets through without decoding them.
    recording = f"/tmp/test-phone-dtmf-{uuid.uuid4().hex}.wav"
    ami.action("MixMonitor", Channel=caller_channel, File=recording)
    try:
        time.sleep(0.5)  # the bridge leaves native_rtp once the audiohook is attached

        call.send_dtmf("123#")

        deadline = time.monotonic() + 5
        while len(caller_digits_received(ami, linkedid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert caller_digits_received(ami, linkedid) == "123#"
        # Asterisk passes them on to the callee as RFC 4733 events too.
        deadline = time.monotonic() + 2
        while len(answered.received_dtmf()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert answered.received_dtmf() == "123#"
    finally:
        call.hangup()
        answered.wait_until_ended(timeout=5)
        (phone_settings.sandbox_root / recording.lstrip("/")).unlink(missing_ok=True)


def test_given_caller_waiting_in_queue_when_caller_presses_a_key_then_asterisk_receives_it(
    no_controller: None, ami: AmiEvents, ringing_seat: SoftPhone, caller: SoftPhone
) -> None:
    call = caller.call(HOTLINE, timeout=10)
    ringing = ringing_seat.wait_for_incoming(timeout=20)
    assert ringing.state is CallState.RINGING
    linkedid = rung_call_linkedid(ami, SEAT)

    call.send_dtmf("5")

    ami.wait_for(
        lambda e: (
            e.get("Event") == "DTMFEnd"
            and e.get("Linkedid") == linkedid
            and e.get("Direction") == "Received"
            and e.get("Digit") == "5"
        ),
        timeout=5,
    )
    # Whether or not that key leaves the queue (queues.conf context), once the caller is gone
    # the ringing seat is cancelled.
    call.hangup()
    assert ringing.wait_until_ended(timeout=5) == "remote"
    assert ringing.answered_at is None


def test_given_ringing_callee_when_caller_gives_up_then_call_is_cancelled_on_both_sides(
    phone_settings: Settings, caller: SoftPhone
) -> None:
    password = phone_password(phone_settings, CALLEE)
    with SoftPhone(user=CALLEE, password=password, auto_answer=False) as callee:
        with pytest.raises(PhoneError, match="not answered within 2 s"):
            caller.call(CALLEE, timeout=2)
        ringing = callee.wait_for_incoming(timeout=1)

        assert caller.calls[-1].wait_until_ended(timeout=5) == "local"
        assert ringing.wait_until_ended(timeout=5) == "remote"
        assert ringing.answered_at is None


def test_given_wrong_password_when_seat_registers_then_phone_error() -> None:
    phone = SoftPhone(user=SEAT, password="not-the-password")
    with pytest.raises(PhoneError, match="refused: 401"):
        phone.start()
    phone.stop()


def test_given_unknown_number_when_demo_calls_then_phone_error_with_status(
    caller: SoftPhone,
) -> None:
    with pytest.raises(PhoneError, match="rejected: 404") as raised:
        caller.call("99999", timeout=5)
    assert raised.value.details["status"] == 404

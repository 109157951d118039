"""FastAGI conversations replayed over a real loopback socket against a real ``AgiServer``.

A scripted "fake Asterisk" connects like Asterisk does, sends the AGI header, then for each
command line the server sends, checks it is the expected one and answers with a reply line as
Asterisk 22 writes it. The route drives an ``AgiCallChannel``; the tests check what its methods
return or raise, and that nothing is sent after the caller hung up.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from hotline.errors import AgiError, CallerHungUp
from hotline.ivr.ports import (
    DialStatus,
    ListenOutcome,
    Prompt,
    QueueOutcome,
    QueueStatus,
    RecordOutcome,
)
from hotline.telephony.agi import AgiCallChannel, AgiRequest, AgiServer

PROMPTS = "/var/lib/hotline/prompts"
RECORDINGS = "/var/spool/hotline/recordings/2026/11/24"
UNIQUEID = "1795501598.2"
DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercepted channel"

HEADER = {
    "agi_network": "yes",
    "agi_network_script": "ivr",
    "agi_request": "agi://127.0.0.1:4573/ivr",
    "agi_channel": "PJSIP/sipp-00000001",
    "agi_language": "zh",
    "agi_type": "PJSIP",
    "agi_uniqueid": UNIQUEID,
    "agi_version": "22.0.0",
    "agi_callerid": "13800138000",
    "agi_calleridname": "unknown",
    "agi_callingpres": "0",
    "agi_dnid": "12345",
    "agi_rdnis": "unknown",
    "agi_context": "hotline-in",
    "agi_extension": "12345",
    "agi_priority": "7",
    "agi_enhanced": "0.0",
    "agi_accountcode": "",
    "agi_threadid": "140226113869504",
    "agi_arg_1": "default",
}


def header_bytes(header: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\n" for k, v in header.items()).encode() + b"\n"


@dataclass(frozen=True)
class Step:
    """One exchange: the command the server must send, and Asterisk's reply line.

    ``reply=None``: Asterisk closes the socket instead of replying (the call is gone).
    """

    expect: str
    reply: str | None
    delay: float = 0.0  # seconds Asterisk takes before replying (media commands)


async def fake_asterisk(port: int, steps: list[Step], *,
                        header: dict[str, str] | None = None) -> list[str]:
    """Play Asterisk's side of one AGI conversation; return the command lines received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received: list[str] = []
    try:
        writer.write(header_bytes(header or HEADER))
        await writer.drain()
        for number, step in enumerate(steps, 1):
            line = await asyncio.wait_for(reader.readline(), 5)
            command = line.decode().rstrip("\n")
            received.append(command)
            assert command == step.expect, f"command {number}: {command!r} != {step.expect!r}"
            if step.reply is None:
                return received
            if step.delay:
                await asyncio.sleep(step.delay)
            writer.write(f"{step.reply}\n".encode())
            await writer.drain()
        # The script is over: the server must close the socket without another command.
        rest = await asyncio.wait_for(reader.read(), 5)
        assert rest == b"", f"commands sent after the script ended: {rest!r}"
        return received
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Handler = Callable[[AgiCallChannel], Awaitable[Any]]


class Harness:
    """A real AgiServer whose ``ivr`` route runs the test's handler on an AgiCallChannel."""

    def __init__(self, server: AgiServer) -> None:
        self.server = server
        self.port = server.port
        self.handler: Handler | None = None
        self.outcomes: asyncio.Queue[Any] = asyncio.Queue()
        self.recordings_announced: list[tuple[str, str, datetime]] = []
        self.channels: list[AgiCallChannel] = []

    async def route(self, request: AgiRequest) -> None:
        channel = AgiCallChannel(
            request,
            resolve_prompt=self._resolve_prompt,
            recording_target=self._recording_target,
            on_recording=self._on_recording,
            answer_target=self._answer_target,
        )
        self.channels.append(channel)
        assert self.handler is not None
        try:
            result = await self.handler(channel)
        except Exception as exc:  # noqa: BLE001 - handed to the test to assert on
            self.outcomes.put_nowait(exc)
        else:
            self.outcomes.put_nowait(result)

    @staticmethod
    async def _resolve_prompt(prompt: Prompt) -> str:
        return f"{PROMPTS}/{prompt.text}"

    @staticmethod
    def _recording_target(call_id: str, name: str) -> tuple[str, str]:
        return f"{RECORDINGS}/{call_id}-{name}", f"/host/recordings/{call_id}-{name}.wav"

    @staticmethod
    def _answer_target(call_id: str, number: int) -> tuple[str, str]:
        return (f"{RECORDINGS}/answers/{call_id}-{number}",
                f"/host/recordings/answers/{call_id}-{number}.wav")

    async def _on_recording(self, name: str, host_path: str, when: datetime) -> None:
        self.recordings_announced.append((name, host_path, when))

    async def converse(self, handler: Handler, steps: list[Step], *,
                       header: dict[str, str] | None = None) -> tuple[Any, list[str]]:
        """Run one call: returns (what the handler returned or raised, commands received)."""
        self.handler = handler
        commands = await asyncio.wait_for(fake_asterisk(self.port, steps, header=header), 10)
        outcome = await asyncio.wait_for(self.outcomes.get(), 5)
        return outcome, commands

    async def wait_idle(self, within: float = 3.0) -> None:
        """Wait until the server has finished with every connection."""
        deadline = time.monotonic() + within
        while self.server.active:
            assert time.monotonic() < deadline, "a FastAGI connection handler is still running"
            await asyncio.sleep(0.01)


@pytest.fixture
async def agi() -> AsyncIterator[Harness]:
    server = AgiServer(host="127.0.0.1", port=free_port(), header_timeout=0.5)
    harness = Harness(server)
    server.add_route("ivr", harness.route)
    await server.start()
    try:
        yield harness
    finally:
        await server.stop()


GREETING = [Step(f'STREAM FILE {PROMPTS}/welcome "12"', "200 result=0 endpos=16000")]


async def play_welcome(channel: AgiCallChannel) -> str | None:
    return await channel.play(Prompt(text="welcome"), interrupt_keys="12")


# ---- the header --------------------------------------------------------------------------


async def test_given_agi_header_when_call_arrives_then_channel_knows_caller_and_call_id(
    agi: Harness,
) -> None:
    async def who(channel: AgiCallChannel) -> tuple[str, str, str]:
        return channel.caller, channel.call_id, channel.request.channel

    outcome, commands = await agi.converse(who, [])

    assert outcome == ("13800138000", UNIQUEID, "PJSIP/sipp-00000001")
    assert commands == []


async def test_given_withheld_caller_id_when_call_arrives_then_caller_is_empty(
    agi: Harness
) -> None:
    async def caller(channel: AgiCallChannel) -> str:
        return str(channel.caller)

    outcome, _ = await agi.converse(caller, [], header={**HEADER, "agi_callerid": "unknown"})

    assert outcome == ""


async def test_given_script_with_query_string_when_call_arrives_then_route_is_found(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        play_welcome, GREETING, header={**HEADER, "agi_network_script": "/ivr?flow=default"}
    )

    assert outcome is None
    assert agi.server.handled == 1


async def test_given_unknown_script_when_call_arrives_then_server_closes_without_command(
    agi: Harness,
) -> None:
    commands = await fake_asterisk(agi.port, [], header={**HEADER, "agi_network_script": "x"})

    assert commands == []
    assert agi.server.handled == 0


async def test_given_header_without_script_when_call_arrives_then_it_is_dropped(
    agi: Harness
) -> None:
    header = {k: v for k, v in HEADER.items() if k != "agi_network_script"}

    commands = await fake_asterisk(agi.port, [], header=header)

    assert commands == []
    assert agi.server.handled == 0


# ---- CallChannel methods over AGI ----------------------------------------------------------


async def test_given_prompt_interrupted_by_key_1_when_playing_then_play_returns_1(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        play_welcome, [Step(f'STREAM FILE {PROMPTS}/welcome "12"', "200 result=49 endpos=1234")]
    )

    assert outcome == "1"


async def test_given_prompt_played_through_when_playing_then_play_returns_none(
    agi: Harness
) -> None:
    outcome, _ = await agi.converse(play_welcome, GREETING)

    assert outcome is None


async def test_given_no_interrupt_keys_when_playing_then_empty_keys_are_quoted(
    agi: Harness
) -> None:
    async def play(channel: AgiCallChannel) -> str | None:
        return await channel.play(Prompt(text="bye"))

    outcome, _ = await agi.converse(
        play, [Step(f'STREAM FILE {PROMPTS}/bye ""', "200 result=0 endpos=8000")]
    )

    assert outcome is None


async def test_given_answer_when_call_starts_then_answer_is_sent(agi: Harness) -> None:
    async def answer(channel: AgiCallChannel) -> str:
        await channel.answer()
        return "answered"

    outcome, commands = await agi.converse(answer, [Step("ANSWER", "200 result=0")])

    assert outcome == "answered"
    assert commands == ["ANSWER"]


async def read_ticket_number(channel: AgiCallChannel) -> str:
    return await channel.read_digits(Prompt(text="ticket"), max_digits=8, timeout=5.0)


@pytest.mark.parametrize(
    ("reply", "digits"),
    [
        ("200 result=20261124", "20261124"),  # max digits reached, or ended by '#'
        ("200 result=123 (timeout)", "123"),  # some keys, then the timeout
        ("200 result=123# (timeout)", "123"),  # '#' ends the input and is not a digit
        ("200 result=12* (timeout)", "12*"),  # '*' is a key like the others
        ("200 result= (timeout)", ""),  # no key at all
    ],
)
async def test_given_keys_pressed_when_reading_digits_then_the_keys_are_returned(
    agi: Harness, reply: str, digits: str
) -> None:
    outcome, _ = await agi.converse(
        read_ticket_number, [Step(f"GET DATA {PROMPTS}/ticket 5000 8", reply)]
    )

    assert outcome == digits


async def test_given_no_prompt_when_reading_one_key_then_silence_is_played(agi: Harness) -> None:
    async def menu_key(channel: AgiCallChannel) -> str:
        return await channel.read_digits(None, max_digits=1, timeout=4.5)

    outcome, _ = await agi.converse(menu_key, [Step("GET DATA silence/1 4500 1", "200 result=*")])

    assert outcome == "*"


async def record_message(channel: AgiCallChannel) -> RecordOutcome:
    return await channel.record(name="message", max_seconds=60, silence_seconds=3, beep=True)


RECORD_COMMAND = f'RECORD FILE {RECORDINGS}/{UNIQUEID}-message wav "#" 60000 BEEP s=3'


async def test_given_caller_presses_hash_when_recording_then_record_ended_by_key(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        record_message, [Step(RECORD_COMMAND, "200 result=35 (dtmf) endpos=48000")]
    )

    assert outcome.ended_by == "key"
    assert outcome.path == f"/host/recordings/{UNIQUEID}-message.wav"
    assert [(name, path) for name, path, _ in agi.recordings_announced] == [
        ("message", f"/host/recordings/{UNIQUEID}-message.wav")
    ]


async def test_given_caller_falls_silent_when_recording_then_record_ended_by_silence(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        record_message, [Step(RECORD_COMMAND, "200 result=0 (timeout) endpos=24000")]
    )

    assert outcome.ended_by == "silence"


async def test_given_no_beep_and_no_silence_limit_when_recording_then_options_are_left_out(
    agi: Harness,
) -> None:
    async def record(channel: AgiCallChannel) -> RecordOutcome:
        return await channel.record(name="m2", max_seconds=1, silence_seconds=0, beep=False)

    outcome, _ = await agi.converse(record, [
        Step(f'RECORD FILE {RECORDINGS}/{UNIQUEID}-m2 wav "#" 1000',
             "200 result=0 (timeout) endpos=8000", delay=0.6),
    ])

    # Asterisk says "(timeout)" for silence and for the length limit alike: the time tells.
    assert outcome.ended_by == "max_length"


async def test_given_caller_hangs_up_while_recording_then_message_was_announced_first(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        record_message, [Step(RECORD_COMMAND, "200 result=-1 (hangup) endpos=16000")]
    )

    assert isinstance(outcome, CallerHungUp)
    assert [name for name, _, _ in agi.recordings_announced] == ["message"]


async def listen_twice(channel: AgiCallChannel) -> list[ListenOutcome]:
    return [await channel.listen(max_seconds=5, silence_seconds=2, keys="129")
            for _ in range(2)]


def listen_command(number: int) -> str:
    return f'RECORD FILE {RECORDINGS}/answers/{UNIQUEID}-{number} wav "129" 5000 s=2'


async def test_given_a_speech_menu_when_listening_then_answers_are_numbered_and_keys_end_them(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(listen_twice, [
        Step(listen_command(1), "200 result=0 (timeout) endpos=24000"),
        Step(listen_command(2), "200 result=50 (dtmf) endpos=8000"),
    ])

    said, pressed = outcome
    assert (said.path, said.key) == (f"/host/recordings/answers/{UNIQUEID}-1.wav", None)
    assert (pressed.path, pressed.key) == (f"/host/recordings/answers/{UNIQUEID}-2.wav", "2")
    assert agi.recordings_announced == []  # answers are not recordings of the call


async def test_given_caller_hangs_up_while_listened_to_then_caller_hung_up(agi: Harness) -> None:
    outcome, _ = await agi.converse(
        listen_twice, [Step(listen_command(1), "200 result=-1 (hangup) endpos=0")]
    )

    assert isinstance(outcome, CallerHungUp)


def queue_script(*, status: str, member: str, exten: str, context: str) -> list[Step]:
    def var(value: str) -> str:
        return f"200 result=1 ({value})" if value else "200 result=0"

    return [
        Step('EXEC Queue "hotline,cr,,,300"', "200 result=0"),
        Step("GET VARIABLE QUEUESTATUS", var(status)),
        Step("GET VARIABLE MEMBERINTERFACE", var(member)),
        Step("GET VARIABLE EXTEN", var(exten)),
        Step("GET VARIABLE CONTEXT", var(context)),
    ]


async def wait_in_queue(channel: AgiCallChannel) -> QueueOutcome:
    return await channel.queue(queue="hotline", max_wait=300, exit_keys="1239")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"status": "", "member": "PJSIP/seat1", "exten": "12345", "context": "hotline-in"},
         QueueOutcome(QueueStatus.ANSWERED)),
        # option c: the seat hung up first and the caller continued in the dialplan
        ({"status": "CONTINUE", "member": "", "exten": "12345", "context": "hotline-in"},
         QueueOutcome(QueueStatus.ANSWERED)),
        ({"status": "", "member": "", "exten": "2", "context": "hotline-queue-exit"},
         QueueOutcome(QueueStatus.EXIT_KEY, key="2")),
        ({"status": "JOINEMPTY", "member": "", "exten": "12345", "context": "hotline-in"},
         QueueOutcome(QueueStatus.NO_SEAT)),
        ({"status": "LEAVEEMPTY", "member": "", "exten": "12345", "context": "hotline-in"},
         QueueOutcome(QueueStatus.NO_SEAT)),
        ({"status": "TIMEOUT", "member": "", "exten": "12345", "context": "hotline-in"},
         QueueOutcome(QueueStatus.TIMEOUT)),
        ({"status": "FULL", "member": "", "exten": "12345", "context": "hotline-in"},
         QueueOutcome(QueueStatus.FULL)),
    ],
    ids=["answered", "continue", "exit-key", "join-empty", "leave-empty", "timeout", "full"],
)
async def test_given_queue_variables_when_queue_returns_then_outcome_is_mapped(
    agi: Harness, variables: dict[str, str], expected: QueueOutcome
) -> None:
    outcome, _ = await agi.converse(wait_in_queue, queue_script(**variables))

    assert outcome == expected


async def transfer_to_120(channel: AgiCallChannel) -> DialStatus:
    return (await channel.dial(target="PJSIP/e120", timeout=30)).status


@pytest.mark.parametrize(
    ("dialstatus", "expected"),
    [
        ("ANSWER", DialStatus.ANSWERED),
        ("BUSY", DialStatus.BUSY),
        ("NOANSWER", DialStatus.NO_ANSWER),
        ("CANCEL", DialStatus.CANCELLED),
        ("CHANUNAVAIL", DialStatus.UNAVAILABLE),
        ("CONGESTION", DialStatus.UNAVAILABLE),
    ],
)
async def test_given_dialstatus_when_dial_returns_then_outcome_is_mapped(
    agi: Harness, dialstatus: str, expected: DialStatus
) -> None:
    outcome, _ = await agi.converse(transfer_to_120, [
        Step('EXEC Dial "PJSIP/e120,30,g"', "200 result=0"),
        Step("GET VARIABLE DIALSTATUS", f"200 result=1 ({dialstatus})"),
    ])

    assert outcome == expected


# ---- hang-ups --------------------------------------------------------------------------------


async def keep_going_after_hangup(channel: AgiCallChannel) -> BaseException:
    """Dial, and after the caller hung up try more, as a careless route would."""
    try:
        await channel.dial(target="PJSIP/e120", timeout=30)
    except CallerHungUp as exc:
        await channel.hangup()  # swallowed, and nothing is sent
        try:
            await channel.play(Prompt(text="bye"))
        except CallerHungUp:
            pass
        else:
            raise AssertionError("play after hang-up did not raise CallerHungUp") from None
        return exc
    raise AssertionError("dial did not raise CallerHungUp")


async def test_given_app_error_and_dead_channel_when_dialling_then_caller_hung_up_and_silence(
    agi: Harness,
) -> None:
    outcome, commands = await agi.converse(keep_going_after_hangup, [
        Step('EXEC Dial "PJSIP/e120,30,g"', "200 result=-1"),
        Step("CHANNEL STATUS", DEAD_CHANNEL),
    ])

    assert isinstance(outcome, CallerHungUp)
    assert "PJSIP/sipp-00000001" in str(outcome)
    assert commands == ['EXEC Dial "PJSIP/e120,30,g"', "CHANNEL STATUS"]  # nothing afterwards


async def test_given_app_error_on_live_channel_when_dialling_then_agi_error_not_hang_up(
    agi: Harness,
) -> None:
    async def dial_then_play(channel: AgiCallChannel) -> tuple[BaseException, str | None]:
        try:
            await channel.dial(target="PJSIP/e120", timeout=30)
        except AgiError as exc:
            return exc, await channel.play(Prompt(text="sorry"))
        raise AssertionError("dial did not raise")

    (error, played), _ = await agi.converse(dial_then_play, [
        Step('EXEC Dial "PJSIP/e120,30,g"', "200 result=-1"),
        Step("CHANNEL STATUS", "200 result=6"),
        Step(f'STREAM FILE {PROMPTS}/sorry ""', "200 result=0 endpos=8000"),
    ])

    assert type(error) is AgiError
    assert played is None


@pytest.mark.parametrize("reply", ["HANGUP", "200 result=-1 (hangup)", DEAD_CHANNEL])
async def test_given_hangup_reply_when_playing_then_caller_hung_up_and_no_more_commands(
    agi: Harness, reply: str
) -> None:
    async def play_twice(channel: AgiCallChannel) -> BaseException:
        try:
            await play_welcome(channel)
        except CallerHungUp as exc:
            with pytest.raises(CallerHungUp):
                await play_welcome(channel)
            return exc
        raise AssertionError("play did not raise CallerHungUp")

    outcome, commands = await agi.converse(
        play_twice, [Step(f'STREAM FILE {PROMPTS}/welcome "12"', reply)]
    )

    assert isinstance(outcome, CallerHungUp)
    assert len(commands) == 1


async def test_given_unknown_command_error_when_sending_then_agi_error_names_the_command(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        play_welcome,
        [Step(f'STREAM FILE {PROMPTS}/welcome "12"', "510 Invalid or unknown command")],
    )

    assert type(outcome) is AgiError
    assert "STREAM FILE" in str(outcome)


async def test_given_socket_closed_mid_command_when_playing_then_caller_hung_up_and_server_healthy(
    agi: Harness,
) -> None:
    outcome, _ = await agi.converse(
        play_welcome, [Step(f'STREAM FILE {PROMPTS}/welcome "12"', None)]
    )

    assert isinstance(outcome, CallerHungUp)
    await agi.wait_idle()
    assert agi.server.listening
    outcome, _ = await agi.converse(
        play_welcome, [Step(f'STREAM FILE {PROMPTS}/welcome "12"', "200 result=50 endpos=10")]
    )
    assert outcome == "2"


# ---- clients that are not Asterisk -----------------------------------------------------------


async def test_given_port_probe_when_it_closes_without_header_then_server_serves_next_call(
    agi: Harness,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
    writer.close()
    await writer.wait_closed()

    await agi.wait_idle(within=1.0)  # the handler ended: no loop spinning on EOF
    cpu_before = time.process_time()
    await asyncio.sleep(0.3)
    assert time.process_time() - cpu_before < 0.15, "the server burns CPU after a port probe"
    outcome, _ = await agi.converse(play_welcome, GREETING)
    assert outcome is None
    assert agi.server.handled == 1


async def test_given_client_that_sends_nothing_when_header_times_out_then_it_is_dropped(
    agi: Harness,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
    try:
        # A real call is served while the silent client holds its connection.
        outcome, _ = await agi.converse(play_welcome, GREETING)
        assert outcome is None

        cpu_before = time.process_time()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 3) == b""  # closed by the server
        waited = time.monotonic() - started
    finally:
        writer.close()
        await writer.wait_closed()

    assert waited < 2.0
    assert time.process_time() - cpu_before < 0.25, "the server burns CPU while waiting"
    await agi.wait_idle()
    assert agi.server.handled == 1
    outcome, _ = await agi.converse(play_welcome, GREETING)
    assert outcome is None


async def test_given_header_flood_over_16_kib_when_received_then_connection_is_dropped(
    agi: Harness,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
    flood = b"".join(f"agi_junk_{i}: {'x' * 100}\n".encode() for i in range(200))
    assert len(flood) > 16 * 1024
    try:
        writer.write(header_bytes({"agi_network_script": "ivr"})[:-1] + flood)
        await writer.drain()
        try:
            rest = await asyncio.wait_for(reader.read(), 3)
        except ConnectionResetError:
            rest = b""
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    assert rest == b""  # closed, and no command was sent
    await agi.wait_idle()
    assert agi.server.handled == 0
    outcome, _ = await agi.converse(play_welcome, GREETING)
    assert outcome is None


# ---- routes ----------------------------------------------------------------------------------


async def test_given_plain_function_when_adding_route_then_type_error(agi: Harness) -> None:
    def not_async(request: AgiRequest) -> None:
        return None

    with pytest.raises(TypeError, match="async"):
        agi.server.add_route("sync", not_async)  # type: ignore[arg-type]

    assert "sync" not in agi.server._route

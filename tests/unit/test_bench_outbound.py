"""The pure parts of ``make bench-outbound``: the table, what is counted as placed, answered,
stored and lost (on a real SQLite database, the scheduler run with the in-memory dialer), the
SIPp statistics read, and SIPp's answering scenario."""

from __future__ import annotations

import asyncio
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hotline.bench.outbound import (
    Counts,
    Result,
    counts,
    sipp_counts,
    table,
    wait_for_listener,
)
from hotline.db import session_scope
from hotline.outbound.ports import CallReport
from hotline.outbound.rules import CallingHours, Outcome
from hotline.outbound.scheduler import OutboundScheduler
from hotline.outbound.service import Policy
from hotline.telephony.sipp import (
    CAPTURES,
    Capture,
    Digit,
    Pause,
    answerer_scenario,
    press_capture,
)
from hotline.tickets.units import load_default_list
from tests.api import Clock
from tests.pg import sqlite_engine, sqlite_template  # noqa: F401 - fixtures
from tests.unit.test_outbound_service import CST, T0, ScriptedDialer, approve, replied_ticket


def result(n: int, *, placed: int, answered: int, stored: int, span_s: float,
           cpu_s: float = 30.0) -> Result:
    return Result(n=n, tickets=3 * n, counts=Counts(open_calls=0, placed=placed,
                                                   answered=answered, stored=stored,
                                                   span_s=span_s),
                  asterisk_cpu_s=12.5, controller_cpu_s=cpu_s, sipp_ok=answered,
                  sipp_failed=placed - answered, cores=2)


def test_lost_rate_and_cpu_share_are_derived_from_the_counts() -> None:
    r = result(30, placed=90, answered=88, stored=87, span_s=120.0, cpu_s=60.0)
    assert r.lost == 3  # placed without a result, unanswered ones included
    assert r.per_minute == 45.0  # 90 calls over two minutes
    assert r.controller_share == 0.25  # 60 CPU seconds over 120 s on 2 cores
    assert not r.ok
    assert result(10, placed=30, answered=30, stored=30, span_s=60.0).ok
    assert result(10, placed=0, answered=0, stored=0, span_s=0.0).per_minute == 0.0


def test_the_table_has_one_row_per_n_under_a_header_of_as_many_columns() -> None:
    text = table([result(10, placed=30, answered=30, stored=30, span_s=60.0),
                  result(30, placed=90, answered=88, stored=87, span_s=120.0, cpu_s=60.0)])
    header, rule, *rows = text.splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[:8] == ["N concurrent", "tickets", "calls placed", "answered",
                           "results stored", "lost results", "calls/min sustained",
                           "controller CPU s"]
    assert rule.count("---") == len(columns)
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert [len(c) for c in cells] == [len(columns)] * 2
    assert cells[0][:8] == ["10", "30", "30", "30", "30", "0", "30.0", "30.0"]
    assert cells[1][:9] == ["30", "90", "90", "88", "87", "3", "45.0", "60.0", "25 %"]


def test_counts_placed_answered_stored_and_open_from_the_database(
    sqlite_engine: Engine,  # noqa: F811
) -> None:
    with session_scope(sqlite_engine) as session:
        load_default_list(session=session)
    clock = Clock(T0)
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1"),
                             CallReport(Outcome.NO_ANSWER), CallReport(Outcome.ANSWERED)])
    scheduler = OutboundScheduler(engine=sqlite_engine, clock=clock, dialer=dialer,
                                  policy=Policy(hours=CallingHours(tz=CST)))
    scheduler.plan_and_claim()
    for i in range(3):
        approve(sqlite_engine, replied_ticket(sqlite_engine, clock, phone=f"1380000000{i}"),
                clock)

    assert counts(sqlite_engine) == Counts(0, 0, 0, 0, 0.0)
    asyncio.run(scheduler.run_once(wait=True))

    # One rated, one not reached, one answered without a rating (hung up mid-survey): the
    # last two wait for their retry (open), their results not stored.
    assert counts(sqlite_engine) == Counts(open_calls=2, placed=3, answered=2, stored=1,
                                           span_s=0.0)


def test_sipp_counts_read_the_last_row_of_the_statistics(tmp_path: Path) -> None:
    stat = tmp_path / "stat.csv"
    assert sipp_counts(stat) == (0, 0)  # SIPp never wrote it
    stat.write_text("StartTime;SuccessfulCall(C);FailedCall(C);\n"
                    "2026-11-24 10:00:00;0;0;\n"
                    "2026-11-24 10:01:00;28;2;\n")
    assert sipp_counts(stat) == (28, 2)


def steps_of(scenario: str) -> list[ET.Element]:
    return list(ET.fromstring(scenario.split("\n", 2)[2]))  # past the XML and DOCTYPE lines


def test_the_answering_scenario_answers_keys_in_order_then_waits_for_the_bye() -> None:
    text = answerer_scenario([Pause(9500), Digit("1"), Pause(3000), Digit("2")])
    steps = steps_of(text)
    kinds = [(s.tag, s.get("request") or "") for s in steps]
    assert kinds[:2] == [("recv", "INVITE"), ("send", "")]
    assert "PCMU/8000" in text and "telephone-event/8000" in text
    played = [s.find("action/exec").get("play_pcap_audio")  # type: ignore[union-attr]
              for s in steps if s.tag == "nop"]
    assert played == [str(CAPTURES / "dtmf_2833_1.pcap"), str(CAPTURES / "dtmf_2833_2.pcap")]
    waits = [int(s.get("timeout", "0")) for s in steps if s.get("request") == "BYE"]
    assert waits[0] == 9500 and waits[-1] == 120000
    assert steps[-1].tag == "ResponseTimeRepartition"


def rtp_headers(capture: Path) -> list[tuple[int, int, int]]:
    """(payload type, sequence number, timestamp) of each RTP packet of an Ethernet pcap."""
    data, offset, found = capture.read_bytes(), 24, []
    while offset < len(data):
        length = int.from_bytes(data[offset + 8:offset + 12], "little")
        rtp = data[offset + 16 + 42:offset + 16 + length]
        found.append((rtp[1] & 0x7F, int.from_bytes(rtp[2:4], "big"),
                      int.from_bytes(rtp[4:8], "big")))
        offset += 16 + length
    return found


def test_a_key_pressed_again_comes_with_a_later_rtp_timestamp_and_sequence(tmp_path: Path
                                                                          ) -> None:
    original = rtp_headers(CAPTURES / "dtmf_2833_2.pcap")
    first, third = (rtp_headers(press_capture("2", i, tmp_path)) for i in (0, 2))
    assert first == original and len(third) == len(original) == 10
    assert {ts for _, _, ts in original} == {23200}  # every replay of it: the same event
    assert [(pt, seq + 32, ts + 16000) for pt, seq, ts in original] == third
    assert press_capture("2", 2, tmp_path).stat().st_size == (
        CAPTURES / "dtmf_2833_2.pcap").stat().st_size


def test_a_pressed_capture_is_played_like_a_digit(tmp_path: Path) -> None:
    capture = press_capture("2", 5, tmp_path)
    steps = steps_of(answerer_scenario([Pause(100), Capture(capture)]))
    [played] = [s.find("action/exec").get("play_pcap_audio")  # type: ignore[union-attr]
                for s in steps if s.tag == "nop"]
    assert played == str(capture)


def test_wait_for_listener_returns_once_the_port_is_held_and_fails_otherwise() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        wait_for_listener(port)
    with pytest.raises(RuntimeError, match="did not listen"):
        wait_for_listener(port, timeout=0.2)  # closed again: free

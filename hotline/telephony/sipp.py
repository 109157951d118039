"""SIPp as a caller: scenarios built from a script of steps, for tests and the benchmark.

SIPp (Debian package ``sip-tester``) plays RFC 2833/4733 digits and speech from the captures
it ships in ``/usr/share/sip-tester`` (``play_pcap_audio`` needs root: a raw socket). Never run
it with ``-bg`` (it forks and keeps the SIP port).

Example::

    scenario = caller_scenario([Pause(3000), Digit("2"), Pause(1500), Speech(), Digit("#")])
    result = run_sipp(scenario, calls=1, concurrent=1, port=5080, number="12345")

SIPp as the called phone (the outbound benchmark): ``answerer_scenario`` answers each INVITE,
runs the steps, then waits for Asterisk's BYE.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hotline.errors import TelephonyError

CAPTURES = Path("/usr/share/sip-tester")
SPEECH_PCAP = CAPTURES / "g711a.pcap"  # about 4.7 s of speech, PCMA
SPEECH_SECONDS = 4.7


@dataclass(frozen=True)
class Pause:
    ms: int


@dataclass(frozen=True)
class Digit:
    key: str  # 0-9, *, #


@dataclass(frozen=True)
class Speech:
    pass


@dataclass(frozen=True)
class Capture:
    """A digit from a capture of our own (``press_capture``), played like ``Digit``."""

    path: Path


Step = Pause | Digit | Speech | Capture

# G.711 (A-law for the caller, μ-law for the answerer) and RFC 2833 telephone events.
_SDP = """Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {codec} 101
a=rtpmap:{codec} {name}/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
]]></send>"""

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
""" + _SDP.format(codec=8, name="PCMA") + """
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
"""

_BYE = """  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" crlf="true" next="end"/>
"""

# Asterisk hung up (the flow ended the call): answer its BYE.
_TAIL = """  <label id="bye"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
  <label id="end"/>
  <ResponseTimeRepartition value="100, 500, 1000"/>
</scenario>
"""


def _pause(ms: int, index: int) -> str:
    """A pause during which a BYE from Asterisk ends the script cleanly."""
    return (f'  <recv request="BYE" timeout="{ms}" ontimeout="p{index}" next="bye"/>\n'
            f'  <label id="p{index}"/>\n')


def _digit_file(key: str) -> Path:
    name = {"#": "pound", "*": "star"}.get(key, key)
    path = CAPTURES / f"dtmf_2833_{name}.pcap"
    if not path.exists():
        raise TelephonyError(f"SIPp capture {path} missing: apt-get install sip-tester")
    return path


# The called side: ring, answer, wait for the ACK.
_REPLY = """  <send{retrans}><![CDATA[
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
"""
_ANSWER = ("""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline answerer">
  <recv request="INVITE" crlf="true"/>
""" + _REPLY.format(retrans="", status="180 Ringing") + "Content-Length: 0\n]]></send>\n"
           + _REPLY.format(retrans=' retrans="500"', status="200 OK")
           + _SDP.format(codec=0, name="PCMU")
           + '\n  <recv request="ACK" rtd="true" crlf="true"/>\n')


def caller_scenario(steps: list[Step], *, hang_up: bool = True) -> str:
    """A UAC scenario: call, then the steps (pauses, digits, speech), then BYE.

    While the script runs, a BYE from Asterisk (the flow hung up) is answered and ends it.
    """
    body = [_HEAD, *_steps(steps)]
    body.append(_BYE if hang_up else '  <recv request="BYE" timeout="120000" next="bye"/>\n')
    body.append(_TAIL)
    return "".join(body)


def answerer_scenario(steps: list[Step], *, wait_ms: int = 120000) -> str:
    """A UAS scenario: answer an INVITE, run the steps, then wait up to ``wait_ms`` for the
    BYE from Asterisk (a BYE during the steps ends the script cleanly too)."""
    return "".join([_ANSWER, *_steps(steps),
                    f'  <recv request="BYE" timeout="{wait_ms}" next="bye"/>\n', _TAIL])


def press_capture(key: str, index: int, folder: Path) -> Path:
    """SIPp's capture of ``key`` moved ``index`` presses later (RTP sequence numbers and
    timestamp), written to ``folder``. Every replay of one capture carries the same RTP
    timestamp, and Asterisk takes an RFC 2833 event with the timestamp of the last one for
    its retransmission: a key pressed again must come from another capture."""
    data = bytearray(_digit_file(key).read_bytes())
    offset = 24  # the pcap file header; then per packet a 16-byte header and the frame
    while offset + 16 <= len(data):
        length = int.from_bytes(data[offset + 8:offset + 12], "little")
        frame = offset + 16
        rtp = _rtp_start(data, frame, length)
        if rtp is not None:
            seq = (int.from_bytes(data[rtp + 2:rtp + 4], "big") + 16 * index) % 2**16
            stamp = (int.from_bytes(data[rtp + 4:rtp + 8], "big") + 8000 * index) % 2**32
            data[rtp + 2:rtp + 4] = seq.to_bytes(2, "big")
            data[rtp + 4:rtp + 8] = stamp.to_bytes(4, "big")
            udp = rtp - 8
            data[udp + 6:udp + 8] = b"\0\0"  # no UDP checksum (SIPp rewrites the ports)
        offset = frame + length
    path = folder / f"dtmf_{key}_{index}.pcap"
    path.write_bytes(bytes(data))
    return path


def _rtp_start(data: bytearray, frame: int, length: int) -> int | None:
    """Where the RTP header of an Ethernet (or Linux cooked) IPv4/UDP frame starts."""
    for link in (14, 16):
        ip = frame + link
        if ip + 20 <= frame + length and data[ip] >> 4 == 4 and data[ip + 9] == 17:
            rtp = ip + (data[ip] & 0x0F) * 4 + 8
            if rtp + 12 <= frame + length and data[rtp] >> 6 == 2:
                return rtp
    return None


def _steps(steps: list[Step]) -> list[str]:
    body: list[str] = []
    for index, step in enumerate(steps):
        if isinstance(step, Pause):
            body.append(_pause(step.ms, index))
        elif isinstance(step, Digit | Capture):
            path = _digit_file(step.key) if isinstance(step, Digit) else step.path
            body.append(f'  <nop><action><exec play_pcap_audio="{path}"/>'
                        "</action></nop>\n" + _pause(300, index))
        else:
            body.append(f'  <nop><action><exec play_pcap_audio="{SPEECH_PCAP}"/></action></nop>\n'
                        + _pause(int(SPEECH_SECONDS * 1000) + 200, index))
    return body


@dataclass(frozen=True)
class SippResult:
    returncode: int
    successful: int
    failed: int
    stdout: str
    stats: dict[str, str]


def run_sipp(scenario: str, *, calls: int, concurrent: int, port: int, number: str,
             server: str = "127.0.0.1:5060", rate: float = 10.0, timeout: float = 300,
             rtp_port: int | None = None) -> SippResult:
    """Run SIPp in the foreground until ``calls`` calls are done (or ``timeout`` seconds)."""
    if shutil.which("sipp") is None:
        raise TelephonyError("sipp is not installed: apt-get install sip-tester")
    with tempfile.TemporaryDirectory(prefix="hotline-sipp-") as tmp:
        xml = Path(tmp) / "caller.xml"
        xml.write_text(scenario)
        cmd = ["sipp", server, "-sf", str(xml), "-s", number, "-m", str(calls),
               "-l", str(concurrent), "-r", str(rate), "-p", str(port), "-i", "127.0.0.1",
               "-mi", "127.0.0.1", "-mp", str(rtp_port or port + 1000),
               "-nostdin", "-trace_stat", "-stf", str(Path(tmp) / "stat.csv"),
               "-trace_err", "-error_file", str(Path(tmp) / "errors.log"),
               "-timeout", f"{int(timeout)}s", "-timeout_error", "-recv_timeout", "130000"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30,
                                  cwd=tmp, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TelephonyError(f"sipp did not finish in {timeout + 30:.0f} s") from exc
        stats = last_stats(Path(tmp) / "stat.csv")
        errors = Path(tmp) / "errors.log"
        error_text = errors.read_text(errors="replace")[-20000:] if errors.exists() else ""
    out = proc.stdout + proc.stderr + "\n--- SIPp errors ---\n" + error_text
    successful = int(stats.get("SuccessfulCall(C)", _grab(out, "Successful call")) or 0)
    failed = int(stats.get("FailedCall(C)", _grab(out, "Failed call")) or 0)
    return SippResult(proc.returncode, successful, failed, out, stats)


def last_stats(path: Path) -> dict[str, str]:
    """The last row of SIPp's ``-trace_stat`` file by column ({} when there is none)."""
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text().splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def _grab(text: str, label: str) -> str:
    match = re.search(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", text)
    return match.group(1) if match else "0"

"""A SIP soft phone for tests and the demo caller, built on pyVoIP 1.6.8.

Example::

    settings = load_settings()
    seat = SoftPhone(user="seat1", password=phone_password(settings, "seat1"), auto_answer=True)
    with seat, SoftPhone(user="demo", password=None) as caller:
        call = caller.call("12345", timeout=10)     # returns once answered
        answered = seat.wait_for_incoming(timeout=20)
        call.send_dtmf("1#")                        # RFC 4733 events
        call.play(sine_tone(440, seconds=1.0))      # 8 kHz, 8-bit unsigned mono
        call.hangup()
        assert answered.wait_until_ended(timeout=5) == "remote"

A phone with ``password=None`` does not register: Asterisk matches it by its From user (``demo``,
``sipp``). Every failure (registration refused, call rejected, timeout) raises ``PhoneError``.

What we change in pyVoIP, all by subclassing in this module (``_SipClient``, ``_Phone``,
``_Call``, ``_RtpClient``), never by editing site-packages or monkeypatching globally:

* ``_SipClient.gen_ack``: the ACK to a 2xx carries the To-tag of that 2xx (pyVoIP puts a random
  one: Asterisk never sees the dialog confirmed, keeps resending 200 OK and cannot send BYE),
  the 2xx's Contact as Request-URI and a new branch. ACKs to errors reuse the INVITE branch.
* ``_SipClient.gen_call_id``: random (uuid4) Call-IDs. pyVoIP hashes a per-process counter, so
  every process sends the same Call-IDs and INVITE branches, and Asterisk answers a second run
  with ``400 Retransmission with different CSeq``.
* ``_SipClient.gen_bye`` / ``gen_ok``: our own Via with a new branch on BYE (pyVoIP copies the
  INVITE's Via, even Asterisk's own), and responses keep the dialog's To-tag.
* ``_SipClient.start``/``stop``/``recv_loop`` and ``_register``: receive at once (pyVoIP waits
  1 s), bounded registration (one attempt, ``PhoneError`` on refusal), no REGISTER at all for
  unauthenticated callers, clean thread shutdown before sockets close.
* ``_Phone.place_call`` and ``on_invite_response``: our INVITE flow. pyVoIP blocks on a socket
  read without timeout, leaves a rejected call in DIALING forever and reuses the branch for the
  authenticated INVITE. Here every final response is ACKed and ends the call with its status,
  401 is answered once with credentials, and a call not answered in time is CANCELled.
* ``_Phone._callback_MSG_Invite`` / ``callback``: incoming calls are reported at once (pyVoIP
  delays them 1 s), re-INVITEs are answered with the current SDP, CANCEL ends a ringing call.
* ``_RtpClient``: RFC 4733 DTMF on the call's RTP stream (same SSRC, continuous sequence
  numbers), audio queued and paced at 20 ms, received audio kept per packet (no gap filling).
"""

from __future__ import annotations

import logging
import math
import re
import select
import shutil
import socket
import subprocess
import threading
import time
import uuid
import warnings
import wave
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pyVoIP.VoIP  # noqa: F401  (must come first: pyVoIP.SIP imports pyVoIP.VoIP circularly)

# isort: split
from pyVoIP import RTP, SIP
from pyVoIP.VoIP import CallState as _State
from pyVoIP.VoIP import VoIPCall, VoIPPhone
from pyVoIP.VoIP.status import PhoneStatus

from hotline.errors import PhoneError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

log = logging.getLogger(__name__)

RATE = 8000
FRAME = 160  # samples (bytes) per 20 ms RTP packet
EVENT_CODES = "0123456789*#ABCD"
EndedBy = Literal["local", "remote"]


class CallState(StrEnum):
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


def sine_tone(frequency: float = 440.0, *, seconds: float = 1.0, amplitude: float = 0.5) -> bytes:
    """A sine tone as 8 kHz, 8-bit unsigned mono (the format ``PhoneCall.play`` takes)."""
    n = int(seconds * RATE)
    step = 2 * math.pi * frequency / RATE
    return bytes(128 + round(127 * amplitude * math.sin(step * i)) for i in range(n))


def rms(audio_8bit_unsigned: bytes) -> int:
    """Loudness of 8-bit unsigned audio around its centre 128 (silence = 0, full scale = 128)."""
    if not audio_8bit_unsigned:
        return 0
    return audioop.rms(audioop.bias(audio_8bit_unsigned, 1, -128), 1)


def wav_to_phone_audio(path: Path) -> bytes:
    """Any WAV file as 8 kHz, 8-bit unsigned mono. PCM via the stdlib, anything else via sox."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        return _sox_to_phone_audio(path, exc)
    except OSError as exc:
        raise PhoneError(f"{path}: cannot read WAV file: {exc}") from exc
    if channels > 2:
        return _sox_to_phone_audio(path, None)
    if width == 1:
        frames = audioop.bias(frames, 1, -128)  # WAV stores 8-bit samples unsigned
    if channels == 2:
        frames = audioop.tomono(frames, width, 0.5, 0.5)
    if rate != RATE:
        frames, _ = audioop.ratecv(frames, width, 1, rate, RATE, None)
    return audioop.bias(audioop.lin2lin(frames, width, 1), 1, 128)


def _sox_to_phone_audio(path: Path, cause: Exception | None) -> bytes:
    sox = shutil.which("sox")
    if sox is None:
        raise PhoneError(f"{path}: not a PCM WAV file and sox is not installed ({cause})")
    args = [sox, str(path), *f"-t raw -r {RATE} -c 1 -e unsigned -b 8 -".split()]
    done = subprocess.run(args, capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise PhoneError(f"{path}: sox cannot convert it: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _free_port(low: int, high: int, host: str) -> int:
    """A UDP port in [low, high] that is free right now (other phones share the range)."""
    import random

    for port in random.sample(range(low, high + 1), min(200, high - low + 1)):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise PhoneError(f"no free RTP port in {low}-{high}")


class _RtpClient(RTP.RTPClient):
    """pyVoIP's RTP client with a paced send queue, RFC 4733 DTMF and a log of received audio."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue = bytearray()
        self._queue_lock = threading.Lock()
        self._send_lock = threading.Lock()  # one packet at a time; DTMF holds it for a digit
        self._threads: list[threading.Thread] = []
        self.received: list[tuple[float, bytes]] = []  # (arrival, 8-bit unsigned) per packet

    def start(self) -> None:
        self.sin = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sout = self.sin
        self.sin.bind((self.inIP, self.inPort))
        self.sin.settimeout(0.05)
        for target, name in ((self._receive, "RTP receive"), (self._transmit, "RTP send")):
            thread = threading.Thread(target=target, name=f"{name} :{self.inPort}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        if not self.NSD:
            return
        self.NSD = False
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=1)
        if hasattr(self, "sin"):
            self.sin.close()

    def write(self, data: bytes) -> None:
        with self._queue_lock:
            self._queue += data

    def pending(self) -> int:
        with self._queue_lock:
            return len(self._queue)

    def _receive(self) -> None:
        while self.NSD:
            try:
                packet = self.sin.recv(8192)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self.parse_packet(packet)
            except (RTP.RTPParseError, IndexError, ValueError) as exc:
                log.debug("RTP packet ignored: %s", exc)

    def parse_pcmu(self, packet: RTP.RTPMessage) -> None:
        data = audioop.bias(audioop.ulaw2lin(packet.payload, 1), 1, 128)
        self.received.append((time.monotonic(), data))

    def parse_pcma(self, packet: RTP.RTPMessage) -> None:
        data = audioop.bias(audioop.alaw2lin(packet.payload, 1), 1, 128)
        self.received.append((time.monotonic(), data))

    def _transmit(self) -> None:
        due = time.monotonic()
        while self.NSD:
            with self._queue_lock:
                chunk = bytes(self._queue[:FRAME])
                del self._queue[:FRAME]
            chunk += b"\x80" * (FRAME - len(chunk))
            with self._send_lock:
                self._send(int(self.preference), self.encode_packet(chunk), marker=False)
                self.outTimestamp = (self.outTimestamp + FRAME) & 0xFFFFFFFF
            due += FRAME / RATE
            now = time.monotonic()
            if now - due > 0.06:  # paused by a DTMF digit or a slow machine: do not burst
                due = now
            time.sleep(max(0.0, due - now))

    def _send(self, payload_type: int, payload: bytes, *, marker: bool) -> None:
        header = bytes([0x80, (0x80 if marker else 0) | payload_type])
        header += self.outSequence.to_bytes(2, "big") + self.outTimestamp.to_bytes(4, "big")
        header += self.outSSRC.to_bytes(4, "big")
        try:
            self.sout.sendto(header + payload, (self.outIP, self.outPort))
        except OSError as exc:
            if self.NSD:
                log.warning("RTP send to %s:%s failed: %s", self.outIP, self.outPort, exc)
        self.outSequence = (self.outSequence + 1) & 0xFFFF

    def event_payload_type(self) -> int | None:
        for number, kind in self.assoc.items():
            if kind is RTP.PayloadType.EVENT:
                return number
        return None

    def send_event(self, digit: str, *, seconds: float) -> None:
        """One RFC 4733 event: updates every 20 ms (marker on the first), then 3 end packets."""
        payload_type = self.event_payload_type()
        if payload_type is None:
            raise PhoneError("the remote side did not accept telephone-event: cannot send DTMF")
        code = EVENT_CODES.index(digit)
        updates = max(1, round(seconds * RATE / FRAME))
        with self._send_lock:
            started = self.outTimestamp
            begin = time.monotonic()
            for i in range(updates + 3):
                end = i >= updates
                duration = min(i + 1, updates) * FRAME
                flags = 0x80 if end else 0  # E bit; R = 0; volume 10 (-10 dBm0)
                payload = bytes([code, flags | 10]) + duration.to_bytes(2, "big")
                self._send(payload_type, payload, marker=i == 0)
                time.sleep(max(0.0, begin + (i + 1) * FRAME / RATE - time.monotonic()))
            self.outTimestamp = (started + (updates + 3) * FRAME) & 0xFFFFFFFF


class _Call(VoIPCall):
    """pyVoIP's call with timestamps, who ended it, rejection status and CANCEL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.ended_by: EndedBy | None = None
        self.rejection: tuple[int, str] | None = None
        self.request_uri = ""
        self.auth_sent = False
        self.cancelled = False
        self._end_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def create_rtp_clients(
        self,
        codecs: dict[int, RTP.PayloadType],
        ip: str,
        port: int,
        request: SIP.SIPMessage,
        baseport: int,
    ) -> None:
        for i, connection in enumerate(request.body["c"]):
            self.RTPClients.append(
                _RtpClient(
                    codecs,
                    ip,
                    port,
                    connection["address"],
                    baseport + i,
                    self.sendmode,
                    dtmf=self.dtmf_callback,
                )
            )

    def answered(self, request: SIP.SIPMessage) -> None:
        if self.state is _State.DIALING:
            super().answered(request)
            self.answered_at = time.monotonic()

    def answer(self) -> None:
        super().answer()
        self.answered_at = time.monotonic()

    def finish(self, by: EndedBy, rejection: tuple[int, str] | None = None) -> None:
        with self._end_lock:
            if self.state is _State.ENDED:
                return
            for client in self.RTPClients:
                client.stop()
            self.rejection = rejection
            self.state = _State.ENDED
            self.ended_at = time.monotonic()
            self.ended_by = by
        self.phone.calls.pop(self.call_id, None)

    def bye(self) -> None:  # the remote side sent BYE
        self.finish("remote")

    def hangup(self) -> None:
        if self.state is _State.ANSWERED:
            self.sip.bye(self.request)
            self.finish("local")
        elif self.state is _State.RINGING:
            self.sip.out.sendto(self.sip.gen_busy(self.request).encode(), self._server)
            self.finish("local")
        elif self.state is _State.DIALING and not self.cancelled:
            self.cancelled = True  # ends on the 487 (or the 200 that crossed our CANCEL)
            self.sip.out.sendto(self._gen_cancel().encode(), self._server)

    @property
    def _server(self) -> tuple[str, int]:
        return (self.phone.server, self.phone.port)

    def _gen_cancel(self) -> str:
        headers = self.request.headers
        via = headers["Via"][0]
        return (
            f"CANCEL {self.request_uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {via['address'][0]}:{via['address'][1]};branch={via['branch']}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: {headers['From']['raw']};tag={headers['From']['tag']}\r\n"
            f"To: {headers['To']['raw']}\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {headers['CSeq']['check']} CANCEL\r\n"
            "Content-Length: 0\r\n\r\n"
        )


class _SipClient(SIP.SIPClient):
    """pyVoIP's SIP client with the fixes listed in the module docstring."""

    def __init__(self, *, owner: _Phone, registers: bool, **kwargs: Any) -> None:
        super().__init__(phone=owner, **kwargs)
        self.owner = owner
        self.registers = registers
        self.register_timeout = 5
        self._recv_thread: threading.Thread | None = None
        self._refresh: threading.Timer | None = None

    def gen_call_id(self) -> str:
        return f"{uuid.uuid4().hex}@{self.myIP}:{self.myPort}"

    def gen_ack(self, request: SIP.SIPMessage) -> str:
        call_id = request.headers["Call-ID"]
        from_tag = self.tagLibrary.get(call_id, "")
        to_tag = request.headers["To"]["tag"]
        to = request.headers["To"]["raw"] + (f";tag={to_tag}" if to_tag else "")
        call = self.owner.calls.get(call_id)
        if 200 <= int(request.status) < 300:
            uri = _uri_of(request.headers.get("Contact", "")) or _uri_of(to)
            branch = self.gen_branch()
        else:  # the ACK of an error response belongs to the INVITE transaction
            uri = call.request_uri if isinstance(call, _Call) else _uri_of(to)
            branch = request.headers["Via"][0]["branch"]
        return (
            f"ACK {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {self.myIP}:{self.myPort};branch={branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"To: {to}\r\n"
            f"From: {request.headers['From']['raw']};tag={from_tag}\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {request.headers['CSeq']['check']} ACK\r\n"
            f"User-Agent: pyVoIP {pyVoIP.__version__}\r\n"
            "Content-Length: 0\r\n\r\n"
        )

    def gen_bye(self, request: SIP.SIPMessage) -> str:
        bye = super().gen_bye(request)
        via = f"Via: SIP/2.0/UDP {self.myIP}:{self.myPort};branch={self.gen_branch()};rport\r\n"
        lines = [line for line in bye.split("\r\n") if not line.startswith("Via:")]
        return lines[0] + "\r\n" + via + "\r\n".join(lines[1:])

    def gen_ok(self, request: SIP.SIPMessage) -> str:
        ok = super().gen_ok(request)
        tag = request.headers["To"]["tag"] or self.tagLibrary.get(request.headers["Call-ID"])
        if not tag:
            return ok
        return re.sub(r"(?m)^(To: .*);tag=[^\r\n]*", lambda m: f"{m.group(1)};tag={tag}", ok)

    def start(self) -> None:
        if self.NSD:
            raise RuntimeError("SIP client already started")
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.s.bind((self.myIP, self.myPort))
        except OSError as exc:
            self.s.close()
            raise PhoneError(f"cannot bind SIP port {self.myIP}:{self.myPort}: {exc}") from exc
        self.myPort = self.s.getsockname()[1]
        self.out = self.s
        self.NSD = True
        if self.registers:
            try:
                self._register(expires=self.default_expires)
            except BaseException:
                self.NSD = False
                self.s.close()
                raise
            self.owner._status = PhoneStatus.REGISTERED
            self._schedule_refresh()
        self._recv_thread = threading.Thread(
            target=self.recv_loop, name=f"SIP {self.username} receive", daemon=True
        )
        self._recv_thread.start()

    def stop(self) -> None:
        if not self.NSD:
            return
        if self._refresh is not None:
            self._refresh.cancel()
        if self.registers:
            try:
                self._register(expires=0)
            except PhoneError as exc:
                log.warning("%s: de-registration failed: %s", self.username, exc)
        self.NSD = False
        if self._recv_thread is not None and self._recv_thread is not threading.current_thread():
            self._recv_thread.join(timeout=1)
        self.s.close()

    def _schedule_refresh(self) -> None:
        self._refresh = threading.Timer(self.default_expires - 10, self._refresh_registration)
        self._refresh.daemon = True
        self._refresh.start()

    def _refresh_registration(self) -> None:
        try:
            self._register(expires=self.default_expires)
        except PhoneError as exc:
            log.error("%s: registration refresh failed: %s", self.username, exc)
        if self.NSD:
            self._schedule_refresh()

    def _register(self, *, expires: int) -> None:
        """REGISTER (expires=0: remove), answering one digest challenge. Bounded in time."""
        deregister = expires == 0
        with self.recvLock:
            self.out.sendto(self.gen_first_response(deregister).encode(), (self.server, self.port))
            response = self._await_response("REGISTER")
            if int(response.status) == 401:
                request = self.gen_register(response, deregister)
                self.out.sendto(request.encode(), (self.server, self.port))
                response = self._await_response("REGISTER")
        if int(response.status) != 200:
            what = "de-registration" if deregister else "registration"
            raise PhoneError(
                f"{what} of {self.username} at {self.server}:{self.port} refused: "
                f"{int(response.status)} {response.status.phrase}",
                status=int(response.status),
            )

    def _await_response(self, method: str) -> SIP.SIPMessage:
        deadline = time.monotonic() + self.register_timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.s], [], [], left)[0]:
                break
            message = self._parse(self.s.recv(65535))
            if message is None:
                continue
            is_response = message.type is SIP.SIPMessageType.RESPONSE
            if is_response and message.headers["CSeq"]["method"] == method:
                if int(message.status) >= 200:
                    return message
                continue
            self._dispatch(message)
        raise PhoneError(
            f"{method} of {self.username}: no answer from {self.server}:{self.port} "
            f"within {self.register_timeout} s"
        )

    def recv_loop(self) -> None:
        while self.NSD:
            try:
                if not select.select([self.s], [], [], 0.05)[0]:
                    continue
                with self.recvLock:
                    raw = self.s.recv(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue  # a registration took the datagram
            except (OSError, ValueError):
                return
            message = self._parse(raw)
            if message is not None:
                self._dispatch(message)

    def _parse(self, raw: bytes) -> SIP.SIPMessage | None:
        if not raw.strip(b"\r\n\x00"):
            return None  # keep-alive
        try:
            return SIP.SIPMessage(raw)
        except Exception as exc:  # pyVoIP raises bare errors on anything it cannot parse
            log.debug("unparsable SIP message ignored (%s): %r", exc, raw[:200])
            return None

    def _dispatch(self, message: SIP.SIPMessage) -> None:
        try:
            self.parse_message(message)
        except Exception:
            log.exception("%s: error handling SIP message:\n%s", self.username, message.raw)

    def parse_message(self, message: SIP.SIPMessage) -> None:
        if message.type is SIP.SIPMessageType.RESPONSE:
            if message.headers.get("CSeq", {}).get("method") == "INVITE":
                self.owner.on_invite_response(message)
            return  # responses to REGISTER, BYE, CANCEL need nothing more
        super().parse_message(message)


def _uri_of(header: str) -> str:
    match = re.search(r"<([^>]*)>", header)
    return match.group(1) if match else header.split(";")[0].strip()


class _Phone(VoIPPhone):
    """pyVoIP's phone with our INVITE flow and immediate incoming-call reports."""

    def __init__(
        self,
        *,
        server: str,
        server_port: int,
        user: str,
        password: str | None,
        local_ip: str,
        sip_port: int,
        rtp_range: tuple[int, int],
        on_ringing: Callable[[_Call], None],
        on_incoming: Callable[[_Call], None],
    ) -> None:
        super().__init__(
            server,
            server_port,
            user,
            password or "",
            myIP=local_ip,
            callCallback=on_incoming,  # type: ignore[arg-type]
            sipPort=sip_port,
            rtpPortLow=rtp_range[0],
            rtpPortHigh=rtp_range[1],
        )
        self.on_ringing = on_ringing
        self.on_incoming = on_incoming
        self.sip = _SipClient(
            owner=self,
            registers=password is not None,
            server=server,
            port=server_port,
            username=user,
            password=password or "",
            myIP=local_ip,
            myPort=sip_port,
            callCallback=self.callback,
            fatalCallback=self.fatal,
        )

    def request_port(self, blocking: bool = True) -> int:
        with self.portsLock:
            port = _free_port(self.rtpPortLow, self.rtpPortHigh, self.myIP)
            self.assignedPorts.append(port)
            return port

    def place_call(self, number: str) -> _Call:
        port = self.request_port()
        medias = {port: {0: RTP.PayloadType.PCMU, 101: RTP.PayloadType.EVENT}}
        call_id = self.sip.gen_call_id()
        session = self.sip.sessID.next()
        invite = self.sip.gen_invite(
            number,
            str(session),
            medias,  # type: ignore[arg-type]  # pyVoIP's own annotation is wrong
            RTP.TransmitType.SENDRECV,
            self.sip.gen_branch(),
            call_id,
        )
        call = _Call(
            self,
            _State.DIALING,
            SIP.SIPMessage(invite.encode()),
            session,
            self.myIP,
            ms=medias,
            sendmode=self.sendmode,
        )
        call.request_uri = f"sip:{number}@{self.server}"
        self.calls[call_id] = call
        self.sip.out.sendto(invite.encode(), (self.server, self.port))
        return call

    def on_invite_response(self, response: SIP.SIPMessage) -> None:
        status = int(response.status)
        if status < 200:
            return
        call = self.calls.get(response.headers["Call-ID"])
        ack = self.sip.gen_ack(response).encode()
        if not isinstance(call, _Call):  # a retransmission for a call already over
            self.sip.out.sendto(ack, (self.server, self.port))
            return
        if status < 300:
            call.answered(response)
            self.sip.out.sendto(ack, (self.server, self.port))
            if call.cancelled:  # our CANCEL crossed the 200 OK
                call.hangup()
            return
        self.sip.out.sendto(ack, (self.server, self.port))
        if status == 401 and not call.auth_sent and self.password and call.state is _State.DIALING:
            self._invite_with_credentials(call, response)
            return
        call.finish("local" if call.cancelled else "remote", (status, response.status.phrase))

    def _invite_with_credentials(self, call: _Call, challenge: SIP.SIPMessage) -> None:
        call.auth_sent = True
        number = call.request.headers["To"]["number"]
        from_tag = call.request.headers["From"]["tag"]
        digest = self.sip.gen_authorization(challenge).decode()
        auth = (
            f'Authorization: Digest username="{self.username}",'
            f'realm="{challenge.authentication["realm"]}",'
            f'nonce="{challenge.authentication["nonce"]}",'
            f'uri="sip:{self.server};transport=UDP",response="{digest}",algorithm=MD5\r\n'
        )
        invite = self.sip.gen_invite(
            number, call.session_id, call.ms, RTP.TransmitType.SENDRECV,  # type: ignore[arg-type]
            self.sip.gen_branch(), call.call_id,
        )  # fmt: skip
        new_tag = self.sip.tagLibrary[call.call_id]
        self.sip.tagLibrary[call.call_id] = from_tag  # same dialog: keep the From-tag
        invite = invite.replace(f";tag={new_tag}\r\n", f";tag={from_tag}\r\n", 1)
        invite = invite.replace("\r\nContent-Length", f"\r\n{auth}Content-Length", 1)
        call.request = SIP.SIPMessage(invite.encode())
        self.sip.out.sendto(invite.encode(), (self.server, self.port))

    def callback(self, request: SIP.SIPMessage) -> None:
        if request.type is SIP.SIPMessageType.MESSAGE and request.method == "CANCEL":
            call = self.calls.get(request.headers["Call-ID"])
            if isinstance(call, _Call) and call.state is _State.RINGING:
                terminated = self.sip.gen_busy(call.request).replace(
                    "486 Busy Here", "487 Request Terminated", 1
                )
                terminated = re.sub(
                    r"(?m)^(To: .*);tag=[^\r\n]*",
                    lambda m: f"{m.group(1)};tag={self.sip.tagLibrary.get(call.call_id, '')}",
                    terminated,
                )
                self.sip.out.sendto(terminated.encode(), (self.server, self.port))
                call.finish("remote")
            return
        super().callback(request)

    def _callback_MSG_Invite(self, request: SIP.SIPMessage) -> None:
        call_id = request.headers["Call-ID"]
        existing = self.calls.get(call_id)
        if existing is not None:
            if existing.state is _State.ANSWERED:  # re-INVITE: answer with the same media
                medias = {client.inPort: client.assoc for client in existing.RTPClients}
                answer = self.sip.gen_answer(
                    request,
                    existing.session_id,
                    medias,
                    existing.sendmode,
                )
                self.sip.out.sendto(answer.encode(), (self.server, self.port))
            return  # otherwise a retransmission of an INVITE we are ringing for
        ringing = self.sip.gen_ringing(request)
        self.sip.out.sendto(ringing.encode(), (self.server, self.port))
        session = int(uuid.uuid4().int % 100000) + 1
        call = _Call(self, _State.RINGING, request, session, self.myIP, sendmode=self.recvmode)
        self.calls[call_id] = call
        self.on_ringing(call)
        # pyVoIP's way: the callback thread lives as long as the call (see _cleanup_dead_calls).
        thread = threading.Timer(0, self.on_incoming, [call])
        thread.name = f"incoming call {call_id}"
        thread.daemon = True
        thread.start()
        self.threads.append(thread)
        self.threadLookup[thread] = call_id


class PhoneCall:
    """One call of a ``SoftPhone``. Times are ``time.monotonic()`` values."""

    def __init__(self, call: _Call, *, direction: Literal["incoming", "outgoing"]) -> None:
        self._call = call
        self.direction = direction
        self.created_at = time.monotonic()

    def __repr__(self) -> str:
        return f"<PhoneCall {self.direction} {self.state} {self.call_id}>"

    @property
    def call_id(self) -> str:
        return str(self._call.call_id)

    @property
    def state(self) -> CallState:
        return CallState(self._call.state.value.lower())

    @property
    def answered_at(self) -> float | None:
        return self._call.answered_at

    @property
    def ended_at(self) -> float | None:
        return self._call.ended_at

    @property
    def ended_by(self) -> EndedBy | None:
        return self._call.ended_by

    @property
    def rejection(self) -> tuple[int, str] | None:
        """(status, reason) when the far end refused the call."""
        return self._call.rejection

    def answer(self) -> None:
        if self.state is not CallState.RINGING:
            raise PhoneError(f"cannot answer call {self.call_id}: it is {self.state}")
        self._call.answer()

    def hangup(self) -> None:
        """Hang up (BYE), refuse (486) or cancel (CANCEL). Does nothing once ended."""
        self._call.hangup()

    def wait_until_answered(self, timeout: float) -> None:
        """Returns once answered (even if it has ended since); raises if it ended unanswered."""
        self._wait(lambda: self.answered_at or self.state is CallState.ENDED, timeout, "answered")
        if self.answered_at is None:
            raise PhoneError(f"call {self.call_id} ended before it was answered")

    def wait_until_ended(self, timeout: float) -> EndedBy:
        """Who hung up: ``"remote"`` or ``"local"``."""
        self._wait(lambda: self.state is CallState.ENDED, timeout, "ended")
        assert self._call.ended_by is not None
        return self._call.ended_by

    def send_dtmf(self, digits: str, *, seconds: float = 0.16, gap: float = 0.1) -> None:
        """Send digits as RFC 4733 telephone-events, ``seconds`` each, ``gap`` between them."""
        unknown = set(digits.upper()) - set(EVENT_CODES)
        if unknown:
            raise PhoneError(f"not DTMF digits: {''.join(sorted(unknown))!r}")
        for digit in digits.upper():
            self._rtp().send_event(digit, seconds=seconds)
            time.sleep(gap)

    def play(self, audio_8bit_unsigned: bytes) -> None:
        """Send 8 kHz, 8-bit unsigned mono audio; returns once it has been sent."""
        rtp = self._rtp()
        rtp.write(audio_8bit_unsigned)
        deadline = time.monotonic() + len(audio_8bit_unsigned) / RATE + 2.0
        while rtp.pending() and time.monotonic() < deadline:
            if self.state is CallState.ENDED:
                raise PhoneError(f"call {self.call_id} ended while playing audio")
            time.sleep(0.02)
        if rtp.pending():
            raise PhoneError(f"call {self.call_id}: audio not sent in time")

    def play_wav(self, path: Path) -> None:
        self.play(wav_to_phone_audio(path))

    def received_audio(self, *, since: float | None = None) -> bytes:
        """8-bit unsigned audio received so far (from ``since``), packets in arrival order.

        Gaps in the stream are left out, not filled, so they never count as sound.
        """
        frames = [rtp.received for rtp in self._call.RTPClients if isinstance(rtp, _RtpClient)]
        return b"".join(
            data for packets in frames for at, data in list(packets) if since is None or at >= since
        )

    def received_dtmf(self) -> str:
        """Digits received as RFC 4733 events so far, in order."""
        with self._call.dtmfLock:
            return self._call.dtmf.getvalue()

    def _rtp(self) -> _RtpClient:
        if self.state is not CallState.ANSWERED:
            raise PhoneError(f"call {self.call_id} is {self.state}, not answered")
        client = self._call.RTPClients[0]
        assert isinstance(client, _RtpClient)
        return client

    def _wait(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline:
                state = self.state
                raise PhoneError(f"call {self.call_id} not {what} within {timeout} s ({state})")
            time.sleep(0.02)


class SoftPhone:
    """A SIP phone: registers (with a password) or calls as an open caller (without).

    Use as a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        *,
        user: str,
        password: str | None,
        server: str = "127.0.0.1",
        server_port: int = 5060,
        sip_port: int | None = None,
        rtp_range: tuple[int, int] = (10000, 19999),
        auto_answer: bool = False,
        answer_audio: bytes | None = None,
        local_ip: str = "127.0.0.1",
    ) -> None:
        if sip_port == server_port:
            raise PhoneError(f"sip_port {sip_port} is the server's port")
        self.user = user
        self.auto_answer = auto_answer
        self.answer_audio = answer_audio
        self.incoming_calls: list[PhoneCall] = []
        self._handed_out = 0
        self._lock = threading.Lock()
        self._running = False
        self._phone = _Phone(
            server=server,
            server_port=server_port,
            user=user,
            password=password,
            local_ip=local_ip,
            sip_port=sip_port or 0,  # 0: a free port chosen by the system
            rtp_range=rtp_range,
            on_ringing=self._on_ringing,
            on_incoming=self._on_incoming,
        )
        self.calls: list[PhoneCall] = []

    @property
    def sip_port(self) -> int:
        return int(self._phone.sip.myPort)

    def __enter__(self) -> SoftPhone:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Open the SIP port and register (raises ``PhoneError`` when refused)."""
        self._phone.start()
        if self._phone.get_status() is PhoneStatus.FAILED:
            raise PhoneError(f"phone {self.user} could not start")
        self._running = True

    def stop(self) -> None:
        """Hang up every call, de-register and close the sockets."""
        if not self._running:
            return
        for call in [*self.calls, *self.incoming_calls]:
            if call.state is not CallState.ENDED:
                try:
                    call.hangup()
                except Exception as exc:  # best effort: the phone must close anyway
                    log.warning("%s: hangup of %s failed: %s", self.user, call.call_id, exc)
        for call in self.calls:
            if call.state is CallState.DIALING:  # give a CANCEL its 487
                try:
                    call.wait_until_ended(1)
                except PhoneError:
                    pass
        self._running = False
        self._phone.sip.stop()
        self._phone._status = PhoneStatus.INACTIVE

    def call(self, number: str, *, timeout: float = 10) -> PhoneCall:
        """Call ``number``; returns once answered. Cancels and raises on rejection or timeout."""
        if not self._running:
            raise PhoneError(f"phone {self.user} is not started")
        call = PhoneCall(self._phone.place_call(number), direction="outgoing")
        self.calls.append(call)
        try:
            call.wait_until_answered(timeout)
        except PhoneError as exc:
            if call.rejection is not None:
                status, reason = call.rejection
                raise PhoneError(
                    f"call from {self.user} to {number} rejected: {status} {reason}", status=status
                ) from exc
            call.hangup()
            raise PhoneError(
                f"call from {self.user} to {number} not answered within {timeout} s"
            ) from exc
        return call

    def wait_for_incoming(self, timeout: float) -> PhoneCall:
        """The next incoming call not yet returned; with ``auto_answer``, once answered."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._handed_out < len(self.incoming_calls):
                    call = self.incoming_calls[self._handed_out]
                    self._handed_out += 1
                    break
            if time.monotonic() >= deadline:
                raise PhoneError(f"phone {self.user}: no incoming call within {timeout} s")
            time.sleep(0.02)
        if self.auto_answer:
            call.wait_until_answered(max(0.5, deadline - time.monotonic()))
        return call

    def _on_ringing(self, call: _Call) -> None:
        with self._lock:
            self.incoming_calls.append(PhoneCall(call, direction="incoming"))

    def _on_incoming(self, call: _Call) -> None:
        """Runs in the call's own thread as long as the call (pyVoIP drops calls whose
        callback thread has ended)."""
        phone_call = next(c for c in self.incoming_calls if c._call is call)
        try:
            if self.auto_answer and call.state is _State.RINGING:
                call.answer()
                if self.answer_audio:
                    phone_call.play(self.answer_audio)
        except Exception as exc:
            log.warning("%s: auto-answer of %s failed: %s", self.user, call.call_id, exc)
        while call.state is not _State.ENDED and self._running:
            time.sleep(0.05)

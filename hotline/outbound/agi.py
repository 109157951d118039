"""The FastAGI route ``outbound``: an answered survey or reminder call runs its flow
(``ivr_flows/survey.yaml``, ``reminder.yaml``) like any call, recorded the same way, with the
call's values filled into its prompts (``{subject}``, ``{ticket}``, ``{deadline}``), and the
dialer learns the nodes the flow passed and the comment recorded (kept on the attempt, and a
recording of kind ``comment``, never a call's message: a message of a call nobody answered
becomes a ticket draft). Once the flow has ended the comment's file is closed: it is marked
complete before the dialer hears of it, so the report can queue its transcription
(``comments.py``).

The values are per call: a context variable set for the connection's task, read when a prompt
is rendered, so one handler serves every call at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import string
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline.calls.ivr_session import IvrCallHandler
from hotline.calls.store import utcnow
from hotline.ivr.ports import Prompt
from hotline.outbound.ami import AmiDialer, FlowEnd
from hotline.outbound.comments import COMMENT_KIND, mark_complete
from hotline.recording.files import inspect
from hotline.telephony.agi import AgiRequest

log = logging.getLogger(__name__)
COMMENT = "comment"  # the name of the survey's record node

_values: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("outbound_values")
_end: contextvars.ContextVar[FlowEnd] = contextvars.ContextVar("outbound_end")


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""  # a placeholder the call has no value for is left out, not spoken


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with ``{name}`` placeholders replaced (unknown ones left out)."""
    return string.Formatter().vformat(text, (), _Values(values))


class RecordingPath:
    """Runs the shared runner and keeps the path it took for the dialer."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    async def run(self, channel: Any, flow: str) -> Any:
        result = await self.runner.run(channel, flow)
        end = _end.get(None)
        if end is not None:
            end.path = list(result.path)
        return result


class OutboundFlowHandler(IvrCallHandler):
    def __init__(self, *, dialer: AmiDialer, **kwargs: Any) -> None:
        kwargs["runner"] = RecordingPath(kwargs["runner"])
        super().__init__(**kwargs)
        self.dialer = dialer

    async def handle(self, request: AgiRequest) -> None:
        uid = request.headers.get("agi_uniqueid", "")
        values = self.dialer.values_for(uid)
        if values is None:  # e.g. Asterisk's ``failed`` pseudo-call after an Originate failed
            log.warning("outbound flow on %s: no outbound call is waiting for it", uid)
            return
        end = FlowEnd()
        _values.set(values)
        _end.set(end)
        # The call's row is an outbound call to the number dialled (the channel's caller ID
        # is the hotline's own): found in recording search by the citizen's number.
        request.headers["agi_callerid"] = self.dialer.phone_for(uid) or ""
        await self.store.update_call(uid, started_at=utcnow(), direction="out")
        try:
            await super().handle(request)
        finally:
            if end.comment is not None:
                await self._comment_closed(end.comment)
            self.dialer.flow_ended(uid, end)

    async def _comment_closed(self, path: str) -> None:
        info = await asyncio.to_thread(inspect, self.settings.recordings_dir / path)
        try:
            await self.store._run(lambda session: mark_complete(session, path=path, info=info))
        except Exception:  # the rating must still reach the dialer
            log.exception("survey comment %s: not marked complete", path)

    async def _resolve_prompt(self, prompt: Prompt) -> str:
        values = _values.get({})
        if values and "{" in prompt.text:
            prompt = Prompt(text=fill(prompt.text, values), file=prompt.file)
        return await super()._resolve_prompt(prompt)

    async def _on_recording(self, uid: str, name: str, host_path: str, at: datetime) -> None:
        """The call's own recordings are linked as usual; the survey's comment is kept on the
        attempt and linked as kind ``comment``, so it is never taken for a message asking for
        a new ticket."""
        end = _end.get(None)
        if name != COMMENT or end is None:
            await super()._on_recording(uid, name, host_path, at)
            return
        try:
            end.comment = Path(host_path).relative_to(self.settings.recordings_dir).as_posix()
        except ValueError:
            end.comment = host_path
        await self.store.add_recording(uid, kind=COMMENT_KIND, name=COMMENT, path=end.comment,
                                       started_at=at)

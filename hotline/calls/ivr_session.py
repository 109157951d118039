"""The FastAGI route ``ivr``: one call, one flow run, every step in the call's record."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline.calls.store import CallStore, utcnow
from hotline.config import Settings
from hotline.errors import CallerHungUp, HotlineError
from hotline.ivr.ports import Prompt
from hotline.prompts.store import PromptStore
from hotline.recording.files import STANDARD_KINDS, day_folder, relative_path
from hotline.telephony.agi import AgiCallChannel, AgiRequest, MessageStreams

log = logging.getLogger(__name__)


class IvrCallHandler:
    def __init__(self, *, settings: Settings, store: CallStore, prompts: PromptStore,
                 runner: Any, streams: MessageStreams | None = None) -> None:
        self.settings = settings
        self.streams = streams  # messages transcribed live (hotline.stt.live)
        self.store = store
        self.prompts = prompts
        self.runner = runner
        self.active = 0

    async def handle(self, request: AgiRequest) -> None:
        headers = request.headers
        uid = headers.get("agi_uniqueid", "")
        flow = headers.get("agi_arg_1") or self.settings.ivr.default_flow
        caller = headers.get("agi_callerid", "")
        await self.store.update_call(
            uid, started_at=utcnow(), channel=headers.get("agi_channel", ""),
            caller_number="" if caller in ("unknown", "<unknown>") else caller,
            dialled=headers.get("agi_dnid") or headers.get("agi_extension", ""), flow=flow,
        )
        self.active += 1
        try:
            await self._run(request, uid=uid, flow=flow)
        finally:
            self.active -= 1

    async def _run(self, request: AgiRequest, *, uid: str, flow: str) -> None:
        try:
            rec_base = await request.get_variable("HOTLINE_REC")
        except CallerHungUp:
            await self.store.update_call(uid, end_reason="hangup_by_caller")
            return
        if rec_base:
            # The dialplan's MixMonitor files of this call (AMI does not follow variables).
            base = self.settings.host_path(rec_base)
            for kind in STANDARD_KINDS:
                await self._on_recording(uid, kind, str(base.with_name(f"{base.name}-{kind}.wav")),
                                         utcnow())
        channel = AgiCallChannel(
            request,
            resolve_prompt=self._resolve_prompt,
            recording_target=lambda call_id, name: self._recording_target(rec_base, call_id,
                                                                          name),
            on_recording=lambda name, host_path, at: self._on_recording(uid, name, host_path,
                                                                        at),
            answer_target=self._answer_target,
            streams=self.streams,
        )
        try:
            result = await self.runner.run(channel, flow)
        except CallerHungUp:
            await self.store.update_call(uid, end_reason="hangup_by_caller")
            return
        except HotlineError as exc:
            log.error("call %s: flow %s failed: %s", uid, flow, exc)
            await self.store.update_call(uid, end_reason="error")
            return
        await self.store.update_call(uid, end_reason=str(result.reason))

    async def _resolve_prompt(self, prompt: Prompt) -> str:
        await self.prompts.ensure_async(prompt)
        return self.prompts.asterisk_name(prompt)

    def _recording_target(self, rec_base: str, call_id: str, name: str) -> tuple[str, str]:
        if rec_base:
            asterisk = f"{rec_base}-{name}"
        else:
            rel = relative_path(uniqueid=call_id, when=datetime.now(UTC), kind=name)
            asterisk = f"{self.settings.asterisk_recordings_dir()}/{rel[:-4]}"
        host = self.settings.host_path(f"{asterisk}.wav")
        host.parent.mkdir(parents=True, exist_ok=True)
        return asterisk, str(host)

    def _answer_target(self, call_id: str, number: int) -> tuple[str, str]:
        """Spoken answers to speech menus: ``<day>/answers/<uniqueid>-<n>.wav``, out of the
        day folder itself, so they are never taken for the call's recordings or messages."""
        day = day_folder(datetime.now(UTC))
        asterisk = f"{self.settings.asterisk_recordings_dir()}/{day}/answers/{call_id}-{number}"
        host = self.settings.host_path(f"{asterisk}.wav")
        host.parent.mkdir(parents=True, exist_ok=True)
        return asterisk, str(host)

    async def _on_recording(self, uid: str, name: str, host_path: str, at: datetime) -> None:
        try:
            rel = Path(host_path).relative_to(self.settings.recordings_dir).as_posix()
        except ValueError:
            rel = host_path
        kind = name if name in STANDARD_KINDS else "message"
        await self.store.add_recording(uid, kind=kind, name="" if kind != "message" else name,
                                       path=rel, started_at=at)

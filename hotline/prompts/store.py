"""Prompt audio, cached by the hash of what makes it: text and voice, or a recorded file.

A recorded file given by the center always wins over text-to-speech. Text is rendered offline
by espeak-ng (Mandarin voice ``cmn-latn-pinyin``), then converted by sox to 8 kHz mono 16-bit
WAV, the format Asterisk plays without transcoding on telephone channels.

Example::

    store = PromptStore(folder=Path("var/prompts"), voice="cmn-latn-pinyin", speed=150,
                        asterisk_folder="/var/lib/hotline/prompts")
    store.ensure(Prompt(text="您好"))       # renders var/prompts/<hash>.wav if missing
    store.asterisk_name(Prompt(text="您好"))  # "/var/lib/hotline/prompts/<hash>" for STREAM FILE
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hotline.errors import PromptError
from hotline.ivr.ports import Prompt


class PromptStore:
    def __init__(self, *, folder: Path, voice: str, speed: int, asterisk_folder: str) -> None:
        self.folder = folder
        self.voice = voice
        self.speed = speed
        self.asterisk_folder = asterisk_folder.rstrip("/")

    def key(self, prompt: Prompt) -> str:
        digest = hashlib.sha256()
        if prompt.file:
            try:
                digest.update(b"file\0" + Path(prompt.file).read_bytes())
            except OSError as exc:
                raise PromptError(f"prompt file {prompt.file}: {exc.strerror}") from exc
        else:
            digest.update(f"tts\0{self.voice}\0{self.speed}\0{prompt.text}".encode())
        return digest.hexdigest()[:24]

    def host_path(self, prompt: Prompt) -> Path:
        return self.folder / f"{self.key(prompt)}.wav"

    def asterisk_name(self, prompt: Prompt) -> str:
        """The name for STREAM FILE / GET DATA: Asterisk's path without the extension."""
        return f"{self.asterisk_folder}/{self.key(prompt)}"

    def ensure(self, prompt: Prompt) -> Path:
        """Render the prompt if its audio is not cached yet; return the host path."""
        target = self.host_path(prompt)
        if target.exists():
            return target
        if not prompt.file and not prompt.text.strip():
            raise PromptError("a prompt has neither text nor a recorded file")
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            source = Path(prompt.file) if prompt.file else self._speak(prompt.text, Path(tmp))
            converted = Path(tmp) / "out.wav"
            _run(["sox", "-V1", str(source), "-r", "8000", "-c", "1", "-b", "16", "-e",
                  "signed-integer", str(converted), "gain", "-n", "-3"],
                 what=f"converting prompt audio {source}")
            os.replace(converted, target)
        return target

    async def ensure_async(self, prompt: Prompt) -> Path:
        path = self.host_path(prompt)
        if path.exists():
            return path
        return await asyncio.to_thread(self.ensure, prompt)

    def build(self, prompts: Iterable[Prompt]) -> tuple[int, int]:
        """Render every prompt not cached yet; returns (rendered, already cached)."""
        rendered = cached = 0
        for prompt in dict.fromkeys(prompts):
            if self.host_path(prompt).exists():
                cached += 1
            else:
                self.ensure(prompt)
                rendered += 1
        return rendered, cached

    def _speak(self, text: str, tmp: Path) -> Path:
        out = tmp / "tts.wav"
        _run(["espeak-ng", "-v", self.voice, "-s", str(self.speed), "-w", str(out), text],
             what=f"speaking {text[:30]!r} with espeak-ng voice {self.voice}")
        return out


def _run(cmd: list[str], *, what: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise PromptError(f"{what}: {cmd[0]} is not installed (apt-get install {cmd[0]})")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PromptError(f"{what}: {cmd[0]} failed: {result.stderr.strip()[:300]}")


def flow_prompts(flow: object) -> list[Prompt]:
    """Every Prompt a flow holds (its nodes' prompts, the apology ...), found by walking it."""
    found: list[Prompt] = []
    seen: set[int] = set()

    def walk(value: object) -> None:
        if isinstance(value, Prompt):
            found.append(value)
        elif id(value) in seen or isinstance(value, str | bytes | int | float | bool):
            return
        elif isinstance(value, dict):
            seen.add(id(value))
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            seen.add(id(value))
            for item in value:
                walk(item)
        elif hasattr(value, "__dataclass_fields__"):
            seen.add(id(value))
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))

    walk(flow)
    return found

"""Asterisk's own sounds in Mandarin, for the channel language ``zh``.

app_queue announces a waiting caller's position with fixed file names (``queue-thereare``,
digits said by ``ast_say_number``) and plays ``queue-periodic-announce``; the English
originals would be wrong on a Mandarin hotline. These are rendered like every other prompt and
written under ``<prompts>/sounds/zh``, which the sandbox mounts as Asterisk's ``sounds/zh``
(an installed Asterisk: copy or link that folder to ``/usr/share/asterisk/sounds/zh``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hotline.ivr.ports import Prompt
from hotline.prompts.store import PromptStore

DIGITS = "零一二三四五六七八九"

QUEUE_SOUNDS: dict[str, str] = {
    "queue-youarenext": "您是下一位，请稍候。",
    "queue-thereare": "您当前排在第",
    "queue-callswaiting": "位，请耐心等待。",
    "queue-thankyou": "感谢您的耐心等待。",
    "queue-holdtime": "预计等待时间约",
    "queue-minutes": "分钟",
    "queue-seconds": "秒",
    "queue-less-than": "少于",
}


def zh_sounds(hold_text: str) -> dict[str, str]:
    """File name (relative to sounds/zh, no extension) -> text."""
    sounds = dict(QUEUE_SOUNDS)
    sounds["queue-periodic-announce"] = hold_text
    for n, char in enumerate(DIGITS):
        sounds[f"digits/{n}"] = char
    sounds.update({"digits/10": "十", "digits/hundred": "百", "digits/thousand": "千",
                   "digits/10000": "万"})
    return sounds


def build_zh_sounds(store: PromptStore, target: Path, *, hold_text: str) -> int:
    """Render (through the prompt cache) and place the Mandarin sounds; returns files written."""
    manifest_path = target / "manifest.json"
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    written = 0
    for name, text in zh_sounds(hold_text).items():
        prompt = Prompt(text=text)
        key = store.key(prompt)
        out = target / f"{name}.wav"
        if manifest.get(name) == key and out.exists():
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store.ensure(prompt), out)
        manifest[name] = key
        written += 1
    target.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return written

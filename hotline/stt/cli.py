"""``hotline models``, ``hotline transcribe`` and ``hotline stt``: speech recognition.

    hotline models install PATH_OR_URL [--sha256 HEX] [--lang LANG] [--replace]
    hotline models list [--json]
    hotline transcribe FILE.wav [--lang LANG] [--choices 네,아니요]
    hotline stt jobs [--status STATUS] [--limit N] [--json]
    hotline stt enqueue FILE.wav [--lang LANG]
    hotline stt work            # the worker pool alone, until Ctrl-C or SIGTERM

Heavy modules (Vosk, the database) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hotline.config import Settings

STATUSES = ("queued", "running", "done", "failed", "waiting_model")


def add_stt_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``models``, ``transcribe`` and ``stt`` to the ``hotline`` command."""
    models = sub.add_parser("models", help="speech recognition models (Vosk)")
    actions = models.add_subparsers(dest="models_action", required=True)
    install = actions.add_parser("install", help="check and install a model")
    install.add_argument("source", help="a model folder, a .zip/.tar.gz archive, or a URL")
    install.add_argument("--sha256", help="the archive's expected SHA-256 (hex)")
    install.add_argument("--lang", help="install as this language's model (stt.models)")
    install.add_argument("--replace", action="store_true", help="replace an installed model")
    listing = actions.add_parser("list", help="the model of each language, and its state")
    listing.add_argument("--json", action="store_true")
    models.set_defaults(handler=models_command)

    transcribe = sub.add_parser("transcribe", help="transcribe a WAV file (prints JSON)")
    transcribe.add_argument("file", type=Path)
    transcribe.add_argument("--lang", help="language (default: stt.language)")
    transcribe.add_argument("--choices", help="comma-separated phrases: say which was said")
    transcribe.set_defaults(handler=transcribe_command)

    stt = sub.add_parser("stt", help="the transcription queue")
    stt_actions = stt.add_subparsers(dest="stt_action", required=True)
    jobs = stt_actions.add_parser("jobs", help="transcription jobs, newest first")
    jobs.add_argument("--status", choices=STATUSES)
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--json", action="store_true")
    enqueue = stt_actions.add_parser("enqueue", help="queue a WAV file for transcription")
    enqueue.add_argument("file", type=Path)
    enqueue.add_argument("--lang", help="language (default: stt.language)")
    stt_actions.add_parser("work", help="run the transcription workers until stopped")
    stt.set_defaults(handler=stt_command)


def models_command(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.stt.install import install_model
    from hotline.stt.models_dir import configured_path, models_dir

    if args.models_action == "list":
        return _list_models(args, settings)
    target = configured_path(settings, args.lang) if args.lang else None
    info = install_model(args.source, models_dir=models_dir(settings), target=target,
                         sha256=args.sha256, replace=args.replace)
    _say(f"installed {info.name} at {info.path} ({info.layout} layout, "
         f"{info.sample_rate} Hz, graph {info.graph})")
    serves = [lang for lang in settings.stt.models if configured_path(settings, lang) == info.path]
    if serves:
        _say(f"serves: {', '.join(serves)} (jobs waiting for it are taken up by the workers)")
    else:
        lang = args.lang or "LANG"
        _say(f"no language uses it yet: set stt.models.{lang}: {info.path.name} in the settings")
    return 0


def _list_models(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.stt.errors import ModelMissing
    from hotline.stt.models_dir import check_model, configured_path, find_model, models_dir

    rows: list[dict[str, Any]] = []
    for lang in sorted(settings.stt.models):
        try:
            info = find_model(settings, lang)
            rows.append({"language": lang, "path": str(info.path), "state": "ready",
                         "sample_rate": info.sample_rate, "graph": info.graph})
        except ModelMissing as exc:
            rows.append({"language": lang, "path": str(configured_path(settings, lang)),
                         "state": "missing", "reason": exc.reason})
    used = {row["path"] for row in rows}
    folder = models_dir(settings)
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_dir() and not path.name.startswith(".") and str(path) not in used:
            try:
                check_model(path)
                rows.append({"language": None, "path": str(path), "state": "unused"})
            except Exception as exc:  # noqa: BLE001 - listed with its problem
                rows.append({"language": None, "path": str(path), "state": "broken",
                             "reason": str(exc)})
    if args.json:
        _say(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        what = row.get("reason") or f"{row.get('sample_rate', '')} Hz".strip()
        _say(f"{row['language'] or '-':4} {row['state']:8} {row['path']}  {what}")
    return 0 if all(r["state"] == "ready" for r in rows if r["language"]) else 1


def transcribe_command(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from hotline.stt.models_dir import find_model
    from hotline.stt.recognizer import recognize_choice, transcribe_file

    language = args.lang or settings.stt.language
    model = find_model(settings, language)
    if args.choices:
        phrases = [p.strip() for p in args.choices.split(",") if p.strip()]
        out: dict[str, Any] = asdict(recognize_choice(args.file, phrases, model))
    else:
        out = transcribe_file(str(args.file), model)
    _say(json.dumps({"file": str(args.file), "language": language, **out},
                    ensure_ascii=False, indent=2))
    return 0


def stt_command(args: argparse.Namespace, settings: Settings, *,
                engine: Engine | None = None) -> int:
    """Run ``hotline stt ...``; ``engine`` is for tests (default: the settings' database)."""
    from hotline.db import make_engine, migrate

    own_engine = engine is None
    if engine is None:
        engine = make_engine(settings.db_url)
        migrate(engine)
    try:
        if args.stt_action == "work":
            return _work(settings, engine)
        if args.stt_action == "enqueue":
            return _enqueue(args, settings, engine)
        return _jobs(args, engine)
    finally:
        if own_engine:
            engine.dispose()


def _jobs(args: argparse.Namespace, engine: Engine) -> int:
    from sqlmodel import Session

    from hotline.stt import queue

    with Session(engine) as session:
        jobs = queue.list_jobs(session=session, status=args.status, limit=args.limit)
    if args.json:
        _say(json.dumps([j.model_dump(mode="json") for j in jobs], ensure_ascii=False,
                        indent=2))
        return 0
    for j in jobs:
        source = f"recording {j.recording_id}" if j.recording_id else j.audio_path
        error = f"  {j.last_error}" if j.last_error else ""
        _say(f"{j.id:>6}  {j.status:<13} {j.attempts} attempt(s)  {j.language}  {source}{error}")
    return 0


def _enqueue(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from hotline.db import session_scope
    from hotline.stt import queue

    with session_scope(engine) as session:
        job = queue.enqueue(session=session, audio_path=str(args.file.resolve()),
                            language=args.lang or settings.stt.language)
        _say(f"job {job.id} queued ({job.language}): {job.audio_path}")
    return 0


def _work(settings: Settings, engine: Engine) -> int:
    import asyncio
    import signal

    from hotline.stt.service import TranscriptionService

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        service = TranscriptionService(settings, engine, interactive=False)  # no callers here
        await service.start()
        status = service.status()
        _say(f"transcription: {status['workers']} worker(s), models {status['models']}, "
             f"missing {status['missing_models'] or 'none'}")
        await stop.wait()
        await service.stop()

    asyncio.run(run())
    return 0


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()

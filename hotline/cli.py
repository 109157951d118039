"""The `hotline` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hotline.config import Settings, load_settings
from hotline.errors import HotlineError
from hotline.intake.cli import add_intake_parsers
from hotline.retention.cli import add_retention_parser
from hotline.stt.cli import add_stt_parsers
from hotline.users.cli import add_users_parser

Handler = Callable[[argparse.Namespace, Settings], int]
GRACEFUL_SHUTDOWN = 3  # seconds: open event streams must not hold the console up at Ctrl-C


def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.telephony.sandbox import Sandbox

    sandbox = Sandbox(settings)
    action = args.sandbox_action
    if action == "build":
        sandbox.prepare()
        print(f"sandbox ready at {sandbox.root}")
    elif action == "up":
        print(f"Asterisk sandbox: {sandbox.up().describe()}")
    elif action == "down":
        sandbox.down()
        print("Asterisk sandbox stopped")
    elif action == "reload":
        sandbox.reload()
        print("configuration reloaded")
    else:
        status = sandbox.status()
        print(f"Asterisk sandbox: {status.describe()}")
        return 0 if status.running else 3
    return 0


def _config(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.telephony.asterisk_conf import render_config, write_config

    files = render_config(settings)
    target = Path(args.to) if args.to else settings.asterisk.config_dir
    write_config(files, target)
    print(f"wrote {', '.join(sorted(files))} to {target}")
    return 0


def _flows(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.db import make_engine
    from hotline.ivr.loader import check_flows, format_errors
    from hotline.knowledge.ivr import StoreKnowledgeArticles
    from hotline.stt.speech import ModelVocabulary

    # Knowledge articles named by play nodes must exist (no database yet: not checked)
    articles = StoreKnowledgeArticles(make_engine(settings.db_url))
    errors = check_flows(settings.flows_dir, vocabulary=ModelVocabulary(settings),
                         articles=articles)
    if errors:
        print(format_errors(errors), file=sys.stderr)
        return 1
    names = sorted(p.stem for p in settings.flows_dir.glob("*.yaml"))
    print(f"{len(names)} flows OK: {', '.join(names)}")
    return 0


def _prompts(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.app import build_prompt_store
    from hotline.ivr.loader import load_flows
    from hotline.prompts.sounds import build_zh_sounds
    from hotline.prompts.store import flow_prompts

    flows, errors = load_flows(settings.flows_dir)
    for error in errors:
        print(f"skipped: {error}", file=sys.stderr)
    store = build_prompt_store(settings)
    rendered, cached = store.build(p for flow in flows.values() for p in flow_prompts(flow))
    print(f"prompts: {rendered} rendered, {cached} already cached, in {store.folder}")
    written = build_zh_sounds(store, settings.zh_sounds_dir, hold_text=settings.queue.hold_text)
    print(f"Mandarin queue sounds and digits: {written} updated in {settings.zh_sounds_dir}")
    return 1 if errors else 0


def _calls(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.calls.store import CallStore, call_as_dict
    from hotline.db import make_engine, migrate

    engine = make_engine(settings.db_url)
    migrate(engine)
    views = CallStore(engine).recent(limit=args.limit)
    rows = [call_as_dict(v, recordings_root=str(settings.recordings_dir)) for v in views]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(f"{row['started_at']}  {row['uniqueid']}  from {row['caller'] or '-'} "
              f"to {row['dialled'] or '-'}  {row['end_reason'] or row['hangup_cause_text'] or ''}")
        print(f"    path: {' > '.join(row['path']) or '-'}  keys: {row['keys'] or '-'}")
        q = row["queue"]
        if q["outcome"]:
            print(f"    queue: {q['outcome']}, waited {q['wait_seconds']} s, "
                  f"by {q['answered_by'] or '-'}")
        for rec in row["recordings"]:
            state = "complete" if rec["complete"] else "in progress"
            print(f"    {rec['kind']:8} {rec['path']}  {rec['duration_seconds'] or 0:.1f} s  "
                  f"{state}{'  PROBLEM: ' + rec['problem'] if rec['problem'] else ''}")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from hotline.app import build_app, build_prompt_store
    from hotline.ivr.loader import load_flows
    from hotline.prompts.store import flow_prompts
    from hotline.telephony.sandbox import Sandbox

    sandbox = Sandbox(settings) if settings.asterisk.mode == "sandbox" else None
    flows, errors = load_flows(settings.flows_dir)
    for error in errors:
        print(f"flow not loaded: {error}", file=sys.stderr)
    store = build_prompt_store(settings)
    rendered, cached = store.build(p for flow in flows.values() for p in flow_prompts(flow))
    print(f"prompts: {rendered} rendered, {cached} cached")
    if sandbox is not None:
        print(f"Asterisk sandbox: {sandbox.up().describe()}")
    sip = settings.sip

    def ready(admin_password: str | None) -> None:
        if admin_password:
            print(f"\n  console login  : admin / {admin_password}   (shown once: note it now)")
        print(f"""
  hotline is up
  number to call : {sip.hotline_number}
  SIP address    : sip:{sip.hotline_number}@{sip.bind_host}:{sip.port} (UDP)
  console        : http://{settings.web.host}:{settings.web.port}/
  demo call      : .venv/bin/hotline call --to {sip.hotline_number} --keys 2 --text "路灯坏了"
  Ctrl-C stops everything.
""", flush=True)

    app = build_app(settings, on_ready=lambda: ready(app.state.hotline.admin_password),
                    freeze_heap=True)
    try:
        uvicorn.run(app, host=settings.web.host, port=settings.web.port, log_level="warning",
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)
    finally:
        if sandbox is not None:
            sandbox.down()
            print("Asterisk sandbox stopped")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """The controller and console alone, against an Asterisk that is already running."""
    import uvicorn

    from hotline.app import build_app

    uvicorn.run(build_app(settings, freeze_heap=True), host=settings.web.host,
                port=settings.web.port,
                log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)
    return 0


def _print_call(row: dict[str, object]) -> None:
    print(json.dumps(row, ensure_ascii=False, indent=2))


def _call(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.demo import place_demo_call

    record = place_demo_call(settings, to=args.to, keys=args.keys or "",
                             wav=Path(args.say) if args.say else None, text=args.text)
    if record is None:
        print("the call was placed, but no record of it was found: is the controller running "
              "(make run) with the same database?", file=sys.stderr)
        return 1
    _print_call(record)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument("--settings", type=Path, help="YAML settings file")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    ast = sub.add_parser("asterisk", help="the PBX: sandbox and configuration")
    ast_sub = ast.add_subparsers(dest="asterisk_command", required=True)
    sb = ast_sub.add_parser("sandbox", help="the Asterisk 22 chroot for development and CI")
    sb.add_argument("sandbox_action", choices=["build", "up", "down", "status", "reload"])
    sb.set_defaults(handler=_sandbox)
    cfg = ast_sub.add_parser("config", help="render asterisk-conf/ for an installed Asterisk")
    cfg.add_argument("--to", help="target folder (default: settings asterisk.config_dir)")
    cfg.set_defaults(handler=_config)

    run = sub.add_parser("run", help="start everything (sandbox, controller, console)")
    run.set_defaults(handler=_run)

    serve = sub.add_parser("serve", help="controller and console only (Asterisk already up)")
    serve.set_defaults(handler=_serve)

    flows = sub.add_parser("flows", help="IVR flows")
    flows.add_argument("flows_action", choices=["check"])
    flows.set_defaults(handler=_flows)

    prompts = sub.add_parser("prompts", help="prompt audio")
    prompts.add_argument("prompts_action", choices=["build"])
    prompts.set_defaults(handler=_prompts)

    call = sub.add_parser("call", help="place a demo call with a SIP soft phone")
    call.add_argument("--to", default="12345", help="number to call (default 12345)")
    call.add_argument("--keys", help="keys to press, one after each prompt")
    say = call.add_mutually_exclusive_group()
    say.add_argument("--say", metavar="FILE.wav", help="speak this recording as the message")
    say.add_argument("--text", help="speak this text (espeak-ng) as the message")
    call.set_defaults(handler=_call)

    add_users_parser(sub)
    add_stt_parsers(sub)
    add_intake_parsers(sub)
    add_retention_parser(sub)

    calls = sub.add_parser("calls", help="call records")
    calls.add_argument("calls_action", choices=["list"])
    calls.add_argument("--json", action="store_true", help="print a JSON array")
    calls.add_argument("--limit", type=int, default=50)
    calls.set_defaults(handler=_calls)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.settings)
        handler: Handler = args.handler
        return handler(args, settings)
    except HotlineError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

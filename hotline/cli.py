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

Handler = Callable[[argparse.Namespace, Settings], int]


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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

_ = json  # used by later subcommands

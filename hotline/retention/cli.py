"""``hotline retention run [--dry-run]``: the clean-up from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config import Settings


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.db import make_engine, migrate
    from hotline.retention.service import run_cleanup

    engine = make_engine(settings.db_url)
    migrate(engine)
    try:
        report = run_cleanup(engine=engine, settings=settings.retention,
                             now=datetime.now(ZoneInfo(settings.ivr.timezone)),
                             recordings_root=settings.recordings_dir,
                             exports_dir=settings.exports_dir, dry_run=args.dry_run,
                             actor="cli")
    finally:
        engine.dispose()
    plan = report.plan
    if args.json:
        out: dict[str, Any] = {**report.summary(), "errors": report.errors,
                               "items": [{"kind": i.kind, "name": i.name, "size": i.size}
                                         for i in [*plan.calls, *plan.recordings, *plan.exports]]}
        _out(json.dumps(out, ensure_ascii=False, indent=2))
        return 1 if report.errors else 0
    verb = "would delete" if args.dry_run else "deleted"
    c = report.summary()
    _out(f"{verb}: {c['calls']} call records, {c['recordings']} recordings "
          f"({c['recording_bytes']} bytes), {c['exports']} exports ({c['export_bytes']} bytes)")
    _out(f"kept for open tickets: {c['kept_calls']} call records, "
          f"{c['kept_recordings']} recordings")
    if args.verbose_items:
        for item in [*plan.calls, *plan.recordings, *plan.exports]:
            _out(f"  {item.kind:9} {item.name}  {item.size} bytes")
    for error in report.errors:
        _out(f"  not deleted: {error}")
    return 1 if report.errors else 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add_retention_parser(sub: Any) -> None:
    retention = sub.add_parser("retention", help="delete call records, recordings and exports "
                                                 "older than their retention period")
    retention.add_argument("retention_action", choices=["run"])
    retention.add_argument("--dry-run", action="store_true",
                           help="only show what would be deleted")
    retention.add_argument("--list", dest="verbose_items", action="store_true",
                           help="name every item")
    retention.add_argument("--json", action="store_true")
    retention.set_defaults(handler=_run)

"""``hotline intake`` and ``hotline eval``: request understanding from the command line.

    hotline intake understand "楼道里闻到很大的煤气味"     # prints the suggestion as JSON
    hotline intake train                                 # fit on the center's decisions
    hotline eval classify FILE.jsonl [--json] [--misses]

``eval classify`` uses the shipped responsibility list and the trained model file only when
``--model`` is given, so that it runs from a clean install with nothing but FILE.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotline.config import Settings


def add_intake_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``intake`` and ``eval`` to the ``hotline`` command."""
    intake = sub.add_parser("intake", help="understanding requests: type, unit, urgency")
    actions = intake.add_subparsers(dest="intake_action", required=True)
    understand = actions.add_parser("understand", help="understand one text (prints JSON)")
    understand.add_argument("text")
    understand.add_argument("--db", action="store_true",
                            help="use the database's list and the trained model")
    train = actions.add_parser("train", help="train on the operators' decisions in the database")
    train.add_argument("--to", type=Path, help="model file (default: var/intake/)")
    intake.set_defaults(handler=intake_command)

    evaluate = sub.add_parser("eval", help="evaluate against labelled data")
    eval_actions = evaluate.add_subparsers(dest="eval_action", required=True)
    classify = eval_actions.add_parser("classify", help="score type, unit, urgency, emergency")
    classify.add_argument("file", type=Path, help="JSON lines: text, type, unit, urgent, …")
    classify.add_argument("--json", action="store_true", help="print one JSON object")
    classify.add_argument("--misses", action="store_true", help="also list every miss")
    classify.add_argument("--model", type=Path, help="a trained model file to use")
    evaluate.set_defaults(handler=eval_command)


def intake_command(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.db import make_engine, migrate, session_scope
    from hotline.intake.model import model_path
    from hotline.intake.training import train_from_session
    from hotline.intake.understand import Understander

    if args.intake_action == "understand" and not args.db:
        found = Understander.default().understand(args.text)
        _say(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
        return 0
    engine = make_engine(settings.db_url)
    migrate(engine)
    with session_scope(engine) as session:
        if args.intake_action == "understand":
            understander = Understander.from_session(session, settings=settings)
            _say(json.dumps(understander.understand(args.text).as_json(), ensure_ascii=False,
                            indent=2))
            return 0
        _, report = train_from_session(session, path=args.to or model_path(settings))
    _say(report.describe())
    return 0


def eval_command(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.intake.evaluate import evaluate_file, format_report
    from hotline.intake.understand import Understander

    understander = Understander.default(model_file=args.model)
    report = evaluate_file(args.file, understander)
    if args.json:
        _say(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        _say(format_report(report))
    if args.misses:
        for miss in report.misses:
            _say(json.dumps(miss, ensure_ascii=False))
    return 0


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")

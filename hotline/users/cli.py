"""``hotline users``: add accounts, list them, set a password.

    hotline users add NAME --role ROLE [--unit UNIT] [--display-name TEXT] [--password-stdin]
    hotline users list [--json]
    hotline users passwd NAME [--password-stdin]

Without ``--password-stdin`` a password is generated and printed once.
Database modules are imported only when the command runs (a fast ``hotline --help``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from hotline.config import Settings

ROLE_HELP = "operator, unit_handler, supervisor, callback_agent or admin"


def add_users_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users`` to the ``hotline`` command's sub-commands."""
    users = sub.add_parser("users", help="accounts of the console and the API")
    actions = users.add_subparsers(dest="users_action", required=True)
    add = actions.add_parser("add", help="add an account (prints a generated password)")
    add.add_argument("name", help="user name")
    add.add_argument("--role", required=True, help=ROLE_HELP)
    add.add_argument("--unit", help="the unit (承办单位) of a unit_handler")
    add.add_argument("--display-name", default="", help="name shown in the console")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    listing = actions.add_parser("list", help="list the accounts")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    passwd = actions.add_parser("passwd", help="set a new password (ends open sessions)")
    passwd.add_argument("name", help="user name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    users.set_defaults(handler=users_command)


def users_command(args: argparse.Namespace, settings: Settings, *,
                  engine: Engine | None = None) -> int:
    """Run ``hotline users ...``; ``engine`` is for tests (default: the settings' database,
    migrated)."""
    from sqlmodel import Session

    from hotline.db import make_engine, migrate

    own_engine = engine is None
    if engine is None:
        engine = make_engine(settings.db_url)
        migrate(engine)
    try:
        with Session(engine, expire_on_commit=False) as session:
            if args.users_action == "add":
                return _add(args, session)
            if args.users_action == "passwd":
                return _passwd(args, session)
            return _list(args, session)
    finally:
        if own_engine:
            engine.dispose()


def _add(args: argparse.Namespace, session: Session) -> int:
    from pydantic import ValidationError

    from hotline.users.models import UserCreate
    from hotline.users.security import generate_password
    from hotline.users.service import create_user

    password = _read_password() if args.password_stdin else generate_password()
    try:
        user_create = UserCreate(username=args.name, display_name=args.display_name,
                                 role=args.role, unit_name=args.unit, password=password)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(p) for p in error["loc"]) or "user"
            if field == "role":
                _err(f"hotline: role {args.role!r} is not one of {ROLE_HELP}")
            else:
                _err(f"hotline: {field}: {error['msg']}")
        return 2
    user = create_user(session=session, user_create=user_create)
    unit = f", unit {user.unit_name}" if user.unit_name else ""
    _say(f"added {user.username} ({user.role}{unit})")
    if not args.password_stdin:
        _say(f"password: {password}  (shown once: note it now)")
    return 0


def _passwd(args: argparse.Namespace, session: Session) -> int:
    from hotline.users.security import generate_password
    from hotline.users.service import change_password, get_user

    user = get_user(session=session, username=args.name)
    password = _read_password() if args.password_stdin else generate_password()
    change_password(session=session, user=user, new_password=password)
    _say(f"password of {user.username} changed; open sessions ended")
    if not args.password_stdin:
        _say(f"password: {password}  (shown once: note it now)")
    return 0


def _list(args: argparse.Namespace, session: Session) -> int:
    from hotline.users.models import UserPublic
    from hotline.users.service import list_users

    users = [UserPublic.model_validate(u) for u in list_users(session=session)]
    if args.json:
        _say(json.dumps([u.model_dump(mode="json") for u in users], ensure_ascii=False,
                        indent=2))
        return 0
    for u in users:
        state = "" if u.active else "  (disabled)"
        unit = f"  {u.unit_name}" if u.unit_name else ""
        _say(f"{u.id:>4}  {u.username:<20} {u.role.value:<15}{unit}{state}")
    return 0


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")

"""Users, passwords, tokens and sessions without HTTP; the ``hotline users`` command."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from hotline.config import Settings
from hotline.db import make_engine
from hotline.users.cli import add_users_parser, users_command
from hotline.users.errors import (
    InvalidCredentials,
    InvalidPassword,
    NoSuchUser,
    NotAuthenticated,
    UsernameTaken,
)
from hotline.users.models import Role, User, UserCreate, utcnow
from hotline.users.security import SessionCodec, needs_rehash
from hotline.users.service import (
    authenticate,
    change_password,
    create_user,
    ensure_admin,
    get_user,
    issue_token,
    revoke_token,
    user_for_session,
    user_for_token,
)
from hotline.web.deps import mask_phone

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def new_user(session: Session, username: str = "op1", role: Role = Role.operator,
             unit: str | None = None) -> User:
    return create_user(session=session, user_create=UserCreate(
        username=username, role=role, unit_name=unit, password=PASSWORD))


def test_given_a_new_user_then_only_an_argon2_hash_of_the_password_is_stored(
    session: Session, engine: Engine
) -> None:
    new_user(session)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM users")).mappings().all()
    [row] = rows
    assert row["password_hash"].startswith("$argon2id$")
    assert all(PASSWORD not in str(value) for value in row.values())


def test_given_a_taken_name_when_adding_then_username_taken(session: Session) -> None:
    new_user(session)
    with pytest.raises(UsernameTaken) as info:
        new_user(session, role=Role.supervisor)
    assert info.value.error_id == "username-taken"


def test_given_a_unit_handler_then_a_unit_is_required_and_other_roles_have_none() -> None:
    with pytest.raises(ValueError, match="unit_handler needs a unit_name"):
        UserCreate(username="u", role=Role.unit_handler, password=PASSWORD)
    with pytest.raises(ValueError, match="only a unit_handler"):
        UserCreate(username="u", role=Role.operator, unit_name="城管局", password=PASSWORD)
    assert UserCreate(username="张三", role=Role.unit_handler, unit_name="城管局",
                      password=PASSWORD).unit_name == "城管局"


def test_given_wrong_password_unknown_or_disabled_user_then_invalid_credentials(
    session: Session,
) -> None:
    user = new_user(session)
    assert authenticate(session=session, username="op1", password=PASSWORD).id == user.id
    with pytest.raises(InvalidCredentials):
        authenticate(session=session, username="op1", password="wrong password")
    with pytest.raises(InvalidCredentials):
        authenticate(session=session, username="nobody", password=PASSWORD)
    user.active = False
    session.add(user)
    session.commit()
    with pytest.raises(InvalidCredentials):
        authenticate(session=session, username="op1", password=PASSWORD)


def test_given_a_hash_with_old_costs_when_logging_in_then_it_is_rehashed(
    session: Session,
) -> None:
    user = new_user(session)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    session.add(user)
    session.commit()
    authenticate(session=session, username="op1", password=PASSWORD)
    assert not needs_rehash(user.password_hash)
    assert "t=1," not in user.password_hash


def test_given_a_password_change_then_the_current_one_is_checked_and_rules_applied(
    session: Session,
) -> None:
    user = new_user(session)
    with pytest.raises(InvalidCredentials):
        change_password(session=session, user=user, new_password="new long password",
                        current_password="not the current")
    with pytest.raises(InvalidPassword) as info:
        change_password(session=session, user=user, new_password="short")
    assert info.value.details["field"] == "password"
    change_password(session=session, user=user, new_password="new long password",
                    current_password=PASSWORD)
    authenticate(session=session, username="op1", password="new long password")


def test_given_a_token_then_only_its_hash_is_stored_and_revoking_ends_it(
    session: Session,
) -> None:
    user = new_user(session)
    row, token = issue_token(session=session, user=user, name="ci")
    assert token.startswith("hl_") and token not in row.token_hash and len(token) > 40
    assert user_for_token(session=session, token=token).id == user.id
    assert row.last_used_at is not None
    with pytest.raises(NotAuthenticated):
        user_for_token(session=session, token=token + "x")
    assert row.id is not None
    revoke_token(session=session, user=user, token_id=row.id)
    revoke_token(session=session, user=user, token_id=row.id)  # twice is fine
    with pytest.raises(NotAuthenticated):
        user_for_token(session=session, token=token)


def test_given_a_token_used_often_then_its_last_use_is_written_once_a_minute(
    session: Session,
) -> None:
    user = new_user(session)
    row, token = issue_token(session=session, user=user, name="ci")
    now = utcnow()
    user_for_token(session=session, token=token, now=now)
    user_for_token(session=session, token=token, now=now + timedelta(seconds=10))
    session.refresh(row)
    assert row.last_used_at is not None
    assert row.last_used_at.replace(tzinfo=None) == now.replace(tzinfo=None)
    user_for_token(session=session, token=token, now=now + timedelta(minutes=2))
    session.refresh(row)
    assert row.last_used_at.replace(tzinfo=None) == (now + timedelta(minutes=2)).replace(
        tzinfo=None)


def test_given_a_disabled_user_then_tokens_and_sessions_stop_working(session: Session) -> None:
    user = new_user(session)
    _, token = issue_token(session=session, user=user, name="ci")
    codec = SessionCodec("secret", max_age=3600)
    assert user.id is not None
    cookie = codec.encode(user_id=user.id, password_hash=user.password_hash)
    user.active = False
    session.add(user)
    session.commit()
    with pytest.raises(NotAuthenticated):
        user_for_token(session=session, token=token)
    with pytest.raises(NotAuthenticated):
        user_for_session(session=session, codec=codec, cookie=cookie)


def test_given_a_session_cookie_then_tampered_expired_or_foreign_ones_are_refused() -> None:
    codec = SessionCodec("secret", max_age=3600)
    cookie = codec.encode(user_id=7, password_hash="$argon2id$x", now=1_000_000)
    claims = codec.decode(cookie, now=1_000_100)
    assert claims is not None and claims.user_id == 7
    assert codec.matches_password(claims, "$argon2id$x")
    assert not codec.matches_password(claims, "$argon2id$y")
    assert codec.decode(cookie, now=1_000_000 + 3601) is None
    assert codec.decode(cookie.replace("1.7.", "1.8.", 1), now=1_000_100) is None
    assert SessionCodec("other", max_age=3600).decode(cookie, now=1_000_100) is None
    assert codec.decode("garbage", now=1_000_100) is None
    assert codec.decode("", now=1_000_100) is None


def test_given_an_admin_exists_under_another_name_then_ensure_admin_creates_nothing(
    session: Session, tmp_path: Path
) -> None:
    new_user(session, "chief", Role.admin)
    assert ensure_admin(session=session, settings=Settings(home=tmp_path)) is None
    with pytest.raises(NoSuchUser):
        get_user(session=session, username="admin")


def test_given_two_first_runs_then_the_generated_passwords_differ(tmp_path: Path) -> None:
    passwords = set()
    for n in range(2):
        engine = make_engine(f"sqlite:///{tmp_path / f'{n}.db'}")
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            passwords.add(ensure_admin(session=session, settings=Settings(home=tmp_path)))
        engine.dispose()
    assert len(passwords) == 2 and None not in passwords


@pytest.mark.parametrize(("number", "role", "seen"), [
    ("13812345678", Role.unit_handler, "138****5678"),
    ("+8613812345678", Role.unit_handler, "+86*******5678"),
    ("62345678", Role.unit_handler, "****5678"),
    ("12345", Role.unit_handler, "*****"),
    ("13812345678", Role.admin, "138****5678"),
    ("13812345678", Role.operator, "13812345678"),
    ("13812345678", Role.supervisor, "13812345678"),
    ("13812345678", "callback_agent", "13812345678"),
    (None, Role.unit_handler, None),
])
def test_given_a_role_then_phone_numbers_are_masked_unless_the_role_needs_them(
    number: str | None, role: Role | str, seen: str | None
) -> None:
    assert mask_phone(number, role=role) == seen


# The command line -------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hotline")
    add_users_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run_users(engine: Engine, tmp_path: Path, *argv: str, stdin: str = "",
              monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = parse("users", *argv)
    assert args.handler is users_command
    code: int = users_command(args, Settings(home=tmp_path), engine=engine)
    return code


def test_given_users_add_without_password_then_a_generated_one_is_printed_and_works(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = run_users(engine, tmp_path, "add", "wang", "--role", "unit_handler",
                     "--unit", "城管局", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert code == 0
    assert "added wang (unit_handler, unit 城管局)" in out
    password = out.split("password: ")[1].split()[0]
    with Session(engine) as session:
        assert authenticate(session=session, username="wang", password=password).unit_name \
            == "城管局"


def test_given_users_add_with_password_stdin_then_that_password_is_set_and_not_printed(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = run_users(engine, tmp_path, "add", "li", "--role", "supervisor",
                     "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert code == 0 and PASSWORD not in out and "password:" not in out
    with Session(engine) as session:
        authenticate(session=session, username="li", password=PASSWORD)


@pytest.mark.parametrize(("argv", "said"), [
    (("add", "x", "--role", "boss"), "role 'boss' is not one of operator"),
    (("add", "x", "--role", "unit_handler"), "unit_handler needs a unit_name"),
    (("add", "x y", "--role", "operator"), "username:"),
])
def test_given_bad_users_add_arguments_then_exit_2_saying_why(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], said: str,
) -> None:
    assert run_users(engine, tmp_path, *argv, monkeypatch=monkeypatch) == 2
    assert said in capsys.readouterr().err


def test_given_users_then_list_and_passwd_work(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_users(engine, tmp_path, "add", "zhao", "--role", "operator", monkeypatch=monkeypatch)
    capsys.readouterr()
    assert run_users(engine, tmp_path, "list", "--json", monkeypatch=monkeypatch) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["username"], listed["role"], listed["active"]) == ("zhao", "operator", True)
    assert "password_hash" not in listed
    assert run_users(engine, tmp_path, "passwd", "zhao", "--password-stdin",
                     stdin="brand new password\n", monkeypatch=monkeypatch) == 0
    with Session(engine) as session:
        authenticate(session=session, username="zhao", password="brand new password")
    with pytest.raises(NoSuchUser):
        run_users(engine, tmp_path, "passwd", "nobody", monkeypatch=monkeypatch)
    with pytest.raises(InvalidPassword):
        run_users(engine, tmp_path, "passwd", "zhao", "--password-stdin", stdin="short\n",
                  monkeypatch=monkeypatch)

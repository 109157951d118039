"""Use cases of users and tokens. Keyword-only, the database session passed in; each function
that writes commits its own change (all or nothing).

Example::

    with Session(engine) as session:
        password = ensure_admin(session=session, settings=settings)   # first run only
        user = authenticate(session=session, username="admin", password=password)
        token, secret = issue_token(session=session, user=user, name="ci")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.config import Settings
from hotline.users.errors import (
    InvalidCredentials,
    InvalidPassword,
    NoSuchToken,
    NoSuchUser,
    NotAuthenticated,
    UsernameTaken,
)
from hotline.users.models import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    ApiToken,
    Role,
    User,
    UserCreate,
    as_utc,
    utcnow,
)
from hotline.users.security import (
    SessionCodec,
    burn_password_check,
    generate_password,
    generate_token,
    hash_password,
    hash_token,
    needs_rehash,
    verify_password,
)

ADMIN_USERNAME = "admin"
# A token's last use is written at most this often (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_user(*, session: Session, user_create: UserCreate) -> User:
    if get_user_by_username(session=session, username=user_create.username) is not None:
        raise UsernameTaken(user_create.username)
    user = User.model_validate(
        user_create,
        update={"role": user_create.role.value,
                "password_hash": hash_password(user_create.password)},
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:  # created by someone else in the meantime
        session.rollback()
        raise UsernameTaken(user_create.username) from exc
    session.refresh(user)
    return user


def get_user_by_username(*, session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def get_user(*, session: Session, username: str) -> User:
    user = get_user_by_username(session=session, username=username)
    if user is None:
        raise NoSuchUser(username)
    return user


def list_users(*, session: Session) -> Sequence[User]:
    return session.exec(select(User).order_by(col(User.id))).all()


def authenticate(*, session: Session, username: str, password: str) -> User:
    """The active user with this name and password; InvalidCredentials otherwise."""
    user = get_user_by_username(session=session, username=username)
    if user is None:
        burn_password_check(password)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password) or not user.active:
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):  # the cost parameters were raised since
        user.password_hash = hash_password(password)
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def change_password(
    *, session: Session, user: User, new_password: str, current_password: str | None = None
) -> None:
    """Set a new password; with ``current_password``, only if it is right.

    Sessions opened with the old password end (their cookie carries a mark of the hash).
    """
    if current_password is not None and not verify_password(user.password_hash,
                                                            current_password):
        raise InvalidCredentials()
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    session.add(user)
    session.commit()
    session.refresh(user)


def check_password_rules(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidPassword(f"shorter than {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidPassword(f"longer than {PASSWORD_MAX} characters")


def issue_token(*, session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the row, and the token itself (shown once, not kept)."""
    assert user.id is not None
    secret = generate_token()
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret))
    session.add(token)
    session.commit()
    session.refresh(token)
    return token, secret


def list_tokens(*, session: Session, user: User) -> Sequence[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.id))
    return session.exec(query).all()


def revoke_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens (an admin may revoke anyone's). Revoking twice is fine."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != Role.admin):
        raise NoSuchToken(token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.commit()
        session.refresh(token)
    return token


def user_for_token(*, session: Session, token: str, now: datetime | None = None) -> User:
    """The active owner of an unrevoked token; NotAuthenticated otherwise."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("unknown or revoked API token")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("the token's user is disabled")
    now = now or utcnow()
    if row.last_used_at is None or now - as_utc(row.last_used_at) >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        session.commit()
        session.refresh(user)
    return user


def user_for_session(*, session: Session, codec: SessionCodec, cookie: str) -> User:
    """The active user of a signed, unexpired session cookie; NotAuthenticated otherwise."""
    claims = codec.decode(cookie)
    if claims is None:
        raise NotAuthenticated("session expired or invalid: log in again")
    user = session.get(User, claims.user_id)
    if user is None or not user.active or not codec.matches_password(claims, user.password_hash):
        raise NotAuthenticated("session ended: log in again")
    return user


def ensure_admin(*, session: Session, settings: Settings) -> str | None:
    """On first run, create ``admin`` with a generated password and return it (print it once).

    Returns None when an admin exists already: nothing is created or changed. ``settings`` is
    taken for symmetry with the other start-up steps; nothing in it is needed yet.
    """
    del settings
    has_admin = session.exec(
        select(User.id).where((User.role == Role.admin) | (User.username == ADMIN_USERNAME))
    ).first()
    if has_admin is not None:
        return None
    password = generate_password()
    create_user(
        session=session,
        user_create=UserCreate(username=ADMIN_USERNAME, display_name="Administrator",
                               role=Role.admin, password=password),
    )
    return password

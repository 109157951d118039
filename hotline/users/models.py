"""Tables of users and API tokens (SQLModel families: Base / Create / table / Public).

Passwords are stored only as argon2 hashes, API tokens only as SHA-256 hashes (tokens are
random and long, so a fast hash is enough and lets a request find its token by hash).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

USERNAME_PATTERN = r"^[\w.@-]+$"  # letters (Chinese included), digits, _ . @ -
PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive: they are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class _UtcTimes(SQLModel):
    @field_validator("created_at", "last_used_at", "revoked_at", mode="after", check_fields=False)
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class Role(StrEnum):
    operator = "operator"  # 话务员: takes calls, creates and dispatches tickets
    unit_handler = "unit_handler"  # 承办单位: works on its unit's tickets only
    supervisor = "supervisor"  # 督办/审核: reviews, approves, watches deadlines
    callback_agent = "callback_agent"  # 回访员: satisfaction revisits
    admin = "admin"  # accounts and settings


class UserBase(SQLModel):
    username: str = Field(index=True, unique=True, min_length=1, max_length=64,
                          schema_extra={"pattern": USERNAME_PATTERN})
    display_name: str = Field(default="", max_length=128)
    # The unit (承办单位) a unit handler works for, by name, until units are a table.
    unit_name: str | None = Field(default=None, max_length=128, index=True)


class _ChecksRole(UserBase):
    role: Role
    unit_name: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _unit_only_for_unit_handlers(self) -> _ChecksRole:
        if self.role is Role.unit_handler and not self.unit_name:
            raise ValueError("a unit_handler needs a unit_name")
        if self.role is not Role.unit_handler and self.unit_name:
            raise ValueError(f"only a unit_handler has a unit_name (role is {self.role.value})")
        return self


class UserCreate(_ChecksRole):
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class UserCreateRequest(_ChecksRole):
    """The admin API's body: without a password, one is generated and returned once."""

    password: str | None = Field(default=None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    # A Role value, stored as plain text so that adding a role needs no enum migration.
    role: str = Field(max_length=32, index=True)
    password_hash: str = Field(max_length=256, repr=False)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class UserPublic(_UtcTimes, UserBase):
    id: int
    role: Role
    active: bool
    created_at: datetime


class UserCreated(UserPublic):
    # Only when the server generated it: shown once, never stored in clear.
    generated_password: str | None = None


class ApiTokenBase(SQLModel):
    name: str = Field(default="", max_length=128)


class ApiTokenCreate(ApiTokenBase):
    pass


class ApiToken(ApiTokenBase, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)  # SHA-256, hex
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiTokenPublic(_UtcTimes, ApiTokenBase):
    id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    # The token itself: shown once, only its hash is kept.
    token: str

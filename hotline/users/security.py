"""Password hashes, API tokens and signed session cookies. No database, no HTTP.

Example::

    hashed = hash_password("s3cret-pass")          # '$argon2id$v=19$...'
    verify_password(hashed, "s3cret-pass")          # True
    codec = SessionCodec(secret, max_age=8 * 3600)
    cookie = codec.encode(user_id=7, password_hash=hashed)
    codec.decode(cookie)                            # SessionClaims(user_id=7, ...) or None
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "hl_"

_hasher = PasswordHasher()  # argon2id, the library's recommended cost (RFC 9106 low-memory)
# Verified against when the user name is unknown, so that both failures take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False for a wrong password or an unusable hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_password_check(password: str) -> None:
    """Spend the time of one check, for an unknown user name (no timing oracle)."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password() -> str:
    """A random password to print once (~ 96 bits, no ambiguous punctuation)."""
    return secrets.token_urlsafe(12)


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex: tokens are 256-bit random, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionClaims:
    user_id: int
    issued_at: int
    password_mark: str


class SessionCodec:
    """Session cookies signed with HMAC-SHA256: ``1.<user id>.<issued at>.<mark>.<signature>``.

    ``mark`` is derived from the user's password hash, so changing the password ends every
    session opened before. A cookie older than ``max_age`` seconds is refused.
    """

    VERSION = "1"

    def __init__(self, secret: str, *, max_age: int) -> None:
        if not secret:
            raise ValueError("the session secret is empty")
        self._key = hashlib.sha256(b"hotline-session\0" + secret.encode()).digest()
        self.max_age = max_age

    def password_mark(self, password_hash: str) -> str:
        digest = hmac.new(self._key, b"pw\0" + password_hash.encode(), hashlib.sha256).digest()
        return _b64(digest[:12])

    def encode(self, *, user_id: int, password_hash: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        payload = f"{self.VERSION}.{user_id}.{issued}.{self.password_mark(password_hash)}"
        return f"{payload}.{self._sign(payload)}"

    def decode(self, value: str, *, now: float | None = None) -> SessionClaims | None:
        """The claims of a well-signed, unexpired cookie; None for anything else."""
        payload, _, signature = value.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        parts = payload.split(".")
        if len(parts) != 4 or parts[0] != self.VERSION:
            return None
        try:
            user_id, issued = int(parts[1]), int(parts[2])
        except ValueError:
            return None
        age = (time.time() if now is None else now) - issued
        if age < -60 or age > self.max_age:  # a minute of clock skew allowed
            return None
        return SessionClaims(user_id=user_id, issued_at=issued, password_mark=parts[3])

    def matches_password(self, claims: SessionClaims, password_hash: str) -> bool:
        return hmac.compare_digest(claims.password_mark, self.password_mark(password_hash))

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

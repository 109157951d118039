"""Errors of users and authentication, a branch of the tree in ``hotline.errors``.

HotlineError
└── AuthError                      an account or credential problem
    ├── NotAuthenticated           no valid session cookie or token (HTTP 401)
    │   └── InvalidCredentials     wrong user name or password (same answer for both)
    ├── Forbidden                  authenticated, but the role may not do this (HTTP 403)
    ├── NoSuchUser                 unknown user name or id (HTTP 404)
    ├── NoSuchToken                unknown token id, or not the caller's (HTTP 404)
    ├── UsernameTaken              the user name exists already (HTTP 409)
    └── InvalidPassword            a new password breaks the rules (HTTP 422)

The HTTP statuses are given by ``hotline.web.errors``, not here.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.errors import HotlineError


class AuthError(HotlineError):
    error_id = "auth-error"


class NotAuthenticated(AuthError):
    error_id = "not-authenticated"


class InvalidCredentials(NotAuthenticated):
    error_id = "invalid-credentials"

    def __init__(self) -> None:
        super().__init__("wrong user name or password")


class Forbidden(AuthError):
    """The user's role (or unit) does not allow this. Subclass it for finer refusals."""

    error_id = "forbidden"


class RoleNotAllowed(Forbidden):
    error_id = "role-not-allowed"

    def __init__(self, role: str, *, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        super().__init__(
            f"role {role} may not do this (allowed: {', '.join(allowed)})",
            role=role,
            allowed=allowed,
        )
        self.role = role
        self.allowed = allowed


class NoSuchUser(AuthError):
    error_id = "no-such-user"

    def __init__(self, username: str) -> None:
        super().__init__(f"no user named {username!r}", username=username)
        self.username = username


class NoSuchToken(AuthError):
    error_id = "no-such-token"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"no API token {token_id}", token_id=token_id)
        self.token_id = token_id


class UsernameTaken(AuthError):
    error_id = "username-taken"

    def __init__(self, username: str) -> None:
        super().__init__(f"user name {username!r} is taken", username=username)
        self.username = username


class InvalidPassword(AuthError):
    error_id = "invalid-password"

    def __init__(self, reason: str) -> None:
        super().__init__(f"password refused: {reason}", field="password", reason=reason)
        self.reason = reason

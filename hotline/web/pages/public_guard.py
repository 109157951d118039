"""What protects the public pages (no login): pure, no I/O.

* ``RateLimiter``: at most ``limit`` events per client key within a sliding ``window``. It lives
  in memory, in one process: with several worker processes each counts on its own (the limit
  per client is then ``limit`` x workers), and a restart forgets. Enough against one noisy
  client; a shared limit would need a shared store.
* ``FormGuard``: one token per form, bound to the browser's ``hotline_public`` cookie (a form
  posted by another site lacks the cookie's token: CSRF without a login) and stamped with the
  time the form was served, so a form sent back faster than a person can fill it is spam.
* ``survey_token``: the signed link of one ticket's satisfaction survey, per revisit round;
  nothing stored, unguessable without the server's secret.

    limiter = RateLimiter(limit=5, window=timedelta(hours=1))
    if not limiter.allows("203.0.113.9", now=now): ...   # 429
    limiter.hit("203.0.113.9", now=now)

    guard = FormGuard(secret, min_fill=timedelta(seconds=3))
    token = guard.issue(cookie, now=now)                  # into the form
    problem = guard.check(cookie, token, now=now)          # None when fine
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta


class RateLimiter:
    """A sliding window of event times per key (thread-safe: sync routes run in threads)."""

    def __init__(self, *, limit: int, window: timedelta, max_keys: int = 100_000) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def allows(self, key: str, *, now: datetime) -> bool:
        """Whether one more event of ``key`` now stays within the limit (records nothing)."""
        with self._lock:
            return len(self._recent(key, now)) < self.limit

    def hit(self, key: str, *, now: datetime) -> bool:
        """Record an event of ``key``; False (and nothing recorded) when over the limit."""
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                return False
            if key not in self._hits:
                if len(self._hits) >= self.max_keys:
                    self._forget_oldest(now)
                self._hits[key] = hits
            hits.append(now)
            return True

    def retry_after(self, key: str, *, now: datetime) -> timedelta:
        """How long until ``key`` may act again (zero when it may now)."""
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                return timedelta(0)
            return hits[0] + self.window - now

    def _forget_oldest(self, now: datetime) -> None:
        for key in list(self._hits):
            self._recent(key, now)
        while len(self._hits) >= self.max_keys:  # still full: drop the stalest client
            oldest = min(self._hits, key=lambda k: self._hits[k][-1])
            del self._hits[oldest]


def _mac(secret: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


@dataclass(frozen=True)
class FormGuard:
    """Cookie-bound, time-stamped form tokens: ``<unix seconds>.<mac>``."""

    secret: str
    min_fill: timedelta = timedelta(seconds=3)
    max_age: timedelta = timedelta(hours=12)

    def issue(self, cookie: str, *, now: datetime) -> str:
        stamp = str(int(now.timestamp()))
        return f"{stamp}.{_mac(self.secret, 'public-form', cookie, stamp)}"

    def check(self, cookie: str | None, token: str | None, *, now: datetime) -> str | None:
        """None for a good token; else why not: ``csrf`` (missing or forged, another
        browser's, expired) or ``too-fast`` (sent back before ``min_fill``)."""
        if not cookie or not token or "." not in token:
            return "csrf"
        stamp, _, mac = token.partition(".")
        if not stamp.isdigit() or not hmac.compare_digest(
                mac, _mac(self.secret, "public-form", cookie, stamp)):
            return "csrf"
        age = now.timestamp() - int(stamp)
        if age > self.max_age.total_seconds():
            return "csrf"
        if age < self.min_fill.total_seconds():
            return "too-fast"
        return None


def survey_token(secret: str, number: str, round_: int) -> str:
    """The token of the survey link of ticket ``number`` for revisit round ``round_``."""
    return _mac(secret, "survey", number, str(round_))


def survey_token_ok(secret: str, number: str, round_: int, token: str) -> bool:
    return hmac.compare_digest(token, survey_token(secret, number, round_))

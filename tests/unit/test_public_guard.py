"""The public pages' guards (``hotline.web.pages.public_guard``): pure, with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.web.pages.public_guard import (
    FormGuard,
    RateLimiter,
    survey_token,
    survey_token_ok,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_given_the_limit_reached_when_hit_again_then_refused_until_the_oldest_leaves() -> None:
    limiter = RateLimiter(limit=3, window=timedelta(hours=1))
    for minute in range(3):
        assert limiter.hit("a", now=T0 + timedelta(minutes=minute))
    assert not limiter.allows("a", now=T0 + timedelta(minutes=10))
    assert not limiter.hit("a", now=T0 + timedelta(minutes=10))  # refused: not recorded
    assert limiter.retry_after("a", now=T0 + timedelta(minutes=10)) == timedelta(minutes=50)
    assert limiter.allows("b", now=T0 + timedelta(minutes=10))  # per client
    assert limiter.hit("a", now=T0 + timedelta(hours=1))  # the first hit left the window
    assert not limiter.hit("a", now=T0 + timedelta(hours=1))


def test_given_many_clients_then_the_stalest_is_forgotten_first() -> None:
    limiter = RateLimiter(limit=1, window=timedelta(hours=1), max_keys=2)
    limiter.hit("a", now=T0)
    limiter.hit("b", now=T0 + timedelta(minutes=1))
    limiter.hit("c", now=T0 + timedelta(minutes=2))
    assert limiter.allows("a", now=T0 + timedelta(minutes=3))
    assert not limiter.allows("b", now=T0 + timedelta(minutes=3))


def test_given_a_form_token_then_only_its_cookie_after_the_minimum_fill_time_passes() -> None:
    guard = FormGuard("secret", min_fill=timedelta(seconds=3), max_age=timedelta(hours=12))
    token = guard.issue("cookie-1", now=T0)
    assert guard.check("cookie-1", token, now=T0 + timedelta(seconds=1)) == "too-fast"
    assert guard.check("cookie-1", token, now=T0 + timedelta(seconds=3)) is None
    assert guard.check("cookie-2", token, now=T0 + timedelta(seconds=5)) == "csrf"
    assert guard.check(None, token, now=T0 + timedelta(seconds=5)) == "csrf"
    assert guard.check("cookie-1", None, now=T0 + timedelta(seconds=5)) == "csrf"
    stamp, _, mac = token.partition(".")
    earlier = f"{int(stamp) - 60}.{mac}"  # backdating the stamp breaks the mac
    assert guard.check("cookie-1", earlier, now=T0 + timedelta(seconds=1)) == "csrf"
    assert guard.check("cookie-1", token, now=T0 + timedelta(hours=13)) == "csrf"
    assert FormGuard("other").check("cookie-1", token, now=T0 + timedelta(seconds=5)) == "csrf"


def test_given_a_survey_token_then_valid_for_its_ticket_and_round_only() -> None:
    token = survey_token("secret", "20261123-00001", 0)
    assert survey_token_ok("secret", "20261123-00001", 0, token)
    assert not survey_token_ok("secret", "20261123-00002", 0, token)
    assert not survey_token_ok("secret", "20261123-00001", 1, token)
    assert not survey_token_ok("other", "20261123-00001", 0, token)
    assert len(token) >= 24 and "/" not in token

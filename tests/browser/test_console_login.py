"""Logging in to the console in chromium: the form, the session cookie's flags, CSRF on what a
page sends with the cookie."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PASSWORD, Console


def test_given_a_wrong_password_when_logging_in_then_the_form_says_so(
    console: Console, page: Any
) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=username]", "sup")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator("#error").inner_text() == "用户名或密码不正确"
    assert page.input_value("input[name=username]") == "sup"
    console.screenshot(page, "login-refused")


def test_given_a_supervisor_when_logging_in_then_the_workspace_and_a_protected_session(
    console: Console, page: Any
) -> None:
    console.log_in(page, "sup")
    assert page.url == f"{console.url}/supervisor"  # the supervisor's home
    assert page.locator("h2:visible").first.inner_text() == "实时概况"  # warnings: hidden
    page.goto(f"{console.url}/")
    assert page.locator("h2").first.inner_text() == "最近通话"
    assert "督办" in page.locator(".who").inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "hotline_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # no script can read the session

    # What the page sends with the cookie needs the session's token (htmx sends it).
    status = page.evaluate("""async () => (await fetch('/api/tokens', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{"name": "x"}'})).status""")
    assert status == 403
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    status = page.evaluate("""async (token) => (await fetch('/api/tokens', {method: 'POST',
        headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
        body: '{"name": "x"}'})).status""", token)
    assert status == 201
    console.screenshot(page, "calls-supervisor")

    page.click("text=退出")
    page.wait_for_url(f"{console.url}/login")
    assert not [c for c in page.context.cookies() if c["name"] == "hotline_session"]
    assert PASSWORD not in page.content()

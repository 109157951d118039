"""The browser tier: the real app (``build_app``: controller, pages, API) served by uvicorn on a
loopback port with a temporary SQLite database, driven by Debian's chromium through Playwright.

Chromium is the system's (``/usr/bin/chromium``, installed by ``make system-deps``); a missing
browser or CJK font is a failure with the command that fixes it, never a skip. Asterisk is not
needed: the AMI controller keeps retrying a closed port, and a test that is about the page
injects AMI events through the controller's own handler (``console.ami_event``).

    def test_something(console: Console, page: Page) -> None:
        console.log_in(page, "op")
        console.ami_event({"Event": "Newchannel", ...})
        console.screenshot(page, "something")
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from hotline.app import Hotline, build_app
from hotline.config import Settings, load_settings
from hotline.db import session_scope
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}
WAIT = 20.0  # seconds: generous; a page that is silent this long has failed
PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "browser"

USERS: dict[str, tuple[Role, str | None]] = {
    "op": (Role.operator, None),
    "cg": (Role.unit_handler, "市城管局"),
    "zj": (Role.unit_handler, "市住建局"),
    "sup": (Role.supervisor, None),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Console:
    url: str
    hotline: Hotline
    loop: asyncio.AbstractEventLoop
    users: dict[str, str] = field(default_factory=dict)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the server's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT)

    def ami_event(self, event: dict[str, str]) -> None:
        """Hand an AMI event to the controller's handler, as if Asterisk had sent it."""
        self.run(self.hotline.ami.handler.on_event(event))
        self.run(self.hotline.store.drain())

    def log_in(self, page: Any, username: str) -> None:
        page.goto(f"{self.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    @staticmethod
    def screenshot(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path


def _check_system() -> None:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian package chromium)")
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                           check=False).stdout if shutil.which("fc-list") else ""
    if not fonts.strip():
        pytest.fail("no CJK font: run `make system-deps` (Debian package fonts-wqy-microhei)")


@contextmanager
def serve(settings: Settings) -> Iterator[Console]:
    """The app (``build_app``) served by uvicorn in a thread on a loopback port, with the
    users of ``USERS``; stopped on leaving."""
    ready = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    def on_ready() -> None:
        loops.append(asyncio.get_running_loop())
        ready.set()

    app = build_app(settings, on_ready=on_ready)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # first start builds the Mandarin sounds
    while not (ready.is_set() and server.started):
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the console app did not start")
        time.sleep(0.05)
    hotline: Hotline = app.state.hotline
    with session_scope(hotline.engine) as session:
        for username, (role, unit) in USERS.items():
            create_user(session=session, user_create=UserCreate(
                username=username, role=role, unit_name=unit, password=PASSWORD))
    try:
        yield Console(url=f"http://127.0.0.1:{port}", hotline=hotline, loop=loops[0])
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    settings = load_settings(
        home=REPO,
        db={"url": f"sqlite:///{tmp / 'hotline.db'}"},
        agi={"port": _free_port()},
        ami={"port": _free_port(), "connect_timeout": 0.2},
        recordings={"dir": str(tmp / "recordings")},
        prompts={"dir": str(REPO / "var" / "prompts")},
        web={"attachments_dir": str(tmp / "attachments")},
    )
    with serve(settings) as console:
        yield console


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _check_system()
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(WAIT * 1000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser tests and run them after every other test.

    From the session's first browser test until its browser closes at the end of the session,
    Playwright's sync API leaves its event loop marked as running in the main thread between
    calls: every asyncio.run() after that point fails ("cannot be called from a running event
    loop"), which is what a whole-suite run did to the AMI, outbound and queue call-back tests.
    """
    here = Path(__file__).parent
    browser = [item for item in items if Path(str(item.fspath)).parent == here]
    for item in browser:
        item.add_marker(pytest.mark.browser)
    chosen = set(map(id, browser))
    items[:] = [item for item in items if id(item) not in chosen] + browser

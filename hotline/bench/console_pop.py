"""From the AMI event of a new call to the pop in the browser (``make bench-console``, part 2).

The real app is served by uvicorn on a loopback port (lifespan off, as in part 1) and the
operator, seated at ``PJSIP/seat1``, opens ``/seat`` in headless chromium (Debian's, through
Playwright). No Asterisk: each call's ``AgentCalled`` is handed to the AMI controller's own
handler (``SeatEvents``: the call events, then the real ``PopBoard``) on the server's event
loop, as the controller does when Asterisk sends it; a ``Newchannel`` and the IVR's path come
first and a ``Hangup`` after, untimed. A ``MutationObserver`` in the page stamps ``Date.now()``
when ``#call[data-uniqueid]`` shows the call; the latency is that stamp minus the wall-clock
time (same machine) just before the event was handed over: the handler, the SSE push, htmx's
``GET /seat/pop`` (the caller's history among the seeded tickets) and the swap.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from hotline.app import Hotline
from hotline.bench.console_pages import PASSWORD, SEAT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_S = 20.0
OBSERVER = """() => {
  window.__pops = {};
  const stamp = () => {
    const call = document.querySelector("#call[data-uniqueid]");
    if (call && !(call.dataset.uniqueid in window.__pops)) {
      window.__pops[call.dataset.uniqueid] = Date.now();
    }
  };
  new MutationObserver(stamp).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ["data-uniqueid"]});
}"""


@contextmanager
def served(app: FastAPI) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """``app`` under uvicorn on a free loopback port: (its URL, the server's event loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    loops: list[asyncio.AbstractEventLoop] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not (server.started and loops):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", loops[0]
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        sock.close()


def measure_pop(app: FastAPI, *, operator: str, phones: list[str], events: int,
                seed: int) -> list[float]:
    """``events`` calls popping at the operator's seat: latency of each, in ms."""
    if not os.path.isfile(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: run `make system-deps` (package chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    hotline: Hotline = app.state.hotline
    rng = random.Random(seed)
    latencies = []
    with served(app) as (url, loop), sync_playwright() as playwright:
        def feed(event: dict[str, str]) -> None:
            asyncio.run_coroutine_threadsafe(hotline.ami.handler.on_event(event),
                                             loop).result(WAIT_S)

        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN", timezone_id="Asia/Shanghai")
            page.set_default_timeout(WAIT_S * 1000)
            page.goto(f"{url}/login?next=/seat")
            page.fill("input[name=username]", operator)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("body.live")  # the pop stream is open
            page.evaluate(OBSERVER)
            for i in range(events):
                latencies.append(_one_call(page, feed, uid=f"1800000000.{seed}{i:05d}",
                                           caller=rng.choice(phones)))
                time.sleep(rng.uniform(0.05, 0.25))  # calls do not arrive in lockstep
        finally:
            browser.close()
    return latencies


def _one_call(page: Any, feed: Any, *, uid: str, caller: str) -> float:
    feed({"Event": "Newchannel", "Context": "hotline-in", "Uniqueid": uid, "Linkedid": uid,
          "Channel": f"PJSIP/citizen-{uid}", "CallerIDNum": caller, "CallerIDName": caller,
          "Exten": "12345"})
    fed = time.time() * 1000
    feed({"Event": "AgentCalled", "Queue": "hotline", "Uniqueid": uid, "Interface": SEAT,
          "MemberName": SEAT.split("/")[-1], "CallerIDNum": caller, "CallerIDName": caller})
    page.wait_for_function(f"window.__pops[{uid!r}] !== undefined")
    shown = float(page.evaluate(f"window.__pops[{uid!r}]"))
    feed({"Event": "Hangup", "Uniqueid": uid, "Linkedid": uid,
          "Channel": f"PJSIP/citizen-{uid}", "Cause": "16"})
    page.wait_for_selector(f"#call[data-uniqueid={uid!r}][data-state=ended]")
    return shown - fed

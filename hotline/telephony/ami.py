"""AMI controller around ``panoramisk.Manager``: follows every channel, keeps call rows in
step, and sends actions (Originate ...) only while connected.

What panoramisk 1.4 does that we must not let happen, and how this module prevents it:
- coroutine event handlers are scheduled without a kept reference, so their errors vanish:
  our handlers are plain functions that start tasks we keep and whose exceptions we log;
- actions sent while disconnected are held and re-sent after reconnecting (an Originate could
  ring a citizen minutes late): ``send`` refuses when not connected (``AmiUnavailable``), every
  action has a timeout, and held actions are failed and dropped on (re)connect.

Example::

    ami = AmiController(settings=settings.ami, secret=settings.ami_secret, handler=events)
    await ami.start()
    await ami.send({"Action": "Originate", "Channel": "PJSIP/citizen1", ...})
    await ami.stop()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from panoramisk import Manager
from panoramisk.message import Message

from hotline.config import AmiSettings
from hotline.errors import AmiActionFailed, AmiUnavailable

log = logging.getLogger(__name__)


class AmiEventHandler(Protocol):
    async def on_event(self, event: dict[str, str]) -> None: ...

    async def on_connected(self, controller: AmiController) -> None: ...


class AmiController:
    def __init__(self, *, settings: AmiSettings, secret: str, handler: AmiEventHandler,
                 events: tuple[str, ...] = ("*",)) -> None:
        self.settings = settings
        self.secret = secret
        self.handler = handler
        self.events = events
        self.manager: Manager | None = None
        self.connected = False
        self.logins = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._login_event = asyncio.Event()
        # Events are handled one at a time, in the order Asterisk sent them.
        self._queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # lifecycle ------------------------------------------------------------------------
    async def start(self, *, wait: bool = True) -> None:
        loop = asyncio.get_running_loop()
        self.manager = Manager(
            loop=loop,
            host=self.settings.host,
            port=self.settings.port,
            username=self.settings.username,
            secret=self.secret,
            events=self.settings.events,
            ping_delay=5,
            ping_interval=5,
            reconnect_timeout=1,
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
            log=logging.getLogger("hotline.telephony.panoramisk"),
        )
        for pattern in self.events:
            self.manager.register_event(pattern, self._on_raw_event)
        self._worker = asyncio.create_task(self._work(), name="ami-events")
        # panoramisk schedules each reconnect with call_later(..., self.connect), bound when
        # scheduled: one pending at stop() (Asterisk down) would still connect and log in.
        # Every (re)connect goes through this guard, which is off once this manager is gone.
        manager, connect = self.manager, self.manager.connect
        manager.connect = (
            lambda *a, **k: connect(*a, **k) if self.manager is manager else None
        )
        manager.connect()
        if wait:
            try:
                await asyncio.wait_for(self._login_event.wait(), self.settings.connect_timeout)
            except TimeoutError:
                log.warning("AMI %s:%s: not connected yet, retrying in the background",
                            self.settings.host, self.settings.port)

    async def stop(self) -> None:
        if self.manager is not None:
            self.manager.close()
            # panoramisk schedules a reconnect on close; stop it from running again.
            self.manager.connect = lambda *a, **k: None
            self.manager = None
        self.connected = False
        if self._worker is not None:
            self._worker.cancel()
        for task in [*self._tasks, *([self._worker] if self._worker else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, *( [self._worker] if self._worker else []),
                             return_exceptions=True)
        self._tasks.clear()

    async def wait_connected(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not self.connected:
                self._login_event.clear()
                await self._login_event.wait()

    # panoramisk callbacks (plain functions: we keep the tasks) -----------------------
    def _on_login(self, manager: Manager) -> None:
        self._drop_held_actions()
        self.connected = True
        self.logins += 1
        log.info("AMI connected and logged in (%d)", self.logins)
        self._login_event.set()
        self._spawn(self.handler.on_connected(self), "ami-on-connected")

    def _on_disconnect(self, manager: Manager, exc: object) -> None:
        if self.connected:
            log.warning("AMI connection lost (%s); panoramisk reconnects", exc)
        self.connected = False
        self._drop_held_actions()

    def _on_raw_event(self, manager: Manager, message: Message) -> None:
        self._queue.put_nowait({str(k): str(v) for k, v in message.items()})

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.handler.on_event(event)
            except Exception:
                log.exception("AMI event handler failed on %s", event.get("Event"))

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI task %s failed", task.get_name(), exc_info=task.exception())

    def _drop_held_actions(self) -> None:
        """Fail every action panoramisk held for re-sending: nothing fires late."""
        if self.manager is None:
            return
        while self.manager.awaiting_actions:
            action = self.manager.awaiting_actions.popleft()
            if not action.future.done():
                action.future.set_exception(
                    AmiUnavailable(f"AMI disconnected: {action.get('action')} was not sent")
                )

    # actions --------------------------------------------------------------------------
    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        """Send an action now or fail now: ``AmiUnavailable`` when not connected or no answer."""
        name = action.get("Action", "?")
        if not self.connected or self.manager is None or self.manager.protocol is None:
            raise AmiUnavailable(f"AMI is not connected: {name} not sent")
        future = self.manager.send_action(dict(action), as_list=as_list)
        try:
            result = await asyncio.wait_for(asyncio.shield(future),
                                            timeout or self.settings.action_timeout)
        except TimeoutError as exc:
            self._forget(future)
            raise AmiUnavailable(f"AMI gave no answer to {name} in time") from exc
        first = result[0] if isinstance(result, list) else result
        if getattr(first, "response", None) == "Error":
            raise AmiActionFailed(f"{name} refused by Asterisk: {first.get('Message', '')}",
                                  action=name)
        return result

    def _forget(self, future: asyncio.Future[Any]) -> None:
        if self.manager is None or self.manager.protocol is None:
            return
        responses = self.manager.protocol.responses
        for key, action in list(responses.items()):
            if action.future is future:
                responses.pop(key, None)
        if not future.done():
            future.cancel()

    async def command(self, cli: str) -> str:
        """Run an Asterisk CLI command through AMI and return its output."""
        result = await self.send({"Action": "Command", "Command": cli})
        output = result.get("Output", "") if hasattr(result, "get") else ""
        return "\n".join(output) if isinstance(output, list) else str(output)

    async def channels(self) -> list[dict[str, str]]:
        """The channels Asterisk has now (CoreShowChannels)."""
        result = await self.send({"Action": "CoreShowChannels"}, as_list=True)
        items = result if isinstance(result, list) else [result]
        return [
            {str(k): str(v) for k, v in m.items()}
            for m in items
            if m.get("Event") == "CoreShowChannel"
        ]


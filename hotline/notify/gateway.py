"""Where messages go: the ``SmsGateway`` port and its HTTP adapter.

``HttpSmsGateway`` POSTs ``{"to": "13800001234", "text": "…"}`` as JSON to the center's SMS
gateway (``notify.sms_url``), with an ``Idempotency-Key`` header naming the message (a gateway
that keeps them can drop a repeat). Any 2xx answer means taken; anything else, a refused or
timed-out connection, is ``DeliveryFailed`` naming the address and what happened (the status
code and the start of the body). The request goes straight to the address, never through a
proxy from the environment.

    gateway = HttpSmsGateway("http://10.0.0.5:8080/sms", timeout=10)
    await gateway.send(to="13800001234", text="…", key="hotline-message-7")
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Protocol

from hotline.errors import HotlineError

BODY_SHOWN = 200  # characters of an error answer kept in the message's last_error


class DeliveryFailed(HotlineError):
    error_id = "sms-delivery-failed"


class SmsGateway(Protocol):
    async def send(self, *, to: str, text: str, key: str) -> None:
        """Hand one message over; raises ``DeliveryFailed`` when it was not taken."""


class HttpSmsGateway:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    async def send(self, *, to: str, text: str, key: str) -> None:
        await asyncio.to_thread(self._post, to, text, key)

    def _post(self, to: str, text: str, key: str) -> None:
        body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(BODY_SHOWN * 4).decode(errors="replace")[:BODY_SHOWN].strip()
            raise DeliveryFailed(f"{self.url}: HTTP {exc.code}" + (f": {detail}" if detail
                                                                      else "")) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise DeliveryFailed(f"{self.url}: {type(reason).__name__}: {reason}") from exc

"""Settings of messages to citizens (``Settings.notify``, ``HOTLINE_NOTIFY__*``).

    notify:
      sms_url: http://10.0.0.5:8080/sms          # the center's SMS gateway (POST {to, text})
      public_base_url: https://12345.example.gov.cn   # where citizens open the public pages

Without ``sms_url`` messages are still written to the outbox, marked ``no_gateway`` and listed
for supervisors (/supervisor/messages); none is dropped.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class NotifySettings(BaseModel):
    enabled: bool = True
    sms_url: str | None = None
    # The address of the public pages as a citizen's phone reaches them (the links in the
    # messages); None: http://<web.host>:<web.port>, which only the server itself can open.
    public_base_url: str | None = None
    signature: str = "【12345热线】"
    # Which messages web tickets get: when accepted (with the status lookup link) and when
    # the reply was approved (the satisfaction survey link).
    on_accepted: bool = True
    on_survey: bool = True
    timeout_seconds: float = Field(default=10.0, gt=0)  # one POST to the gateway
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=30.0, ge=0)  # doubled after each failed attempt
    backoff_max_seconds: float = Field(default=3600.0, ge=0)
    # A message taken by a sender that stopped before recording the outcome: its lease ends
    # after this long and it is marked failed (outcome unknown), never sent a second time.
    lease_seconds: float = Field(default=120.0, gt=0)
    interval_seconds: float = Field(default=10.0, gt=0)
    # Messages kept for want of a gateway go out once one is configured (at the next start)
    # if they are at most this old; older ones stay listed as no_gateway.
    resend_within_hours: float = Field(default=72.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> NotifySettings:
        if self.sms_url is not None and not self.sms_url.startswith(("http://", "https://")):
            raise ValueError(f"notify.sms_url must be an http(s) address, not {self.sms_url!r}")
        if self.sms_url and not self.public_base_url:
            raise ValueError("notify.sms_url is set but notify.public_base_url is not: the "
                             "links in the messages must open on a citizen's phone")
        if self.public_base_url is not None and not self.public_base_url.startswith(
                ("http://", "https://")):
            raise ValueError("notify.public_base_url must start with http:// or https://")
        if self.timeout_seconds >= self.lease_seconds:
            raise ValueError("notify.lease_seconds must be longer than notify.timeout_seconds")
        return self

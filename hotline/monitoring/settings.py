"""Settings of call monitoring (``Settings.monitoring``, ``HOTLINE_MONITORING__*``).

Permissions are named ``monitor_listen``, ``monitor_whisper`` and ``monitor_barge``. A user
holds those of their role (``roles``) plus those granted to them by name (``users``).
Supervisors listen by default; whispering and barging are granted explicitly::

    monitoring:
      roles: {supervisor: [monitor_listen], admin: [monitor_listen, monitor_whisper]}
      users: {zhang: [monitor_whisper, monitor_barge]}
      phones: {zhang: PJSIP/sup1}      # the phone that rings when zhang listens in
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

PERMISSIONS = ("monitor_listen", "monitor_whisper", "monitor_barge")


def _check(grants: dict[str, list[str]]) -> dict[str, list[str]]:
    for name, permissions in grants.items():
        unknown = sorted(set(permissions) - set(PERMISSIONS))
        if unknown:
            raise ValueError(f"{name}: unknown permission {', '.join(unknown)} "
                             f"(known: {', '.join(PERMISSIONS)})")
    return grants


class MonitoringSettings(BaseModel):
    roles: dict[str, list[str]] = Field(
        default_factory=lambda: {"supervisor": ["monitor_listen"]})
    users: dict[str, list[str]] = Field(default_factory=dict)
    # User name -> dial string of the phone (extension) that rings for their sessions.
    phones: dict[str, str] = Field(default_factory=dict)
    context: str = "hotline-monitor"  # asterisk-conf/extensions.conf, one exten per mode
    caller_id: str = '"监听" <12345>'
    ring_seconds: int = Field(default=20, ge=5)
    # A session still up after this long is no longer followed (its end is then unknown).
    max_seconds: float = Field(default=4 * 3600.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)

    @field_validator("roles", "users")
    @classmethod
    def _known_permissions(cls, grants: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check(grants)

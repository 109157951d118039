"""Settings: embedded defaults, then a settings file, then ``HOTLINE_*`` environment variables.

Every part of the program receives the ``Settings`` it needs from the composition root
(``hotline.app``); nothing reads a global settings object.

Example::

    settings = load_settings()                      # defaults + file + environment
    settings = load_settings(ami={"port": 15038})   # explicit overrides win over everything

Nested fields are set from the environment with ``__``: ``HOTLINE_AMI__PORT=15038``.
The settings file is YAML, named by ``HOTLINE_SETTINGS_FILE`` (default: ``hotline.yaml`` in
the project folder, if present).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hotline.errors import SettingsError
from hotline.intake.settings import IntakeSettings
from hotline.monitoring.settings import MonitoringSettings
from hotline.notify.settings import NotifySettings
from hotline.outbound.settings import OutboundSettings
from hotline.oversight.settings import OversightSettings
from hotline.retention.settings import RetentionSettings

PACKAGE_DIR = Path(__file__).resolve().parent


def default_home() -> Path:
    """The project folder: the checkout when run from one, else the working directory."""
    env = os.environ.get("HOTLINE_HOME")
    if env:
        return Path(env).resolve()
    checkout = PACKAGE_DIR.parent
    if (checkout / "ivr_flows").is_dir() and (checkout / "asterisk-conf").is_dir():
        return checkout
    return Path.cwd()


class AmiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "hotline"
    # None: generated on first run and kept in var/secrets.json (never a fixed default).
    secret: str | None = None
    connect_timeout: float = 10.0
    action_timeout: float = 10.0
    # Event classes we follow: channels (call), the queue (agent), boots (system). Dialplan
    # steps, variables, DTMF and RTCP reports would only cost parsing at 300 calls.
    events: str = "call,agent,system"


class AgiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 4573
    header_timeout: float = 5.0


class SipSettings(BaseModel):
    bind_host: str = "127.0.0.1"
    port: int = 5060
    hotline_number: str = "12345"
    rtp_start: int = 20000
    rtp_end: int = 30000
    # Local test/demo clients that call without authentication, matched by From user.
    open_callers: list[str] = Field(default_factory=lambda: ["sipp", "demo"])
    # Phones that register with user name and password: seats, emergency stand-ins, citizens.
    seats: list[str] = Field(default_factory=lambda: ["seat1", "seat2", "seat3"])
    phones: list[str] = Field(default_factory=lambda: ["citizen1", "citizen2", "unit1"])
    # Emergency lines: number -> dial string. The sandbox registers stand-in phones for them.
    emergency: dict[str, str] = Field(
        default_factory=lambda: {
            "110": "PJSIP/e110",
            "119": "PJSIP/e119",
            "120": "PJSIP/e120",
            "122": "PJSIP/e122",
        }
    )


class QueueSettings(BaseModel):
    name: str = "hotline"
    # How long a caller waits in the queue before being offered a message (seconds).
    max_wait: int = 300
    ring_seconds: int = 15
    announce_frequency: int = 30
    # Played every `periodic_frequency` seconds to waiting callers (sounds/zh).
    hold_text: str = (
        "感谢您的耐心等待。等待期间，常见问题请按1，留言请按2，预约回电请按3，紧急情况请按9。"
    )
    periodic_frequency: int = 20
    # Keys that take a waiting caller out of the queue (to self-service, a message, a call
    # back, emergency): the flows' queue exit keys must be among them.
    exit_keys: str = "1239"


class AsteriskSettings(BaseModel):
    """Which Asterisk: the sandbox (development, CI, `make run`) or an installed one."""

    mode: Literal["sandbox", "system"] = "sandbox"
    # system mode: where `hotline asterisk config write` puts the rendered files
    config_dir: Path = Path("/etc/asterisk")


# Paths of the project's folders as Asterisk sees them inside the sandbox (bind mounts).
SANDBOX_RECORDINGS = "/var/spool/hotline/recordings"
SANDBOX_PROMPTS = "/var/lib/hotline/prompts"
SANDBOX_SOUNDS_ZH = "/usr/share/asterisk/sounds/zh"


class SandboxSettings(BaseModel):
    """The development/CI Asterisk: Debian unstable in a chroot, built by debootstrap."""

    suite: str = "sid"
    packages: list[str] = Field(
        default_factory=lambda: ["asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm"]
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "hotline"
    )
    # Where the running copy lives; None: <home>/var/sandbox/root.
    root: Path | None = None
    boot_timeout: float = 60.0


class RecordingSettings(BaseModel):
    # None: <home>/recordings
    dir: Path | None = None
    # The same folder as Asterisk sees it (a chroot path in the sandbox); None: same as dir.
    asterisk_dir: str | None = None
    # A recording is complete when the call hung up and the file has not grown for this long.
    settle_seconds: float = 1.5


class PromptSettings(BaseModel):
    # None: <home>/var/prompts
    dir: Path | None = None
    asterisk_dir: str | None = None
    voice: str = "cmn-latn-pinyin"
    speed: int = 150


class IvrSettings(BaseModel):
    flows_dir: Path | None = None
    default_flow: str = "default"
    # Extra closed days (YYYY-MM-DD) besides the flow's own: holidays, closures.
    holidays: list[str] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"


class DbSettings(BaseModel):
    # None: the DATABASE_URL environment variable if set, else sqlite file <home>/var/hotline.db
    url: str | None = None


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Served over https (directly or behind a proxy): session cookies get the Secure flag.
    secure_cookies: bool = False
    # Replies' attachments: None: <home>/var/attachments (outside the web root)
    attachments_dir: Path | None = None
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # /public/figures: the units' rates of past months for everyone (公开制度); off by default
    public_figures: bool = False


class StreamSettings(BaseModel):
    """Live transcription of messages (``hotline.stt.live``): Asterisk sends the caller's
    audio to our AudioSocket server while the message is recorded."""

    enabled: bool = True
    host: str = "127.0.0.1"  # where the AudioSocket server listens
    port: int = 9093
    connect_host: str | None = None  # the address Asterisk dials; None: host
    connect_timeout: float = Field(default=5.0, gt=0)  # Asterisk connects within this
    settle_seconds: float = Field(default=2.0, ge=0)  # the message file closes within this


class SttSettings(BaseModel):
    """Speech recognition (``hotline.stt``): a model per language, the worker pool, retries."""

    # None: <home>/var/models
    models_dir: Path | None = None
    # Language -> model folder, relative to models_dir (or absolute). The Mandarin hotline
    # expects the small Chinese model; `hotline models install ARCHIVE --lang zh` puts it there.
    models: dict[str, str] = Field(default_factory=lambda: {"zh": "vosk-model-small-cn-0.22"})
    language: str = "zh"  # the language of recorded calls
    # Finished recordings of these kinds get a transcription job (full / caller / message).
    recording_kinds: list[str] = Field(default_factory=lambda: ["caller", "message"])
    workers: int | None = Field(default=None, ge=1)  # processes; None: os.cpu_count()
    # A job taken by a worker that stops renewing its lease is taken again after this long.
    lease_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=10.0, ge=0)  # doubled after each failed attempt
    backoff_max_seconds: float = Field(default=600.0, ge=0)
    poll_seconds: float = Field(default=5.0, gt=0)  # new jobs from other processes, models
    # Longer recordings fail at once, naming their length. A two-hour call is a real call and
    # is transcribed (streamed in chunks, its lease renewed); a day-long file is a mistake.
    max_audio_seconds: float | None = Field(default=4 * 3600.0, gt=0)
    stream: StreamSettings = Field(default_factory=StreamSettings)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(default_factory=default_home)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    asterisk: AsteriskSettings = Field(default_factory=AsteriskSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    recordings: RecordingSettings = Field(default_factory=RecordingSettings)
    prompts: PromptSettings = Field(default_factory=PromptSettings)
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    db: DbSettings = Field(default_factory=DbSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    stt: SttSettings = Field(default_factory=SttSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    oversight: OversightSettings = Field(default_factory=OversightSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if self.ami.secret is not None and not self.ami.secret.strip():
            raise ValueError("ami.secret is empty: leave it unset to have one generated")
        return self

    # Derived paths ---------------------------------------------------------------------
    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    @property
    def sandbox_root(self) -> Path:
        return self.sandbox.root or self.var_dir / "sandbox" / "root"

    @property
    def zh_sounds_dir(self) -> Path:
        """Mandarin versions of Asterisk's own sounds (queue announcements, digits)."""
        return self.prompts_dir / "sounds" / "zh"

    @property
    def recordings_dir(self) -> Path:
        return self.recordings.dir or self.home / "recordings"

    @property
    def prompts_dir(self) -> Path:
        return self.prompts.dir or self.var_dir / "prompts"

    @property
    def attachments_dir(self) -> Path:
        """Replies' photos and documents: outside ``web/``, served only through a role check."""
        return self.web.attachments_dir or self.var_dir / "attachments"

    @property
    def exports_dir(self) -> Path:
        """Exported files (kept ``retention.export_days``)."""
        return self.retention.exports_dir or self.var_dir / "exports"

    @property
    def flows_dir(self) -> Path:
        return self.ivr.flows_dir or self.home / "ivr_flows"

    @property
    def db_url(self) -> str:
        """db.url (settings file, HOTLINE_DB__URL), else DATABASE_URL, else the SQLite file."""
        return (self.db.url or os.environ.get("DATABASE_URL")
                or f"sqlite:///{self.var_dir / 'hotline.db'}")

    @property
    def ami_secret(self) -> str:
        if self.ami.secret:
            return self.ami.secret
        return generated_secret(self.var_dir, "ami")

    def asterisk_recordings_dir(self) -> str:
        if self.recordings.asterisk_dir:
            return self.recordings.asterisk_dir
        return SANDBOX_RECORDINGS if self.asterisk.mode == "sandbox" else str(self.recordings_dir)

    def asterisk_prompts_dir(self) -> str:
        if self.prompts.asterisk_dir:
            return self.prompts.asterisk_dir
        return SANDBOX_PROMPTS if self.asterisk.mode == "sandbox" else str(self.prompts_dir)

    def host_path(self, asterisk_path: str) -> Path:
        """Translate a path Asterisk reported (recording, prompt) to the host's path."""
        for ast_dir, host_dir in (
            (self.asterisk_recordings_dir(), self.recordings_dir),
            (self.asterisk_prompts_dir(), self.prompts_dir),
        ):
            if asterisk_path == ast_dir or asterisk_path.startswith(ast_dir.rstrip("/") + "/"):
                return host_dir / asterisk_path[len(ast_dir) :].lstrip("/")
        return Path(asterisk_path)

    def asterisk_path(self, host_path: Path) -> str:
        """Translate a host path under recordings/ or prompts/ to Asterisk's view of it."""
        for ast_dir, host_dir in (
            (self.asterisk_recordings_dir(), self.recordings_dir),
            (self.asterisk_prompts_dir(), self.prompts_dir),
        ):
            try:
                rel = host_path.resolve().relative_to(host_dir.resolve())
            except ValueError:
                continue
            return f"{ast_dir.rstrip('/')}/{rel}"
        return str(host_path)


def generated_secret(var_dir: Path, name: str) -> str:
    """A random secret made on first use and kept (mode 0600) in var/secrets.json."""
    path = var_dir / "secrets.json"
    data: dict[str, str] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SettingsError(f"{path}: unreadable secrets file ({exc})") from exc
    if name not in data:
        data[name] = secrets.token_urlsafe(24)
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return data[name]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(settings_file: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the YAML settings file, then HOTLINE_* variables, then ``overrides``."""
    path = settings_file or (
        Path(os.environ["HOTLINE_SETTINGS_FILE"]) if "HOTLINE_SETTINGS_FILE" in os.environ else None
    )
    file_data: dict[str, Any] = {}
    if path is None:
        candidate = default_home() / "hotline.yaml"
        path = candidate if candidate.exists() else None
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"{path}: cannot read settings file ({exc})") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: the settings file must hold a mapping")
        file_data = loaded
    env_settings = Settings()  # defaults + environment
    merged = _deep_merge(file_data, env_settings.model_dump(exclude_unset=True))
    merged = _deep_merge(merged, overrides)
    try:
        settings = Settings.model_validate(merged)
    except ValueError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
    if settings.ami.secret is None and not _is_loopback(settings.ami.host):
        # A generated secret is fine; what we refuse is an AMI exposed beyond loopback
        # without an explicit secret chosen by the administrator.
        raise SettingsError(
            f"ami.host is {settings.ami.host}: set ami.secret explicitly for a non-loopback AMI"
        )
    return settings


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out

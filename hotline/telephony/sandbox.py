"""The Asterisk sandbox: a real Asterisk 22 from Debian unstable, in a chroot.

Built once by debootstrap into a cache (``~/.cache/hotline/asterisk-sid``), copied into the
project (``var/sandbox/root``), configured from ``asterisk-conf/``, started in the foreground
as a child process and stopped by its PID. It shares the host's loopback, so host programs
reach 127.0.0.1:5060 (SIP) and :5038 (AMI). The project's ``recordings/`` and prompts folders
are bind-mounted into the chroot at the paths in ``hotline.config``.

Example::

    sandbox = Sandbox(settings)
    sandbox.up()          # build if missing, configure, start, wait for AMI FullyBooted
    sandbox.status()      # SandboxStatus(running=True, pid=..., booted=True)
    sandbox.down()
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hotline.config import SANDBOX_PROMPTS, SANDBOX_RECORDINGS, SANDBOX_SOUNDS_ZH, Settings
from hotline.errors import SandboxError
from hotline.telephony.asterisk_conf import render_config, write_config

log = logging.getLogger(__name__)

KEEP_STOCK = {"asterisk.conf"}


@dataclass(frozen=True)
class SandboxStatus:
    built: bool
    running: bool
    pid: int | None
    booted: bool
    root: Path

    def describe(self) -> str:
        if not self.built:
            return f"not built ({self.root} missing)"
        if not self.running:
            return f"stopped (root {self.root})"
        state = "fully booted" if self.booted else "starting"
        return f"running, pid {self.pid}, {state} (root {self.root})"


class Sandbox:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.sandbox_root
        self.state_dir = self.root.parent
        self.pid_file = self.state_dir / "asterisk.pid"
        self.log_file = self.state_dir / "asterisk.out"
        self.cache = settings.sandbox.cache_dir / f"asterisk-{settings.sandbox.suite}"
        self._child: int | None = None  # Asterisk's PID when this process started it

    # building ------------------------------------------------------------------------
    def build(self) -> Path:
        """Build the cached chroot if missing (debootstrap, about a minute)."""
        if (self.cache / "usr/sbin/asterisk").exists():
            return self.cache
        if os.geteuid() != 0:
            raise SandboxError("building the Asterisk sandbox needs root (debootstrap, chroot)")
        if shutil.which("debootstrap") is None:
            raise SandboxError("debootstrap is not installed: apt-get install debootstrap")
        tmp = self.cache.with_name(self.cache.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(self.settings.sandbox.packages),
            self.settings.sandbox.suite,
            str(tmp),
        ]
        log.info("building the Asterisk sandbox: %s", " ".join(cmd))
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not (tmp / "usr/sbin/asterisk").exists():
            tail = (result.stdout + result.stderr)[-2000:]
            raise SandboxError(f"debootstrap failed (exit {result.returncode}):\n{tail}")
        tmp.rename(self.cache)
        return self.cache

    def prepare(self) -> None:
        """Copy the cached chroot into the project (if missing) and write the configuration."""
        self.build()
        if not (self.root / "usr/sbin/asterisk").exists():
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cp", "-a", str(self.cache), str(self.root)], check=True)
        self.configure()

    def configure(self) -> None:
        etc = self.root / "etc/asterisk"
        for path in etc.iterdir():
            if path.is_file() and path.name not in KEEP_STOCK:
                path.unlink()
        write_config(render_config(self.settings, recordings_dir=SANDBOX_RECORDINGS), etc)
        # Asterisk looks up this machine's name (and A.ROOT-SERVERS.NET, for its own address)
        # on the calls it places; with the host's name server unreachable from the loopback-
        # only sandbox each lookup waited 5 s in a PJSIP thread. Our name from hosts, anything
        # else refused at once.
        names = {"hosts": f"127.0.0.1\tlocalhost {socket.gethostname()}\n::1\tlocalhost\n",
                 "resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"}
        for name, text in names.items():
            path = self.root / "etc" / name
            if path.is_symlink():
                path.unlink()  # never write through a link to the host's file
            path.write_text(text)

    # mounts --------------------------------------------------------------------------
    def _binds(self) -> list[tuple[Path, Path]]:
        return [
            (self.settings.recordings_dir, self.root / SANDBOX_RECORDINGS.lstrip("/")),
            (self.settings.prompts_dir, self.root / SANDBOX_PROMPTS.lstrip("/")),
            (self.settings.zh_sounds_dir, self.root / SANDBOX_SOUNDS_ZH.lstrip("/")),
        ]

    def _mounted(self, target: Path) -> bool:
        real = str(target.resolve())
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1] == real for line in mounts if len(line.split()) > 1)

    def _mount(self) -> None:
        for source, target in self._binds():
            source.mkdir(parents=True, exist_ok=True)
            target.mkdir(parents=True, exist_ok=True)
            if not self._mounted(target):
                subprocess.run(["mount", "--bind", str(source), str(target)], check=True)

    def rebind(self) -> None:
        """Point the running sandbox's recordings and prompts mounts at this settings' folders
        (tests record into a folder of their own while a developer's sandbox keeps running)."""
        for source, target in self._binds():
            source.mkdir(parents=True, exist_ok=True)
            target.mkdir(parents=True, exist_ok=True)
            while self._mounted(target):
                subprocess.run(["umount", "-l", str(target)], check=True)
            subprocess.run(["mount", "--bind", str(source), str(target)], check=True)

    def _unmount(self) -> None:
        for _, target in self._binds():
            if target.exists() and self._mounted(target):
                subprocess.run(["umount", "-l", str(target)], check=False)

    # running -------------------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if self._reaped(pid):
            return None
        if pid == self._child:
            return pid  # our own child, not reaped: alive (its cmdline may be mid-exec)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"asterisk" in cmdline else None

    def _reaped(self, pid: int) -> bool:
        """True when ``pid`` was our child and has exited (collects the zombie)."""
        if pid != self._child:
            return False
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            self._child = None
        return bool(done)

    def up(self) -> SandboxStatus:
        if os.geteuid() != 0:
            raise SandboxError("the Asterisk sandbox needs root (chroot, bind mounts)")
        self.prepare()
        if self._pid() is None:
            self._check_ports_free()
            self._mount()
            for stale in ("var/run/asterisk/asterisk.ctl", "var/run/asterisk/asterisk.pid"):
                (self.root / stale).unlink(missing_ok=True)
            # posix_spawn, not Popen: Asterisk outlives this object (and `hotline` itself).
            pid = os.posix_spawnp(
                "chroot",
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-f"],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, str(self.log_file),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                    *[(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()],
                ],
                setsid=True,
            )
            self._child = pid
            self.pid_file.write_text(str(pid))
        self.wait_booted()
        return self.status()

    def reload(self) -> None:
        """Re-render the configuration into a running sandbox and reload it."""
        self.configure()
        for command in ("module reload res_pjsip.so", "dialplan reload", "queue reload all",
                        "manager reload"):
            self.cli(command)

    def cli(self, command: str) -> str:
        result = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-rx", command],
            capture_output=True, text=True, timeout=30, check=False,
        )
        if result.returncode != 0:
            raise SandboxError(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
        return result.stdout

    def wait_booted(self) -> None:
        deadline = time.monotonic() + self.settings.sandbox.boot_timeout
        last_error = "not started"
        while time.monotonic() < deadline:
            if self._pid() is None:
                raise SandboxError(f"Asterisk exited during start-up:\n{self._log_tail()}")
            try:
                if ami_fully_booted(self.settings, timeout=2.0):
                    return
                last_error = "AMI did not report FullyBooted"
            except OSError as exc:
                last_error = f"AMI not reachable ({exc})"
            time.sleep(0.2)
        raise SandboxError(f"Asterisk did not boot in time: {last_error}\n{self._log_tail()}")

    def down(self) -> None:
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self._pid() is not None:
                time.sleep(0.1)
            if self._pid() is not None:
                os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
        self.pid_file.unlink(missing_ok=True)
        self._unmount()

    def kill(self) -> None:
        """Kill Asterisk abruptly (failure tests): no clean shutdown, mounts kept."""
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while self._pid() is not None:
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> SandboxStatus:
        pid = self._pid()
        booted = False
        if pid is not None:
            try:
                booted = ami_fully_booted(self.settings, timeout=2.0)
            except OSError:
                booted = False
        return SandboxStatus(
            built=(self.root / "usr/sbin/asterisk").exists(),
            running=pid is not None,
            pid=pid,
            booted=booted,
            root=self.root,
        )

    def _check_ports_free(self) -> None:
        sip = self.settings.sip
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((sip.bind_host, sip.port))
            except OSError as exc:
                raise SandboxError(
                    f"SIP port {sip.bind_host}:{sip.port}/udp is taken by another program "
                    f"({exc}); stop it or set HOTLINE_SIP__PORT"
                ) from exc

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _inherited_fds() -> list[int]:
    """Our open descriptors above 2 that a spawned program would inherit: e.g. the lock of
    ``flock LOCK make test``, which a long-lived Asterisk would otherwise hold forever."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                fds.append(fd)
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
    return fds


def ami_fully_booted(settings: Settings, *, timeout: float) -> bool:
    """Log in to AMI with a plain socket and wait for the FullyBooted event."""
    ami = settings.ami
    with socket.create_connection((ami.host, ami.port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        login = (
            f"Action: Login\r\nUsername: {ami.username}\r\nSecret: {settings.ami_secret}\r\n"
            "Events: system\r\n\r\n"
        )
        sock.sendall(login.encode())
        buffer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                return False
            if not chunk:
                return False
            buffer += chunk
            if b"Authentication failed" in buffer:
                raise SandboxError("AMI refused our login: the rendered manager.conf is stale")
            if b"Event: FullyBooted" in buffer:
                sock.sendall(b"Action: Logoff\r\n\r\n")
                return True
    return False

"""The sandbox's name lookups: Asterisk resolves this machine's name from the chroot's hosts
file and is refused at once for anything else, never through the host's files."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from hotline.config import Settings
from hotline.telephony.sandbox import Sandbox


def test_configure_writes_hosts_and_a_resolver_that_refuses_at_once(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parents[2] / "asterisk-conf", tmp_path / "asterisk-conf")
    box = Sandbox(Settings(home=tmp_path))
    etc = box.root / "etc"
    (etc / "asterisk").mkdir(parents=True)
    host_file = tmp_path / "host-resolv.conf"
    host_file.write_text("nameserver 10.255.255.53\n")
    (etc / "resolv.conf").symlink_to(host_file)

    box.configure()

    assert host_file.read_text() == "nameserver 10.255.255.53\n"  # not written through
    resolv = etc / "resolv.conf"
    assert not resolv.is_symlink()
    assert resolv.read_text().splitlines() == ["nameserver 127.0.0.1",
                                               "options timeout:1 attempts:1"]
    first = (etc / "hosts").read_text().splitlines()[0].split()
    assert first == ["127.0.0.1", "localhost", socket.gethostname()]
    assert (etc / "asterisk" / "pjsip.conf").is_file()  # the configuration as before

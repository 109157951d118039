"""Rendering the Asterisk configuration templates of ``asterisk-conf/`` from the settings."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from hotline.config import SANDBOX_RECORDINGS, AgiSettings, Settings, SipSettings
from hotline.errors import SettingsError
from hotline.telephony.asterisk_conf import TEMPLATE_NAMES, render_config, write_config

TEMPLATES = Path(__file__).resolve().parents[2] / "asterisk-conf"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        sip=SipSettings(
            hotline_number="12345", seats=["seat1", "seat2"], rtp_start=21000, rtp_end=22000
        ),
        agi=AgiSettings(host="127.0.0.1", port=14573),
    )


def section(text: str, name: str) -> str:
    """The lines of every ``[name]`` section of an Asterisk .conf file, joined."""
    out, inside = [], False
    for line in text.splitlines():
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            inside = header.group(1) == name
            continue
        if inside:
            out.append(line)
    return "\n".join(out)


def test_given_settings_when_rendering_then_every_template_is_rendered(settings: Settings) -> None:
    files = render_config(settings, template_dir=TEMPLATES)

    assert set(files) == set(TEMPLATE_NAMES)
    for name, text in files.items():
        assert "{{" not in text and "{%" not in text, name


def test_given_settings_when_rendering_then_dialplan_answers_the_hotline_number_over_agi(
    settings: Settings,
) -> None:
    files = render_config(settings, template_dir=TEMPLATES)

    dialplan = files["extensions.conf"]
    assert "exten => 12345,1," in dialplan
    assert "HOTLINE_AGI=agi://127.0.0.1:14573" in dialplan
    assert f"HOTLINE_RECDIR={SANDBOX_RECORDINGS}" in dialplan


def test_given_recordings_dir_when_rendering_then_dialplan_records_there(
    settings: Settings
) -> None:
    files = render_config(settings, recordings_dir="/srv/rec", template_dir=TEMPLATES)

    assert "HOTLINE_RECDIR=/srv/rec\n" in files["extensions.conf"]


def test_given_seats_when_rendering_then_each_seat_endpoint_has_its_generated_password(
    settings: Settings, tmp_path: Path
) -> None:
    files = render_config(settings, template_dir=TEMPLATES)

    secrets = json.loads((tmp_path / "var" / "secrets.json").read_text())
    pjsip = files["pjsip.conf"]
    passwords = set()
    for seat in ("seat1", "seat2"):
        body = section(pjsip, seat)
        assert "context=hotline-seat" in body
        assert f"password={secrets[f'sip:{seat}']}" in body
        passwords.add(secrets[f"sip:{seat}"])
        assert f"member => PJSIP/{seat}," in files["queues.conf"]
    assert len(passwords) == 2  # every seat has its own password
    assert "seat3" not in pjsip


def test_given_generated_ami_secret_when_rendering_then_manager_conf_holds_it(
    settings: Settings,
) -> None:
    files = render_config(settings, template_dir=TEMPLATES)

    manager = section(files["manager.conf"], "hotline")
    assert f"secret={settings.ami_secret}" in manager


def test_given_rtp_range_when_rendering_then_rtp_conf_uses_it(settings: Settings) -> None:
    files = render_config(settings, template_dir=TEMPLATES)

    assert "rtpstart=21000" in files["rtp.conf"]
    assert "rtpend=22000" in files["rtp.conf"]


def test_given_rendering_twice_when_comparing_then_passwords_are_stable(settings: Settings) -> None:
    first = render_config(settings, template_dir=TEMPLATES)
    second = render_config(settings, template_dir=TEMPLATES)

    assert first == second


def test_given_template_with_undefined_variable_when_rendering_then_settings_error_names_it(
    settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "templates"
    shutil.copytree(TEMPLATES, broken)
    (broken / "rtp.conf").write_text("[general]\nrtpstart={{ no_such_setting }}\n")

    with pytest.raises(SettingsError) as caught:
        render_config(settings, template_dir=broken)

    assert str(broken / "rtp.conf") in str(caught.value)
    assert "no_such_setting" in str(caught.value)


def test_given_missing_template_folder_when_rendering_then_settings_error(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match="templates not found"):
        render_config(settings, template_dir=tmp_path / "nowhere")


def test_given_rendered_files_when_writing_then_they_land_in_the_target(
    settings: Settings, tmp_path: Path
) -> None:
    files = render_config(settings, template_dir=TEMPLATES)
    target = tmp_path / "etc-asterisk"

    write_config(files, target)

    assert sorted(p.name for p in target.iterdir()) == sorted(files)
    assert (target / "rtp.conf").read_text() == files["rtp.conf"]

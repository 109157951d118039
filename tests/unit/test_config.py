"""Settings: embedded defaults, a YAML file, HOTLINE_* variables, explicit overrides; the
generated AMI secret; paths as Asterisk sees them in the sandbox."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hotline.config import SANDBOX_PROMPTS, SANDBOX_RECORDINGS, Settings, load_settings
from hotline.errors import SettingsError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HOTLINE_* variable of the developer's shell leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    # No settings file is found by default: the home points at an empty folder.
    monkeypatch.setenv("HOTLINE_HOME", str(tmp_path / "empty-home"))


def load(tmp_path: Path, settings_file: Path | None = None, **overrides: object) -> Settings:
    overrides.setdefault("home", tmp_path)
    return load_settings(settings_file, **overrides)


def test_given_nothing_configured_when_loading_then_embedded_defaults_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load(tmp_path)

    assert settings.home == tmp_path
    assert settings.ami.host == "127.0.0.1"
    assert settings.ami.port == 5038
    assert settings.ami.secret is None
    assert settings.agi.port == 4573
    assert settings.sip.hotline_number == "12345"
    assert settings.sip.seats == ["seat1", "seat2", "seat3"]
    assert settings.asterisk.mode == "sandbox"
    assert settings.recordings_dir == tmp_path / "recordings"
    assert settings.prompts_dir == tmp_path / "var" / "prompts"
    assert settings.db_url == f"sqlite:///{tmp_path / 'var' / 'hotline.db'}"


def test_given_database_url_in_environment_when_loading_then_it_is_the_database_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://hotline@/hotline?host=/run/pg")

    assert load(tmp_path).db_url == "postgresql+psycopg://hotline@/hotline?host=/run/pg"
    monkeypatch.setenv("HOTLINE_DB__URL", "sqlite:////srv/hotline.db")
    assert load(tmp_path).db_url == "sqlite:////srv/hotline.db"  # the settings' own url wins


def test_given_ami_port_in_environment_when_loading_then_it_overrides_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_AMI__PORT", "15038")

    settings = load(tmp_path)

    assert settings.ami.port == 15038
    assert settings.ami.host == "127.0.0.1"  # the rest of the section keeps its defaults


def test_given_yaml_settings_file_when_loading_then_its_values_apply(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(
        "sip:\n  hotline_number: '12346'\n  seats: [alice, bob]\nqueue:\n  max_wait: 120\n"
    )

    settings = load(tmp_path, path)

    assert settings.sip.hotline_number == "12346"
    assert settings.sip.seats == ["alice", "bob"]
    assert settings.sip.port == 5060  # untouched fields keep their defaults
    assert settings.queue.max_wait == 120


def test_given_settings_file_named_by_environment_when_loading_then_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("agi:\n  port: 14573\n")
    monkeypatch.setenv("HOTLINE_SETTINGS_FILE", str(path))

    assert load(tmp_path).agi.port == 14573


def test_given_file_environment_and_overrides_when_loading_then_overrides_win_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("ami:\n  port: 1001\n  username: from-file\nagi:\n  port: 1002\n")
    monkeypatch.setenv("HOTLINE_AMI__PORT", "2001")
    monkeypatch.setenv("HOTLINE_AGI__PORT", "2002")

    settings = load(tmp_path, path, agi={"port": 3002})

    assert settings.ami.port == 2001  # environment over file
    assert settings.ami.username == "from-file"  # file over defaults, merged per field
    assert settings.agi.port == 3002  # explicit override over environment and file


def test_given_broken_settings_file_when_loading_then_settings_error_names_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("ami: [unclosed\n")

    with pytest.raises(SettingsError, match="hotline.yaml"):
        load(tmp_path, path)


def test_given_settings_file_that_is_not_a_mapping_when_loading_then_settings_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("- just\n- a list\n")

    with pytest.raises(SettingsError, match="mapping"):
        load(tmp_path, path)


def test_given_unknown_field_when_loading_then_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="invalid settings"):
        load(tmp_path, amii={"port": 1})


def test_given_blank_secret_when_loading_then_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="secret"):
        load(tmp_path, ami={"secret": "   "})


# ---- the generated AMI secret -------------------------------------------------------------


def test_given_no_secret_when_asked_then_random_secret_is_persisted_with_mode_0600(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path)

    secret = settings.ami_secret

    path = tmp_path / "var" / "secrets.json"
    assert len(secret) >= 24
    assert json.loads(path.read_text())["ami"] == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "var" / "secrets.tmp").exists()


def test_given_secret_generated_when_loading_again_then_the_same_secret_is_used(
    tmp_path: Path,
) -> None:
    first = load(tmp_path).ami_secret

    second = load(tmp_path).ami_secret

    assert second == first


def test_given_two_fresh_homes_when_asked_then_their_secrets_differ(tmp_path: Path) -> None:
    one = load(tmp_path, home=tmp_path / "a").ami_secret
    two = load(tmp_path, home=tmp_path / "b").ami_secret

    assert one != two


def test_given_explicit_secret_when_asked_then_it_is_used_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path, ami={"secret": "chosen-by-admin"})

    assert settings.ami_secret == "chosen-by-admin"
    assert not (tmp_path / "var" / "secrets.json").exists()


def test_given_unreadable_secrets_file_when_asked_then_settings_error_names_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secrets.json").write_text("{not json")

    with pytest.raises(SettingsError, match="secrets.json"):
        _ = load(tmp_path).ami_secret


def test_given_non_loopback_ami_host_without_secret_when_loading_then_settings_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError, match="10.0.0.5"):
        load(tmp_path, ami={"host": "10.0.0.5"})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_given_loopback_ami_host_without_secret_when_loading_then_accepted(
    tmp_path: Path, host: str
) -> None:
    assert load(tmp_path, ami={"host": host}).ami.host == host


def test_given_non_loopback_ami_host_with_secret_when_loading_then_accepted(tmp_path: Path) -> None:
    settings = load(tmp_path, ami={"host": "10.0.0.5", "secret": "s3cret"})

    assert settings.ami_secret == "s3cret"


# ---- paths as Asterisk sees them ---------------------------------------------------------


def test_given_sandbox_mode_when_translating_recording_path_then_host_and_chroot_paths_map(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path)
    host_file = tmp_path / "recordings" / "2026" / "11" / "24" / "1795501598.2-full.wav"
    ast_file = f"{SANDBOX_RECORDINGS}/2026/11/24/1795501598.2-full.wav"

    assert settings.asterisk_recordings_dir() == SANDBOX_RECORDINGS
    assert settings.host_path(ast_file) == host_file
    assert settings.asterisk_path(host_file) == ast_file


def test_given_sandbox_mode_when_translating_prompt_path_then_host_and_chroot_paths_map(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path)
    host_file = tmp_path / "var" / "prompts" / "abc.wav"

    assert settings.host_path(f"{SANDBOX_PROMPTS}/abc.wav") == host_file
    assert settings.asterisk_path(host_file) == f"{SANDBOX_PROMPTS}/abc.wav"
    assert settings.host_path(SANDBOX_PROMPTS) == tmp_path / "var" / "prompts"


def test_given_path_outside_known_folders_when_translating_then_it_is_unchanged(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path)

    assert settings.host_path("/var/lib/asterisk/sounds/en/beep") == Path(
        "/var/lib/asterisk/sounds/en/beep"
    )
    # A sibling folder whose name merely starts like the recordings folder is not inside it.
    assert settings.host_path(SANDBOX_RECORDINGS + "-old/x.wav") == Path(
        SANDBOX_RECORDINGS + "-old/x.wav"
    )
    assert settings.asterisk_path(tmp_path / "elsewhere.wav") == str(tmp_path / "elsewhere.wav")


def test_given_system_mode_when_translating_then_asterisk_uses_host_paths(tmp_path: Path) -> None:
    settings = load(tmp_path, asterisk={"mode": "system"})
    host_file = tmp_path / "recordings" / "2026" / "x-full.wav"

    assert settings.asterisk_recordings_dir() == str(tmp_path / "recordings")
    assert settings.asterisk_path(host_file) == str(host_file)
    assert settings.host_path(str(host_file)) == host_file

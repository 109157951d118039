"""``hotline stt`` and ``hotline models list`` run as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_HOME": str(home), "HOTLINE_STT__LANGUAGE": "ko",
           "HOTLINE_STT__MODELS": '{"ko": "korean"}'}
    return subprocess.run([sys.executable, "-m", "hotline", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_given_an_uploaded_file_when_queued_then_listed_with_its_status(tmp_path: Path) -> None:
    upload = tmp_path / "upload.wav"
    upload.write_bytes(b"")

    queued = run_cli("stt", "enqueue", str(upload), home=tmp_path)
    listed = run_cli("stt", "jobs", "--json", home=tmp_path)
    none_done = run_cli("stt", "jobs", "--status", "done", home=tmp_path)

    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith("job 1 queued (ko)")
    (job,) = json.loads(listed.stdout)
    assert (job["status"], job["audio_path"], job["attempts"]) == ("queued", str(upload), 0)
    assert (none_done.returncode, none_done.stdout) == (0, "")


def test_given_no_model_installed_when_models_listed_then_exit_1_saying_how_to_install(
    tmp_path: Path,
) -> None:
    result = run_cli("models", "list", home=tmp_path)
    assert result.returncode == 1
    assert "hotline models install ARCHIVE --lang ko" in result.stdout
    assert str(tmp_path / "var" / "models" / "korean") in result.stdout


def test_given_no_model_when_a_file_is_transcribed_then_exit_2_with_one_clear_message(
    tmp_path: Path,
) -> None:
    result = run_cli("transcribe", str(tmp_path / "x.wav"), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"hotline: no speech model for language 'ko': {tmp_path / 'var' / 'models' / 'korean'}"
        " does not exist: install one with `hotline models install ARCHIVE --lang ko`"]

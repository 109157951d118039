"""The command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=60, check=False)


def test_given_shipped_flows_when_checked_then_exit_0_and_names_listed(tmp_path: Path) -> None:
    result = run_cli("flows", "check", env={"HOTLINE_IVR__FLOWS_DIR": str(REPO / "ivr_flows")})
    assert result.returncode == 0, result.stderr
    assert "default" in result.stdout and "menu" in result.stdout


def test_given_a_broken_flow_when_checked_then_exit_1_naming_file_line_and_node(
    tmp_path: Path,
) -> None:
    shutil.copy(REPO / "ivr_flows" / "menu.yaml", tmp_path / "menu.yaml")
    (tmp_path / "broken.yaml").write_text(
        "start: a\nnodes:\n  a:\n    kind: play\n    prompt: 你好\n    next: nowhere\n"
    )
    result = run_cli("flows", "check", env={"HOTLINE_IVR__FLOWS_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert f"{tmp_path / 'broken.yaml'}:3: node 'a':" in result.stderr
    assert "nowhere" in result.stderr
    assert "menu.yaml" not in result.stderr  # one broken file does not taint the others


def test_given_an_empty_database_when_calls_listed_as_json_then_an_empty_array(
    tmp_path: Path,
) -> None:
    result = run_cli("calls", "list", "--json",
                     env={"HOTLINE_DB__URL": f"sqlite:///{tmp_path / 'h.db'}"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_given_bad_settings_when_any_command_runs_then_exit_2_with_the_reason(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "hotline.yaml"
    settings.write_text("ami:\n  host: 10.1.2.3\n")
    result = run_cli("flows", "check", env={"HOTLINE_SETTINGS_FILE": str(settings)})
    assert result.returncode == 2
    assert "ami.host is 10.1.2.3" in result.stderr

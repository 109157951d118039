"""The composed application with transcription wired in: it starts, serves and reports the
transcription service even when the configured language has no model (jobs wait for one)."""

from __future__ import annotations

from pathlib import Path

from hotline.app import build_app
from hotline.config import load_settings
from tests.composed_app import TestClient, free_port


def test_given_no_model_for_the_language_when_the_app_starts_then_it_serves_and_stt_waits(
    tmp_path: Path,
) -> None:
    repo = Path(__file__).resolve().parents[2]
    settings = load_settings(
        db={"url": f"sqlite:///{tmp_path / 'h.db'}"},
        agi={"port": free_port()},
        ami={"port": free_port(), "connect_timeout": 0.2},
        recordings={"dir": str(tmp_path / "recordings")},
        prompts={"dir": str(repo / "var" / "prompts")},
        stt={"models_dir": str(tmp_path / "no-models"), "workers": 1},
    )
    with TestClient(build_app(settings)) as client:
        stt = client.get("/status").json()["stt"]
        assert stt["models"] == {} and "zh" in stt["missing_models"]
        assert stt["drafts"] == {"drafts_made": 0, "ready": True}
        assert client.get("/api/drafts").status_code == 401  # served, behind the login

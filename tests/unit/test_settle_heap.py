"""The served app puts what start-up made out of the garbage collector's full collections
(``gc.freeze``), once started; an app built without ``freeze_heap`` (tests, tools) does not."""

from __future__ import annotations

import gc
from pathlib import Path

from hotline.app import build_app
from tests.composed_app import TestClient, composed_settings


def test_given_freeze_heap_when_the_app_starts_then_the_heap_is_frozen(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        with TestClient(build_app(composed_settings(tmp_path / "plain"))):
            assert gc.get_freeze_count() == 0
        with TestClient(build_app(composed_settings(tmp_path / "served"), freeze_heap=True)):
            assert gc.get_freeze_count() > 10_000  # modules, jieba's dictionary, the app
    finally:
        gc.unfreeze()

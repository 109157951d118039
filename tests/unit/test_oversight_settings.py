"""settings.oversight: the defaults are the code's rules; a configured exclusion or deduction
replaces them (kinds not named keep their points); nonsense is refused at load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hotline.config import Settings
from hotline.oversight.definitions import DEFAULT_RULES, Deduction
from hotline.oversight.settings import rules_from_settings


def test_given_no_oversight_settings_then_the_rules_are_the_defaults(tmp_path: Path) -> None:
    assert rules_from_settings(Settings(home=tmp_path).oversight) == DEFAULT_RULES


def test_given_configured_matters_and_points_then_the_rules_hold_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_OVERSIGHT__EXCLUDED_MATTERS", '["SD-001", "ZF-003"]')
    monkeypatch.setenv("HOTLINE_OVERSIGHT__DEDUCTIONS", '{"redo": 2.5}')
    rules = rules_from_settings(Settings(home=tmp_path).oversight)
    assert rules.excluded_matters == frozenset({"SD-001", "ZF-003"})
    assert rules.deductions[Deduction.REDO] == 2.5
    assert rules.deductions[Deduction.LATE_SIGN] == DEFAULT_RULES.deductions[Deduction.LATE_SIGN]


@pytest.mark.parametrize("oversight", [
    {"deductions": {"redo": -1}},
    {"deductions": {"late": 1}},
    {"warnings_period": "custom"},
])
def test_given_wrong_oversight_settings_then_they_are_refused(tmp_path: Path,
                                                     oversight: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"home": tmp_path, "oversight": oversight})

"""The trainable part: TF-IDF over jieba words and character n-grams, logistic regression for
the request type and for the unit, fitted on labelled texts and stored as one file.

A model is trained from ``Example`` rows (text, type label, unit name; either label may be
missing). ``training`` makes them from the center's operator decisions, and from the
responsibility list's matters when there is no history yet.

The file is a pickle written by ``save_model`` under ``var/intake/``; ``load_model`` refuses a
file of another format version and names the file.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline.intake.errors import ModelFileError

if TYPE_CHECKING:
    from hotline.config import Settings

FORMAT = 1
FILE_NAME = "understanding-model.pkl"



@dataclass(frozen=True)
class Example:
    text: str
    type_label: str | None  # 咨询 / 求助 / 投诉 / 举报 / 建议 / 表扬
    unit: str | None


def words(text: str) -> list[str]:
    """Whole jieba words (the analyzer of the word features; module level so it pickles)."""
    from hotline.knowledge.search import words_of

    return words_of(text)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer=words, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
    ])


def _classifier(texts: Sequence[str], labels: Sequence[str]) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([
        ("features", _vectorizer()),
        ("classify", LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")),
    ])
    pipeline.fit(list(texts), list(labels))
    return pipeline


@dataclass
class IntakeModel:
    """Fitted classifiers (``None`` when there were too few labels) and what they saw."""

    type_model: Any
    unit_model: Any
    examples: int
    history: int  # how many of the examples came from operator decisions

    def type_proba(self, text: str) -> dict[str, float]:
        return _proba(self.type_model, text)

    def unit_proba(self, text: str) -> dict[str, float]:
        return _proba(self.unit_model, text)


def _proba(model: Any, text: str) -> dict[str, float]:
    if model is None:
        return {}
    row = model.predict_proba([text])[0]
    return {str(label): float(p) for label, p in zip(model.classes_, row, strict=True)}


def train_model(examples: Sequence[Example], *, history: int = 0) -> IntakeModel:
    """Fit both classifiers; one needs at least two distinct labels or it is left out."""
    typed = [(e.text, e.type_label) for e in examples if e.type_label]
    placed = [(e.text, e.unit) for e in examples if e.unit]
    type_model = _fit(typed)
    unit_model = _fit(placed)
    return IntakeModel(type_model, unit_model, examples=len(examples), history=history)


def _fit(pairs: Sequence[tuple[str, str | None]]) -> Any:
    labels = [label for _, label in pairs if label]
    if len(set(labels)) < 2:
        return None
    return _classifier([text for text, _ in pairs], labels)


def model_path(settings: Settings) -> Path:
    return settings.var_dir / "intake" / FILE_NAME


def save_model(model: IntakeModel, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as out:
        pickle.dump({"format": FORMAT, "model": model}, out)
    partial.replace(path)


def load_model(path: Path) -> IntakeModel:
    try:
        with path.open("rb") as source:
            data = pickle.load(source)  # noqa: S301 - our own file under var/
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ModelFileError(path, f"cannot be read ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(path, f"not a model of format {FORMAT}: run `hotline intake train`")
    model = data["model"]
    if not isinstance(model, IntakeModel):
        raise ModelFileError(path, "holds no understanding model")
    return model

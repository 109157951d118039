"""Understanding a request: type, unit, urgency, emergency line, location, callback number.

Works on any text (a transcript, a web form, an API call). The rules of ``rules`` decide the
emergency line and urgency; the request type and the unit come from cue phrases and the
responsibility list, blended with a model trained on the center's operator decisions when
one is present (``hotline intake train``).

    >>> understander = Understander.default()  # doctest: +SKIP
    >>> understander.understand("楼道里闻到很大的煤气味").unit.value  # doctest: +SKIP
    '燃气公司'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hotline.intake import rules
from hotline.intake.catalog import Catalog, catalog_from_session, default_catalog
from hotline.intake.model import IntakeModel, load_model, model_path
from hotline.knowledge.search import words_of
from hotline.tickets.models import TicketType

if TYPE_CHECKING:
    from sqlmodel import Session

    from hotline.config import Settings

T = TypeVar("T")

# The unit that takes an emergency alongside the line it is transferred to.
EMERGENCY_UNITS = {"110": "市公安局", "119": "市应急管理局", "120": "市卫健委",
                   "122": "市交通运输局"}
# How much the trained model counts against the list's keywords and the type cues (0..1).
MODEL_WEIGHT = 0.6
# Someone at risk now mostly asks for help, whatever else they say.
URGENT_HELP = 1.5


@dataclass(frozen=True)
class Guess(Generic[T]):
    value: T
    confidence: float  # 0..1


@dataclass(frozen=True)
class Understanding:
    request_type: Guess[TicketType]
    unit: Guess[str | None]
    matter_code: str | None
    urgent: Guess[bool]
    emergency: Guess[str | None]  # "110" / "119" / "120" / "122" or None
    location: str | None
    callback_number: str | None

    def as_json(self) -> dict[str, Any]:
        def guess(g: Guess[Any]) -> dict[str, Any]:
            value = g.value.value if isinstance(g.value, TicketType) else g.value
            return {"value": value, "confidence": round(g.confidence, 3)}

        return {
            "request_type": {**guess(self.request_type), "label": self.request_type.value.label},
            "unit": guess(self.unit),
            "matter_code": self.matter_code,
            "urgent": guess(self.urgent),
            "emergency": guess(self.emergency),
            "location": self.location,
            "callback_number": self.callback_number,
        }


class Understander:
    """Built once and reused; ``understand`` only reads, so threads may share one."""

    def __init__(self, catalog: Catalog, model: IntakeModel | None = None) -> None:
        self.catalog = catalog
        self.model = model
        self._places = catalog.place_names()

    @classmethod
    def default(
        cls, *, settings: Settings | None = None, model_file: Path | None = None
    ) -> Understander:
        """The shipped responsibility list, with a trained model file if there is one
        (``model_file``, else ``var/intake/`` of ``settings`` when given)."""
        return cls(default_catalog(), _model_if_any(settings, model_file))

    @classmethod
    def from_session(
        cls, session: Session, *, settings: Settings | None = None,
        model_file: Path | None = None,
    ) -> Understander:
        """The database's responsibility list, with the center's trained model if any."""
        catalog = catalog_from_session(session)
        if not catalog.matters:
            catalog = default_catalog()
        return cls(catalog, _model_if_any(settings, model_file))

    def understand(self, text: str) -> Understanding:
        text = " ".join(text.split())
        line, line_confidence = rules.emergency_line(text)
        urgent, urgent_confidence = rules.is_urgent(text)
        if line is not None:
            urgent, urgent_confidence = True, max(urgent_confidence, line_confidence)
        request_type = self._request_type(text, emergency=line is not None, urgent=urgent)
        unit, matter_code = self._unit(text, line)
        number = rules.find_callback_number(text)
        return Understanding(
            request_type=request_type,
            unit=unit,
            matter_code=matter_code,
            urgent=Guess(urgent, urgent_confidence),
            emergency=Guess(line, line_confidence),
            location=rules.find_location(text, self._places),
            callback_number=number.digits if number else None,
        )

    def _request_type(self, text: str, *, emergency: bool, urgent: bool) -> Guess[TicketType]:
        if emergency:
            return Guess(TicketType.HELP, 0.9)
        scores = rules.type_scores(text)
        if urgent:
            scores["求助"] += URGENT_HELP
        total = sum(scores.values())
        cue = {label: (score / total if total else 0.0) for label, score in scores.items()}
        if total == 0:
            cue = dict.fromkeys(rules.TYPE_LABELS, 0.0)
            cue["投诉"] = 0.4  # a caller who names no kind of request mostly complains
            cue["求助"] = 0.3
        learned = self.model.type_proba(text) if self.model else {}
        blended = _blend(cue, learned)
        label = max(blended, key=lambda k: blended[k])
        return Guess(TicketType.from_label(label), min(1.0, blended[label]))

    def _unit(self, text: str, line: str | None) -> tuple[Guess[str | None], str | None]:
        matched = self.catalog.match(text)
        if line is not None and EMERGENCY_UNITS[line] in self.catalog.parents:
            return Guess(EMERGENCY_UNITS[line], 0.9), matched[0][0].code if matched else None
        scores = self.catalog.unit_scores(text, set(words_of(text)))
        total = sum(scores.values())
        keyword = {unit: score / total for unit, score in scores.items()}
        learned = self.model.unit_proba(text) if self.model else {}
        learned = {u: p for u, p in learned.items() if u in self.catalog.parents}
        blended = _blend(keyword, learned)
        if not blended:
            return Guess(None, 0.0), None
        unit = max(blended, key=lambda k: blended[k])
        code = next((m.code for m, _ in matched
                     if (self.catalog.top_unit(m.main_unit) or m.main_unit) == unit), None)
        return Guess(unit, min(1.0, blended[unit])), code


def _blend(rule: dict[str, float], learned: dict[str, float]) -> dict[str, float]:
    if not learned:
        return rule
    if not any(rule.values()):
        return learned
    keys = set(rule) | set(learned)
    return {k: (1 - MODEL_WEIGHT) * rule.get(k, 0.0) + MODEL_WEIGHT * learned.get(k, 0.0)
            for k in keys}


def _model_if_any(settings: Settings | None, model_file: Path | None) -> IntakeModel | None:
    path = model_file or (model_path(settings) if settings is not None else None)
    if path is None or not path.exists():
        return None
    return load_model(path)

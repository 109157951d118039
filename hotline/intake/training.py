"""Training examples: the center's operator decisions, and the responsibility list to start.

History: every ticket with a description gives its request type (the operator's choice at
受理), and its latest dispatch gives the unit the operator chose (``DispatchChoice.chosen_main``,
scored as its top-level unit). The list gives one short example per matter name and keyword,
labelled with the matter's main unit, so that a center without history starts from its list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.intake.catalog import Catalog, catalog_from_session, default_catalog
from hotline.intake.model import Example, IntakeModel, save_model, train_model

if TYPE_CHECKING:
    from sqlmodel import Session

# Each operator decision counts this many times against one synthetic example of the list.
HISTORY_REPEAT = 3
AUTOMATIC = "system"  # the actor of automatic decisions (hotline.intake.drafts.SYSTEM)


def list_examples(catalog: Catalog) -> list[Example]:
    """One example per matter name and keyword, labelled with its top-level main unit."""
    examples = []
    for matter in catalog.matters:
        unit = catalog.top_unit(matter.main_unit)
        for word in matter.words():
            examples.append(Example(word, None, unit))
        examples.append(Example(" ".join(matter.words()), None, unit))
    return examples


def history_examples(session: Session, catalog: Catalog, *, limit: int = 50_000) -> list[Example]:
    """Tickets (newest first, up to ``limit``): type chosen at 受理, unit chosen at 派单."""
    from sqlmodel import col, select

    from hotline.tickets.models import DispatchChoice, Ticket, TicketType

    tickets = session.exec(
        select(Ticket).order_by(col(Ticket.created_at).desc()).limit(limit)
    ).all()
    chosen: dict[int, str] = {}
    # An automatic dispatch (``intake.auto_dispatch_confidence``, actor system) repeats the
    # model's own guess: only people's choices teach it (an operator's 改派 later still does).
    operators = col(DispatchChoice.actor) != AUTOMATIC
    for choice in session.exec(
        select(DispatchChoice).where(operators).order_by(col(DispatchChoice.id))
    ).all():
        chosen[choice.ticket_id] = choice.chosen_main  # the latest dispatch wins
    examples = []
    for ticket in tickets:
        text = ticket.description.strip() or (ticket.transcript or "").strip()
        if not text or ticket.id is None:
            continue
        request_type = TicketType(ticket.request_type)  # the column gives back a plain str
        kind = None if request_type is TicketType.OTHER else request_type.label
        unit = catalog.top_unit(chosen.get(ticket.id))
        examples.append(Example(text, kind, unit))
    return examples


@dataclass(frozen=True)
class TrainingReport:
    path: Path
    history: int
    from_list: int
    typed: int
    placed: int

    def describe(self) -> str:
        return (f"trained on {self.history} operator decisions and {self.from_list} list entries "
                f"({self.typed} with a type, {self.placed} with a unit); saved to {self.path}")


def train_from_session(session: Session, *, path: Path) -> tuple[IntakeModel, TrainingReport]:
    """Fit on the database's history and list, and save the model file to ``path``."""
    catalog = catalog_from_session(session)
    if not catalog.matters:
        catalog = default_catalog()
    history = history_examples(session, catalog)
    base = list_examples(catalog)
    examples = base + history * HISTORY_REPEAT
    model = train_model(examples, history=len(history))
    save_model(model, path)
    report = TrainingReport(
        path=path, history=len(history), from_list=len(base),
        typed=sum(1 for e in history if e.type_label), placed=sum(1 for e in history if e.unit),
    )
    return model, report

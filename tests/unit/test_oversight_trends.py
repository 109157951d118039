"""The pure rules of the analyses (``oversight.trends``): rising keys and repeat clusters."""

from __future__ import annotations

from datetime import datetime, timedelta

from hotline.oversight.trends import Dated, clusters, rising
from tests.unit.test_ticket_purity import FORBIDDEN, imported_modules, modules_reached

T = datetime(2026, 11, 23, 9, 0)


def test_given_the_trends_module_then_it_imports_no_io_library():
    for module, tree in modules_reached("hotline.oversight.trends").items():
        used = {name.split(".")[0] for name in imported_modules(tree)}
        assert not used & FORBIDDEN, f"{module} imports {sorted(used & FORBIDDEN)}"


def test_given_counts_then_a_key_rises_at_the_ratio_and_minimum_or_when_new():
    now = {"a": 6, "b": 5, "c": 3, "d": 4, "e": 2}
    before = {"a": 3, "b": 3, "c": 0, "e": 0}
    found = rising(now, before, ratio=2.0, minimum=3)
    # a: exactly twice; b: 5 < 6; c: new at the minimum; d: new; e: below the minimum.
    assert [(r.key, r.now, r.before, r.ratio) for r in found] == [
        ("a", 6, 3, 2.0), ("d", 4, 0, None), ("c", 3, 0, None)]


def test_given_tickets_of_a_key_then_runs_split_where_a_gap_exceeds_the_window():
    def d(n: str, hours: float, in_period: bool = True) -> tuple[str, Dated]:
        return "k", Dated(n, T + timedelta(hours=hours), in_period)

    keyed = [d("1", 0, False), d("2", 24), d("3", 48), d("4", 24 * 10),
             d("5", 24 * 20), d("6", 24 * 20 + 48)]
    found = clusters(keyed, window=timedelta(days=2), minimum=2)
    assert [[t.number for t in c.tickets] for c in found] == [["1", "2", "3"], ["5", "6"]]
    only_before = [d("1", 0, False), d("2", 1, False)]
    assert clusters(only_before, window=timedelta(days=2), minimum=2) == []

"""Small bar charts drawn on the server as SVG: no script, no library, readable without CSS.

    svg = bar_chart([Bar("08", 3), Bar("09", 7)], title="今日每小时来电")
    svg = stacked_bars([StackedBar("市城管局", [Segment("red", 2), Segment("green", 5)])],
                       title="各单位工单灯色")
    svg = trend_chart([Point("11-23", 5, 3), Point("11-24", 7, 4)], title="每日受理量",
                      legend=("本期", "上期"))

Bar lengths are proportional to the values (the longest bar fills the plot); every bar has a
``<title>`` with its label and value, and ``data-value`` for tests and tools. Labels are
escaped. The result is markup to place in a page as is (``Markup``).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


@dataclass(frozen=True)
class Segment:
    kind: str  # a CSS-safe name: the segment gets class "seg-<kind>"
    value: int


@dataclass(frozen=True)
class StackedBar:
    label: str
    segments: list[Segment]

    @property
    def total(self) -> int:
        return sum(s.value for s in self.segments)


@dataclass(frozen=True)
class Point:
    label: str
    value: int  # the period's
    earlier: int  # the compared period's


COLORS = {"red": "#d9363e", "yellow": "#e8a317", "green": "#2e9d5b", "bar": "#3b6fb6",
          "earlier": "#9aa3ad"}


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _open(kind: str, *, width: int, height: int, title: str) -> list[str]:
    """The start of a chart's SVG (``kind``: its class) with its title."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="{kind}" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
            f"<title>{escape(title)}</title>"]


def _axis_labels(labels: list[str], *, left: float, step: float, height: int,
                 last_inside: bool = False) -> list[str]:
    """The step labels under a line chart, thinned to about 16; ``last_inside``: the last
    one ends at its step instead of being centred on it."""
    every = max(1, -(-len(labels) // 16))
    out = []
    for i, label in enumerate(labels):
        if i % every == 0:
            anchor = "end" if last_inside and i == len(labels) - 1 and i else "middle"
            out.append(f'<text x="{_n(left + i * step)}" y="{height - 4}" font-size="9" '
                       f'text-anchor="{anchor}">{escape(label)}</text>')
    return out


def bar_chart(bars: list[Bar], *, title: str, width: int = 480, height: int = 140) -> Markup:
    """Vertical bars, a label under each; the tallest reaches the top of the plot."""
    top, bottom = 14, 16
    plot = height - top - bottom
    peak = max((b.value for b in bars), default=0)
    step = width / max(len(bars), 1)
    parts = _open("chart", width=width, height=height, title=title)
    for i, bar in enumerate(bars):
        h = plot * bar.value / peak if peak else 0.0
        x = i * step + step * 0.15
        y = top + plot - h
        w = step * 0.7
        label = escape(bar.label)
        parts.append(
            f'<rect class="bar" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'fill="{COLORS["bar"]}" data-label="{label}" data-value="{bar.value}">'
            f"<title>{label}: {bar.value}</title></rect>")
        if bar.value:
            parts.append(f'<text x="{_n(x + w / 2)}" y="{_n(y - 2)}" font-size="9" '
                         f'text-anchor="middle">{bar.value}</text>')
        parts.append(f'<text x="{_n(x + w / 2)}" y="{height - 4}" font-size="9" '
                     f'text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(rows: list[StackedBar], *, title: str, width: int = 480,
                 row_height: int = 18, label_width: int = 110) -> Markup:
    """Horizontal stacked bars, one row per label; the largest total fills the plot."""
    plot = width - label_width - 30
    peak = max((r.total for r in rows), default=0)
    height = max(len(rows), 1) * row_height + 4
    parts = _open("chart", width=width, height=height, title=title)
    for i, row in enumerate(rows):
        y = 2 + i * row_height
        label = escape(row.label)
        parts.append(f'<text x="{label_width - 4}" y="{y + row_height * 0.7:.1f}" '
                     f'font-size="11" text-anchor="end">{label}</text>')
        x = float(label_width)
        for seg in row.segments:
            w = plot * seg.value / peak if peak else 0.0
            kind = escape(seg.kind)
            parts.append(
                f'<rect class="seg seg-{kind}" x="{_n(x)}" y="{y + 2}" width="{_n(w)}" '
                f'height="{row_height - 4}" fill="{COLORS.get(seg.kind, COLORS["bar"])}" '
                f'data-label="{label}" data-kind="{kind}" data-value="{seg.value}">'
                f"<title>{label} {kind}: {seg.value}</title></rect>")
            x += w
        parts.append(f'<text x="{_n(x + 4)}" y="{y + row_height * 0.7:.1f}" '
                     f'font-size="10">{row.total}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(points: list[Point], *, title: str, legend: tuple[str, str],
                width: int = 640, height: int = 180) -> Markup:
    """Two lines over the same steps: the period (solid) and the compared one (dashed); the
    highest value of either reaches the top. Each point is a circle with ``data-series``
    (now, earlier), ``data-label`` and ``data-value``; the labels under the axis are thinned
    to about 16."""
    top, bottom, left = 16, 18, 6
    plot_h, plot_w = height - top - bottom, width - 2 * left
    peak = max((max(p.value, p.earlier) for p in points), default=0)
    step = plot_w / max(len(points) - 1, 1)
    parts = _open("chart trend", width=width, height=height, title=title)
    for series, color, dash, name in (("earlier", COLORS["earlier"], ' stroke-dasharray="4 3"',
                                       legend[1]), ("now", COLORS["bar"], "", legend[0])):
        xy = []
        for i, p in enumerate(points):
            value = p.value if series == "now" else p.earlier
            x = left + i * step
            y = top + plot_h - (plot_h * value / peak if peak else 0.0)
            xy.append((x, y, p.label, value))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} '
                     f'points="{" ".join(f"{_n(x)},{_n(y)}" for x, y, _, _ in xy)}"/>')
        for x, y, label, value in xy:
            text = escape(label)
            parts.append(f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="2.5" '
                         f'fill="{color}" data-series="{series}" data-label="{text}" '
                         f'data-value="{value}"><title>{escape(name)} {text}: {value}'
                         f"</title></circle>")
    parts += _axis_labels([p.label for p in points], left=left, step=step, height=height)
    parts.append(f'<text x="{width - left}" y="11" font-size="10" text-anchor="end">'
                 f'<tspan fill="{COLORS["bar"]}">— {escape(legend[0])}</tspan> '
                 f'<tspan fill="{COLORS["earlier"]}">- - {escape(legend[1])}</tspan></text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class RatePoint:
    label: str
    values: dict[str, tuple[int, int]]  # series → (numerator, denominator)


RATE_COLORS = {"response": "#3b6fb6", "handling": "#2e9d5b", "satisfaction": "#e8a317"}


def rates_chart(points: list[RatePoint], *, title: str, series: dict[str, str],
                width: int = 640, height: int = 180) -> Markup:
    """Lines of rates on a 0-100 % scale, one per ``series`` (key → legend name). A step
    whose denominator is 0 has no value: the line breaks there. Each point is a circle with
    ``data-series``, ``data-label``, ``data-numerator``, ``data-denominator`` and ``data-value``
    (the rate, 4 decimals)."""
    top, bottom, left = 16, 18, 30
    plot_h, plot_w = height - top - bottom, width - left - 8
    step = plot_w / max(len(points) - 1, 1)
    parts = _open("chart rates", width=width, height=height, title=title)
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{_n(y)}" y2="{_n(y)}" '
                     f'stroke="#ddd"/><text x="{left - 3}" y="{_n(y + 3)}" font-size="9" '
                     f'text-anchor="end">{pct}%</text>')
    for key, name in series.items():
        color = RATE_COLORS.get(key, COLORS["bar"])
        runs: list[list[str]] = []
        run: list[str] = []
        for i, p in enumerate(points):
            num, den = p.values.get(key, (0, 0))
            if not den:
                runs, run = runs + [run], []
                continue
            x, y = left + i * step, top + plot_h * (1 - num / den)
            run.append(f"{_n(x)},{_n(y)}")
            text = escape(p.label)
            parts.append(
                f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="2.5" fill="{color}" '
                f'data-series="{escape(key)}" data-label="{text}" data-numerator="{num}" '
                f'data-denominator="{den}" data-value="{round(num / den, 4)}"><title>'
                f"{escape(name)} {text}: {num / den * 100:.1f}% ({num}/{den})</title></circle>")
        parts += [f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                  f'points="{" ".join(r)}"/>' for r in [*runs, run] if len(r) > 1]
    parts += _axis_labels([p.label for p in points], left=left, step=step, height=height,
                          last_inside=True)
    legend = " ".join(f'<tspan fill="{RATE_COLORS.get(k, COLORS["bar"])}">— {escape(n)}'
                      f"</tspan>" for k, n in series.items())
    parts.append(f'<text x="{width - 8}" y="11" font-size="10" text-anchor="end">{legend}'
                 f"</text></svg>")
    return Markup("".join(parts))

"""Server-rendered SVG charts for the dashboard: bars by category and lines over days. Plain
SVG (no JavaScript), each with a title and a description; the figures are also in the
tables beside them, which screen readers use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

# Distinguishable in colour-blind vision and dark enough on white (WCAG non-text contrast).
PALETTE = ("#0b4fa0", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def bars(title: str, items: Sequence[tuple[str, float]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per item, labelled with its value."""
    width, row, label_w = 340, 30, 110
    height = row * max(len(items), 1) + 10
    top = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        length = (width - label_w - 70) * (value / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end" font-size="13">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row - 10}" fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 18}" font-size="13">'
            f"{escape(_fmt(value))}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(title: str, days: Sequence[date], series: Mapping[str, Sequence[float]]) -> Markup:
    """One line per series over the days, with a legend."""
    width, height, left, bottom, top_pad = 640, 220, 48, 24, 10
    top = max((v for values in series.values() for v in values), default=0) or 1
    n = max(len(days) - 1, 1)
    plot_w, plot_h = width - left - 8, height - bottom - top_pad

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 18 * len(series)}" width="100%" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" stroke="#555"/>',
        f'<text x="{left - 4}" y="{top_pad + 10}" text-anchor="end" font-size="11">{escape(_fmt(top))}</text>',
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    if days:
        parts.append(f'<text x="{left}" y="{height - 6}" font-size="11">{days[0]:%d %b}</text>')
        parts.append(f'<text x="{width - 8}" y="{height - 6}" text-anchor="end" font-size="11">{days[-1]:%d %b}</text>')
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        if len(values) == 1:
            parts.append(f'<circle cx="{x(0):.1f}" cy="{y(values[0]):.1f}" r="4" fill="{colour}"/>')
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        ly = height + 14 + 18 * k
        parts.append(
            f'<rect x="{left}" y="{ly - 10}" width="14" height="10" fill="{colour}"/>'
            f'<text x="{left + 20}" y="{ly}" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))

"""Charts drawn on the server as SVG: a page shows them with no script at all.

Three kinds, all in the page's language (the caller passes words, never codes):
    line_chart   a time series (one or a few lines over days, weeks or months), the last value labelled
    bar_chart    horizontal bars, one per row, the number at the end (optionally a link, optionally its own colour)
    donut        shares of a whole (supervision forms, cards by colour) with a legend saying count and per cent

Every label is escaped (``markupsafe.escape``); colours are accepted only as ``#rgb``/``#rrggbb`` (a card type's own
colour comes from configuration), anything else falls back to the palette. Each SVG carries a ``<title>`` and
``role="img"`` with an ``aria-label`` so a screen reader says what it shows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#b3261e", "#1f6feb", "#1a7f37", "#9a6700", "#8250df", "#0a7f8f", "#bf3989", "#59636e")
MUTED = "#59636e"
LINE = "#d0d7de"
FONT = "font-family=\"'PingFang SC','Noto Sans CJK SC','Microsoft YaHei','WenQuanYi Zen Hei',sans-serif\""
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def safe_colour(value: str | None, index: int = 0) -> str:
    """A configured colour if it is a plain hex colour, else the palette's ``index``-th."""
    return value if value and _HEX.match(value) else PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]
    colour: str | None = None
    dashed: bool = False  # a comparison (the period before, a year earlier)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    colour: str | None = None
    href: str | None = None
    note: str = ""  # after the number: "32%", "环比 +12%"


def _text(x: float, y: float, words: str, *, anchor: str = "start", size: int = 12, fill: str = MUTED, extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" {FONT}{extra}>'
            f"{escape(words)}</text>")


def _nice_max(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _empty(words: str) -> Markup:
    """Nothing to draw: said in words at the page's own size (not in a shrunken picture)."""
    return Markup(f'<p class="chart-empty">{escape(words)}</p>')


def _svg(width: int, height: int, title: str, body: list[str], css_class: str) -> Markup:
    label = escape(title)
    # Drawn at about its own size on a desk (up to 1.2 times), shrunk to fit a phone: never wider than its box.
    return Markup(f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" width="100%" style="max-width: {round(width * 1.2)}px" '
                  f'role="img" aria-label="{label}" '
                  f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
                  + "".join(body) + "</svg>")


def line_chart(title: str, labels: list[str], series: list[Series], *, empty: str = "—", width: int = 400, height: int = 230) -> Markup:
    """A time series: x labels (days, weeks, months), one polyline per series with a dot on each point."""
    left, right, top, bottom = 38, 16, 12, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(labels)
    if not n or not series:
        return _empty(empty)
    step = _nice_max(math.ceil(max((max(s.values, default=0) for s in series), default=0) / 4))
    top_value = 4 * step  # four steps of a whole number: a count's axis never reads 0.2
    body = []
    for i in range(5):  # gridlines and the y axis' numbers
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LINE}" stroke-width="1"/>')
        body.append(_text(left - 5, y + 5, str(step * i), anchor="end", size=14))

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_of(v: int) -> float:
        return top + plot_h - plot_h * v / top_value

    every = max(1, math.ceil(n / 5))  # at most about 5 labels under the axis
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            if i != n - 1 and n - 1 - i < every:  # too close to the last one, which is always shown
                continue
            # The first and last labels end inside the picture (a month's "2026-11" would be cut at the edge).
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            body.append(_text(x_of(i), height - bottom + 20, label, anchor=anchor, size=14))
    for index, s in enumerate(series):
        colour = safe_colour(s.colour, index)
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(s.values[:n]))
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}"><title>{escape(s.name)}</title></polyline>')
        if n <= 62:
            for i, v in enumerate(s.values[:n]):
                body.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3" fill="{colour}"><title>{escape(labels[i])}：{v}</title></circle>')
    if len(series) > 1:  # a legend under the axis labels, on as many lines as it needs
        x, y = left, height - 4
        for index, s in enumerate(series):
            name = s.name if len(s.name) <= 10 else s.name[:9] + "…"
            needed = 36 + 15 * len(name)
            if x > left and x + needed > width:
                x, y = left, y + 22
            colour = safe_colour(s.colour, index)
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            body.append(f'<line x1="{x}" x2="{x + 18}" y1="{y - 5}" y2="{y - 5}" stroke="{colour}" stroke-width="3"{dash}/>')
            body.append(_text(x + 22, y, name, size=15, fill="#1f2328"))
            x += needed
        height = y + 6
    return _svg(width, height, title, body, "line")


def bar_chart(title: str, bars: list[Bar], *, empty: str = "—", width: int = 400, label_width: int = 104) -> Markup:
    """Horizontal bars, longest first as given; a bar with ``href`` is a link (to the cases behind its number)."""
    if not bars:
        return _empty(empty)
    row, top = 30, 4
    height = top + row * len(bars) + 4
    top_value = max(max(b.value for b in bars), 1)
    value_space = 92
    plot_w = width - label_width - value_space
    body = []
    for i, b in enumerate(bars):
        y = top + i * row
        length = max(2.0, plot_w * b.value / top_value) if b.value else 0
        label = b.label if len(b.label) <= 6 else b.label[:5] + "…"  # the whole words in the bar's tooltip and the table
        body.append(_text(label_width - 6, y + 19, label, anchor="end", size=15, fill="#1f2328"))
        bar = (f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" rx="3" fill="{safe_colour(b.colour, 0)}" '
               f'stroke="#8c959f"><title>{escape(b.label)}：{b.value}</title></rect>')  # a white card shows on white
        number = _text(label_width + length + 5, y + 19, f"{b.value}" + (f" · {b.note}" if b.note else ""), size=14, fill="#1f2328")
        if b.href:
            body.append(f'<a href="{escape(b.href)}">{bar}{number}</a>')
        else:
            body.append(bar + number)
    return _svg(width, height, title, body, "bars")


def donut(title: str, parts: list[Bar], *, empty: str = "—", size: int = 150) -> Markup:
    """Shares of a whole as a ring, with a legend beside it: each part's words, count and per cent."""
    total = sum(max(p.value, 0) for p in parts)
    if not parts or total == 0:
        return _empty(empty)
    cx = cy = size / 2
    radius, ring = size / 2 - 14, 26
    circumference = 2 * math.pi * radius
    body = [f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{LINE}" stroke-width="{ring}"/>']
    offset = 0.0
    for i, p in enumerate(parts):
        share = p.value / total
        length = circumference * share
        colour = safe_colour(p.colour, i)
        body.append(f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{colour}" stroke-width="{ring}" '
                    f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
                    f'transform="rotate(-90 {cx} {cy})"><title>{escape(p.label)}：{p.value}（{share:.0%}）</title></circle>')
        offset += length
    body.append(_text(cx, cy + 8, str(total), anchor="middle", size=22, fill="#1f2328"))
    legend_x, row = size + 14, 28
    height = max(size, 10 + row * len(parts))
    for i, p in enumerate(parts):
        y = 10 + i * row
        share = round(100 * p.value / total)
        item = (f'<rect x="{legend_x}" y="{y}" width="16" height="16" rx="2" fill="{safe_colour(p.colour, i)}"/>'
                + _text(legend_x + 22, y + 14, f"{p.label[:8]}  {p.value} · {share}%", size=15, fill="#1f2328"))
        body.append(f'<a href="{escape(p.href)}">{item}</a>' if p.href else item)
    return _svg(size + 250, int(height), title, body, "donut")

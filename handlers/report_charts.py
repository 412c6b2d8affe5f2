"""The report's charts as PNG images readable on a phone: pure rendering, no Telegram.

matplotlib's object API only (`Figure` + `FigureCanvasAgg`, never pyplot, whose global
figure state is not thread-safe): the caller renders in `asyncio.to_thread`. Four images
at most, each 1080 px wide with large type: the pipeline (funnel, wins over time), new
customers (by source, by region, all by category), activity (per salesperson, top
customers) and tickets (counts, satisfaction by salesperson and by type). A panel without
data is left out, an image without panels is not made.

Each image comes with the numbers it plotted (`Panel`), so tests check those against the
storage numbers instead of pixels.

Chinese labels need a CJK font: `use_font` registers, in order, the configured
`reports.font_path`, the Noto Sans SC shipped by the `pylopdf-fonts-zh-cn` package, or a
CJK font installed on the system; with none, Chinese would render as boxes and a warning
is logged.
"""

from __future__ import annotations

import io
import itertools
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib
from babel.dates import format_date
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from handlers.formatting import currency_name
from handlers.i18n import Translator
from storage.reports import Report, Tally

logger = logging.getLogger(__name__)

WIDTH_IN, DPI = 10.8, 100  # 1080 px
PANEL_HEIGHT_IN = 6.0
DATE_POINTS = 20  # type size of the dates under the bars over time
SYSTEM_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
)
STYLE = {
    "font.size": 24,
    "axes.titlesize": 30,
    "axes.titlepad": 14,
    "figure.constrained_layout.w_pad": 0.3,  # inches of margin: nothing touches the edge
    "figure.constrained_layout.h_pad": 0.3,
    "figure.constrained_layout.hspace": 0.06,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,  # a "$" in a name or amount is text, not TeX
}
_DAY = {"en": ("d MMM", "en"), "zh": ("M月d日", "zh_Hans_CN")}
_font_lock = threading.Lock()
_font_family: list[str] = []


@dataclass(frozen=True)
class Panel:
    """One plotted series: its title, bar labels and the values the bars stand for."""

    name: str
    title: str
    labels: list[str]
    values: list[float]


@dataclass(frozen=True)
class Chart:
    png: bytes
    panels: list[Panel]


def use_font(configured: str | None = None) -> str | None:
    """Register a CJK font once and make it the default family; its name, or None."""
    with _font_lock:
        if not _font_family:
            _font_family.append(_register_cjk_font(configured) or "")
            family = [name for name in (_font_family[0], "DejaVu Sans") if name]
            style: Any = {**STYLE, "font.sans-serif": family}  # rcParams keys are Literals
            matplotlib.rcParams.update(style)
        return _font_family[0] or None


def _register_cjk_font(configured: str | None) -> str | None:
    for path in _candidate_files(configured):
        try:
            font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError) as exc:
            logger.warning("cannot load report font %s: %s", path, exc)
            continue
        return str(font_manager.FontProperties(fname=str(path)).get_name())
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in SYSTEM_CJK_FONTS:
        if name in installed:
            return name
    logger.warning("no CJK font found: Chinese chart labels will not render (reports.font_path)")
    return None


def _candidate_files(configured: str | None) -> list[Path]:
    paths = [Path(configured)] if configured else []
    if configured and not paths[0].is_file():
        logger.warning("reports.font_path %s is not a file: using the bundled font", configured)
    try:
        import pylopdf_fonts_zh_cn  # noqa: PLC0415 (optional: the system may provide a font)

        paths.append(pylopdf_fonts_zh_cn.sans_path())
    except ImportError:
        pass
    return [path for path in paths if path.is_file()]


def render_charts(t: Translator, report: Report, *, font_path: str = "") -> list[Chart]:
    """Every image that has data, in reading order."""
    use_font(font_path or None)
    charts = (
        _pipeline(t, report),
        _customers(t, report),
        _activity(t, report),
        _tickets(t, report),
    )
    return [chart for chart in charts if chart is not None]


def _pipeline(t: Translator, report: Report) -> Chart | None:
    """The funnel (how far the period's deals got), where they are now, wins over time."""
    ladder = [s for s in report.funnel if s.reached]
    funnel = Panel(
        "funnel",
        t("report.chart.funnel"),
        [_label(t, "deal.stage", s.stage) for s in ladder],
        [float(s.reached) for s in ladder],
    )
    now = [s for s in report.funnel if s.count]
    stages = Panel(
        "stages",
        t("report.chart.stages", currency=currency_name(report.currency, lang=t.language)),
        [_label(t, "deal.stage", s.stage) for s in now],
        [float(s.totals.get(report.currency, 0)) for s in now],
    )
    notes = {
        "funnel": [
            f"{s.reached}" + (f" · {s.conversion:.0%}" if s.conversion is not None else "")
            for s in ladder
        ],
        "stages": [f"{s.count} · {_number(v)}" for s, v in zip(now, stages.values, strict=True)],
    }
    by_week = report.period.kind != "week"
    won = Panel(
        "won",
        t(
            "report.chart.won_weekly" if by_week else "report.chart.won_daily",
            currency=currency_name(report.currency, lang=t.language),
        ),
        [_day(t.language, b.first) for b in report.won_over_time],
        [float(b.amount) for b in report.won_over_time],
    )
    panels = [p for p in (funnel, stages) if p.labels]
    if report.won:
        panels.append(won)
    return _figure(panels, notes=notes)


def _customers(t: Translator, report: Report) -> Chart | None:
    panels = [
        _tally_panel(t, "source", "report.chart.source", report.new_by_source, "customer.source"),
        _tally_panel(t, "region", "report.chart.region", report.new_by_region, None),
        _tally_panel(
            t, "category", "report.chart.category", report.categories, "customer.category"
        ),
    ]
    return _figure([p for p in panels if p.values])


def _activity(t: Translator, report: Report) -> Chart | None:
    activities = _tally_panel(t, "activities", "report.chart.activities", report.activities, None)
    top = Panel(
        "top_customers",
        t("report.chart.top_customers", currency=currency_name(report.currency, lang=t.language)),
        [c.name for c in report.top_customers],
        [float(c.amount.amount) for c in report.top_customers],
    )
    return _figure([p for p in (activities, top) if p.values])


def _tickets(t: Translator, report: Report) -> Chart | None:
    """The period's tickets (opened, resolved, overdue), and the satisfaction of those resolved
    by salesperson and by type."""
    figures = report.tickets
    if figures.empty:
        return None
    counts = Panel(
        "tickets",
        t("ticket_report.chart.counts"),
        [t(f"ticket_report.chart.{k}") for k in ("opened", "resolved", "overdue")],
        [float(figures.opened), float(figures.resolved), float(figures.overdue)],
    )
    owners = Panel(
        "ticket_owners",
        t("ticket_report.chart.by_owner"),
        [r.key for r in figures.by_owner],
        [round(r.average, 1) for r in figures.by_owner],
    )
    types = Panel(
        "ticket_types",
        t("ticket_report.chart.by_type"),
        [_label(t, "ticket.type", r.key) for r in figures.by_type],
        [round(r.average, 1) for r in figures.by_type],
    )
    return _figure([p for p in (counts, owners, types) if p.values])


def _tally_panel(
    t: Translator, name: str, title: str, tallies: list[Tally], prefix: str | None
) -> Panel:
    return Panel(
        name,
        t(title),
        [_label(t, prefix, tally.key) for tally in tallies],
        [float(tally.count) for tally in tallies],
    )


def _label(t: Translator, prefix: str | None, key: str | None) -> str:
    """A stored value as the reader knows it: its catalog label if it has one."""
    if key is None:
        return t("report.not_set")
    if key == "":
        return t("report.other")
    if prefix and t.has(f"{prefix}.{key}"):
        return t(f"{prefix}.{key}")
    return key


def _day(language: str, day: object) -> str:
    pattern, locale = _DAY.get(language, _DAY["en"])
    return str(format_date(day, pattern, locale=locale))  # type: ignore[arg-type]


def render_panels(panels: list[Panel], *, font_path: str = "") -> Chart | None:
    """Bars of any `panels` in the report's style (other commands' charts: /quality)."""
    use_font(font_path or None)
    return _figure(panels)


def _figure(panels: list[Panel], notes: dict[str, list[str]] | None = None) -> Chart | None:
    if not panels:
        return None
    figure = draw(panels, notes)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return Chart(buffer.getvalue(), panels)


def draw(panels: list[Panel], notes: dict[str, list[str]] | None = None) -> Figure:
    """The laid-out figure of `panels`, one under the other (tests measure it)."""
    heights = [_height(panel) for panel in panels]
    figure = Figure(figsize=(WIDTH_IN, sum(heights)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, panel in zip(axes, panels, strict=True):
        if panel.name == "won":
            _columns(ax, panel)
        else:
            _bars(ax, panel, (notes or {}).get(panel.name))
    figure.draw_without_rendering()  # lays the figure out: the axes' final widths are known
    for ax, panel in zip(axes, panels, strict=True):
        if panel.name == "won":
            _space_dates(figure, ax, panel)
    return figure


def _height(panel: Panel) -> float:
    if panel.name == "won":
        return PANEL_HEIGHT_IN
    return max(3.0, 1.2 + 0.75 * len(panel.labels))


def _bars(ax: Axes, panel: Panel, notes: list[str] | None) -> None:
    """Horizontal bars, first item on top, each with its number at the end."""
    positions = list(range(len(panel.values)))
    bars = ax.barh(positions, panel.values, color="#3b7dd8")
    ax.set_yticks(positions, [_short(label) for label in panel.labels])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=notes or [_number(v) for v in panel.values], padding=8)
    ax.set_title(panel.title, loc="left")
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlim(0, max(panel.values) * 1.45 or 1)  # room for the number after the bar


def _columns(ax: Axes, panel: Panel) -> None:
    """Vertical bars over time, every date written (`_space_dates` thins them once laid out)."""
    positions = list(range(len(panel.values)))
    ax.bar(positions, panel.values, color="#2e9e5b")
    ax.set_xticks(positions, panel.labels)
    ax.tick_params(axis="x", labelsize=DATE_POINTS)
    ax.set_title(panel.title, loc="left")
    ax.yaxis.set_major_formatter(lambda value, _pos: _number(value))
    ax.set_ylim(0, max(panel.values) * 1.15 or 1)


def _space_dates(figure: Figure, ax: Axes, panel: Panel) -> None:
    """Every date, else every second, third, ...: the first step whose labels keep a gap of
    half their type size between them as drawn (the width of "11月29日" or "29 Nov" depends on
    the font and language, so it is measured, not guessed)."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    positions = list(range(len(panel.labels)))
    for step in range(1, len(positions) + 1):
        ax.set_xticks(positions[::step], panel.labels[::step])
        boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
        gap = min((b.x0 - a.x1 for a, b in itertools.pairwise(boxes)), default=float("inf"))
        if gap >= DATE_POINTS * DPI / 72 / 2:
            return


def _number(value: float) -> str:
    return f"{Decimal(str(value)).normalize():,f}"


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"

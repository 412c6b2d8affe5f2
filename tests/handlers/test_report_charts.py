"""Report charts: real PNGs 1080 px wide whose plotted numbers are the report's numbers, no
image without data, translated labels, and a CJK font that really has the Chinese glyphs."""

from __future__ import annotations

import asyncio
import io
import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from matplotlib import font_manager, ft2font
from matplotlib.image import imread

from handlers.i18n import Catalogs
from handlers.report import render_report
from handlers.report_charts import Chart, draw, render_charts, use_font
from storage.db import Database
from storage.models import Role
from storage.reports import Report, Tally, report_period
from storage.ticket_figures import Rating, TicketFigures
from tests.factories import make_member
from tests.storage.test_reports import STAGES, TZ, customer, deal, note, report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def panels(charts: list[Chart]) -> dict[str, tuple[list[str], list[float]]]:
    return {p.name: (p.labels, p.values) for chart in charts for p in chart.panels}


def seeded_report(db: Database) -> Report:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER, display_name="Mia")
        li = make_member(session, manager=manager, display_name="Li")
        deal(session, li, ["lead", "qualified"], "100")
        deal(session, li, ["lead", "won"], "1000")
        deal(session, manager, ["lead"], "50")
        customer(session, li, source="referral", region="上海", category="loyal")
        note(session, li)
        note(session, li)
        note(session, manager)
        return report(session, manager)


def test_charts_are_pngs_1080_wide_plotting_the_report_numbers(
    db: Database, catalogs: Catalogs
) -> None:
    data = seeded_report(db)
    charts = render_charts(catalogs.translator("en"), data)
    assert len(charts) == 3
    for chart in charts:
        assert chart.png.startswith(PNG_MAGIC)
        height, width, _ = imread(io.BytesIO(chart.png), format="png").shape
        assert width == 1080
        assert 300 <= height <= 2400
    plotted = panels(charts)
    ladder = [s for s in data.funnel if s.reached or s.count]
    assert plotted["funnel"] == (
        ["Lead", "Qualified", "Proposal", "Negotiation", "Won"],
        [float(s.reached) for s in ladder],
    )
    assert plotted["funnel"][1] == [3.0, 2.0, 1.0, 1.0, 1.0]
    assert plotted["stages"] == (
        ["Lead", "Qualified", "Won"],
        [float(s.totals["CNY"]) for s in data.funnel if s.count],
    )
    assert plotted["stages"][1] == [50.0, 100.0, 1000.0]
    assert plotted["won"][1] == [float(b.amount) for b in data.won_over_time]
    assert sum(plotted["won"][1]) == 1000.0
    assert plotted["activities"] == (["Li", "Mia"], [2.0, 1.0])
    assert plotted["source"][1] == [float(t.count) for t in data.new_by_source]
    assert "上海" in plotted["region"][0]
    assert plotted["category"][1] == [float(t.count) for t in data.categories]


def test_labels_are_translated_for_a_chinese_reader(db: Database, catalogs: Catalogs) -> None:
    charts = render_charts(catalogs.translator("zh"), seeded_report(db))
    titles = [p.title for chart in charts for p in chart.panels]
    assert titles[0] == catalogs.translator("zh")("report.chart.funnel")
    assert panels(charts)["funnel"][0][0] == catalogs.translator("zh")("deal.stage.lead")
    zh = catalogs.translator("zh")
    assert panels(charts)["category"][0] == [zh("report.not_set"), zh("customer.category.loyal")]
    # The currency is named ("人民币"), not coded ("CNY").
    assert zh("report.chart.won_daily", currency="人民币") in titles
    assert not [title for title in titles if "CNY" in title]


async def test_a_quiet_period_gets_no_image(catalogs: Catalogs) -> None:
    period = report_period("week", last=date(2031, 1, 15), tz=TZ)
    empty = Report(period, "CNY", [], [], [], [], [], [], [], [Tally("loyal", 3)])
    assert empty.empty
    assert await render_report(catalogs.translator("en"), empty, font_path="") == []
    charts = render_charts(catalogs.translator("en"), empty)  # the snapshot alone, if asked
    assert [p.name for chart in charts for p in chart.panels] == ["category"]


def test_panels_without_data_are_left_out(catalogs: Catalogs) -> None:
    period = report_period("month", last=date(2031, 1, 15), tz=TZ)
    data = Report(period, "CNY", [], [], [], [], [], [Tally("Li", 4)], [], [])
    charts = render_charts(catalogs.translator("en"), data)
    assert [[p.name for p in chart.panels] for chart in charts] == [["activities"]]


def test_cjk_font_is_found_and_has_the_chinese_glyphs() -> None:
    name = use_font()
    assert name is not None, "no CJK font: Chinese labels would render as boxes"
    path = font_manager.findfont(
        font_manager.FontProperties(family=name), fallback_to_default=False
    )
    font = ft2font.FT2Font(path)
    for character in "销售漏斗新客户赢单":
        assert font.get_char_index(ord(character)) != 0, character


@pytest.mark.parametrize("stages", [STAGES])
def test_rendering_a_quarter_with_many_weeks_stays_readable(
    catalogs: Catalogs, stages: list[str]
) -> None:
    from storage.reports import Bucket, FunnelStage  # noqa: PLC0415

    period = report_period("quarter", last=date(2031, 3, 31), tz=TZ)
    weeks = [Bucket(period.first + timedelta(days=7 * i), 1, Decimal(i)) for i in range(14)]
    funnel = [FunnelStage(s, 1, {}, 1, None) for s in stages]
    data = Report(period, "CNY", funnel, weeks, [], [], [], [], [], [])
    charts = render_charts(catalogs.translator("en"), data)
    assert panels(charts)["won"][1] == [float(i) for i in range(14)]


async def test_rendering_leaves_the_event_loop_free(db: Database, catalogs: Catalogs) -> None:
    """While the charts are drawn (~0.1-0.3 s an image), other chats' updates go on."""
    data = seeded_report(db)
    ticks = 0

    async def other_work() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.002)

    task = asyncio.create_task(other_work())
    charts = await render_report(catalogs.translator("en"), data, font_path="")
    task.cancel()
    assert len(charts) == 3
    assert ticks >= 10


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("kind", "buckets", "days"), [("week", 7, 1), ("quarter", 14, 7)])
def test_dates_under_the_bars_never_run_together(
    catalogs: Catalogs, language: str, kind: str, buckets: int, days: int
) -> None:
    """ "11月29日11月30日": each written date keeps a gap to the next, as drawn."""
    from storage.reports import Bucket  # noqa: PLC0415

    use_font()
    first = date(2031, 11, 24)
    won = [
        Bucket(first + timedelta(days=days * i), 1, Decimal(1250000 + i)) for i in range(buckets)
    ]
    data = Report(report_period(kind, last=date(2031, 12, 31), tz=TZ), "CNY", [], won,
                  [], [], [], [], [], [])  # fmt: skip
    charts = render_charts(catalogs.translator(language), data)
    won_panel = next(p for chart in charts for p in chart.panels if p.name == "won")
    figure = draw([won_panel])
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    written = [label for label in figure.axes[0].get_xticklabels() if label.get_text()]
    assert len(written) >= buckets // 3  # thinned, not emptied
    boxes = [label.get_window_extent(renderer) for label in written]
    for left, right in itertools.pairwise(boxes):
        assert right.x0 - left.x1 >= 10, [label.get_text() for label in written]


async def test_a_period_with_only_tickets_gets_their_chart(catalogs: Catalogs) -> None:
    """Counts, then the satisfaction by salesperson and by type (labels translated)."""
    period = report_period("week", last=date(2031, 1, 15), tz=TZ)
    figures = TicketFigures(
        opened=3,
        resolved=2,
        overdue=1,
        median_to_resolve=timedelta(hours=36),
        by_owner=[Rating("Li", 3.5, 2)],
        by_type=[Rating("repair", 4.0, 1), Rating("installation", 3.0, 1)],
    )
    data = Report(period, "CNY", [], [], [], [], [], [], [], [], tickets=figures)
    charts = await render_report(catalogs.translator("en"), data, font_path="")
    assert panels(charts) == {
        "tickets": (["Opened", "Resolved", "Overdue"], [3.0, 2.0, 1.0]),
        "ticket_owners": (["Li"], [3.5]),
        "ticket_types": (["Repair", "installation"], [4.0, 3.0]),
    }

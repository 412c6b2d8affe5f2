"""The page buttons of the lists shown a page at a time (/deals, /reminders, /today, /week).

The lists' modules build their pages with `handlers.paging`, which therefore cannot import
them; this module names each list's page function for the one route of the page buttons.
"""

from __future__ import annotations

from handlers import agenda, pipeline, reminders
from handlers.feature import Feature
from handlers.paging import page_route

# The name in a list's page buttons (`ListPage.list_name`) -> the function showing a page.
PAGED_LISTS = {
    "deals": pipeline.deals_page,
    "rem": reminders.reminders_page,
    "today": agenda.today_page,
    "week": agenda.week_page,
}

FEATURE = Feature(name="paged_lists", routes=(page_route(PAGED_LISTS),))

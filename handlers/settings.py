"""`/settings`: the member's timezone, working hours, working days and language, each one
tap to change.

Timezone, working hours and days decide when nudges, birthdays and digests reach the member
(see `storage.working_hours`); changing any re-plans the member's unsent nudges in the same
transaction (`storage.nudges.set_member_schedule`). A zone or range not offered as a button
is typed in a one-field flow that validates it and shows it back before Save. The working
days are toggled on one message whose buttons carry the days picked so far (a weekday
bitmask, Monday bit 0), so nothing is stored before Save, and a restart in between loses
nothing.

    /settings --> menu --Timezone--> zones of the team's region --pick--> saved, menu
                                                                --Type one--> settings_tz flow
              menu --Working hours--> presets --pick--> saved, menu
                                              --Type one--> settings_hours flow ("9:00-18:30")
              menu --Working days--> a toggle per weekday --toggle--> the same, changed
                                                          --Save--> saved, menu (none: asked
                                                                    to pick one, kept)
                                                          --Back--> menu, nothing changed
              menu --Language--> the /lang choice
"""

from __future__ import annotations

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import CallbackData, SettingsAction
from handlers.common import choose_language
from handlers.configuration import Configuration
from handlers.context import CrmContext
from handlers.feature import Callback, Command, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Env, Field, Flow
from handlers.formatting import weekday_name, zone_name
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.calls import StorageCall
from storage.models import Member
from storage.nudges import NudgeRules, set_member_schedule
from storage.parsing import ParseError
from storage.working_hours import WorkingHours, parse_days, parse_hours

GLOBAL_ZONES = ("Asia/Shanghai", "Europe/London", "America/New_York", "America/Los_Angeles")
REGION_ZONES: dict[str, tuple[str, ...]] = {
    "CN": ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo"),
    "US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    "GB": ("Europe/London", "Europe/Paris", "Europe/Berlin"),
}
ALL_DAYS = 0b1111111  # the largest bitmask a working-days button may carry
DAY_BUTTONS_PER_ROW = 4
PRESETS = (
    WorkingHours(time(8, 0), time(18, 0)),
    WorkingHours(time(9, 0), time(19, 0)),
    WorkingHours(time(10, 0), time(20, 0)),
)


def nudge_rules(config: Configuration) -> NudgeRules:
    """The team's scheduling defaults, as storage needs them (storage never reads config)."""
    reminders = config.reminders
    return NudgeRules(
        timezone=config.locale.timezone,
        work_start=reminders.work_start,
        work_end=reminders.work_end,
        birthday_check_time=reminders.birthday_check_time,
        birthday_days_ahead=reminders.birthday_days_ahead,
        cadence_days=dict(reminders.cadence_days),
    )


def zones_for(region: str) -> list[str]:
    """A short list: the region's common zones first, then the world's busiest."""
    return list(dict.fromkeys((*REGION_ZONES.get(region, ()), *GLOBAL_ZONES)))[:8]


# --- the menu ---------------------------------------------------------------------------------


def _menu(context: CrmContext, member: Member) -> tuple[str, InlineKeyboardMarkup | None]:
    hours = nudge_rules(context.services.config).hours_of(member)
    language = context.t(f"lang.name.{context.language}")
    zone = member.timezone or context.services.config.locale.timezone
    days = _days_label(context, parse_days(member.work_days))
    tz = zone_name(zone, lang=context.language)
    text = context.t("settings.menu", tz=tz, hours=hours.label(), days=days, lang_name=language)
    rows: list[list[tuple[str, CallbackData]]] = [
        [(context.t("settings.button.tz"), SettingsAction("tz"))],
        [(context.t("settings.button.hours"), SettingsAction("hours"))],
        [(context.t("settings.button.days"), SettingsAction("days"))],
        [(context.t("settings.button.lang"), SettingsAction("lang"))],
    ]
    return text, inline_keyboard(rows)


# --- working days -----------------------------------------------------------------------------


def _mask(days: frozenset[int]) -> int:
    return sum(1 << day for day in days)


def _days_of(mask: int) -> frozenset[int]:
    return frozenset(day for day in range(7) if mask >> day & 1)


def _days_label(context: CrmContext, days: frozenset[int]) -> str:
    """ "Mon, Tue, Wed" / "周一、周二、周三"; "—" for none (only while toggling)."""
    names = [weekday_name(day, lang=context.language) for day in sorted(days)]
    return context.t("settings.days.joiner").join(names) or "—"


def _days_screen(context: CrmContext, mask: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The days picked so far and a toggle per weekday; each button carries the whole
    selection it leads to, and Save the selection shown."""
    text = context.t("settings.days.pick", days=_days_label(context, _days_of(mask)))
    toggles: list[tuple[str, CallbackData]] = [
        (
            context.t(
                "settings.days.on" if mask >> day & 1 else "settings.days.off",
                day=weekday_name(day, lang=context.language),
            ),
            SettingsAction("days", str(mask ^ (1 << day))),
        )
        for day in range(7)
    ]
    rows = [
        toggles[i : i + DAY_BUTTONS_PER_ROW] for i in range(0, len(toggles), DAY_BUTTONS_PER_ROW)
    ]
    rows.append(
        [
            (context.t("flow.button.save"), SettingsAction("daysave", str(mask))),
            (context.t("settings.button.back"), SettingsAction("menu")),
        ]
    )
    return text, inline_keyboard(rows)


def _options(context: CrmContext, action: str, labels: list[str]) -> InlineKeyboardMarkup | None:
    """One button per offered value, then "Type one…" (index = len) and Back."""
    rows: list[list[tuple[str, CallbackData]]] = [
        [(label, SettingsAction(action, str(index)))] for index, label in enumerate(labels)
    ]
    rows.append([(context.t("settings.button.type"), SettingsAction(action, str(len(labels))))])
    rows.append([(context.t("settings.button.back"), SettingsAction("menu"))])
    return inline_keyboard(rows)


# --- the typed flows --------------------------------------------------------------------------


def _parse_zone(text: str, _env: Env) -> str | ParseError:
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ParseError("settings.invalid_tz")
    return name


def _show_zone(value: str, context: CrmContext) -> str:
    """ "日本时间" for a typed "Asia/Tokyo": what was understood, named as the menu names it."""
    return zone_name(value, lang=context.language)


def _parse_range(text: str, _env: Env) -> dict[str, str] | ParseError:
    hours = parse_hours(text)
    if hours is None:
        return ParseError("settings.invalid_hours")
    return {"start": f"{hours.start:%H:%M}", "end": f"{hours.end:%H:%M}"}


def _show_range(value: dict[str, str], _context: CrmContext) -> str:
    return f"{value['start']}–{value['end']}"


def _saver(
    context: CrmContext,
    *,
    timezone: str | None = None,
    hours: WorkingHours | None = None,
    work_days: frozenset[int] | None = None,
) -> StorageCall[Member]:
    return StorageCall(
        set_member_schedule,
        member_id=context.member_id,
        rules=nudge_rules(context.services.config),
        now=context.services.clock(),
        timezone=timezone,
        hours=hours,
        work_days=work_days,
    )


def _save_tz(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Member]:
    return _saver(context, timezone=values["tz"])


def _save_hours(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Member]:
    hours = WorkingHours(
        time.fromisoformat(values["hours"]["start"]), time.fromisoformat(values["hours"]["end"])
    )
    return _saver(context, hours=hours)


async def _after_save(context: CrmContext, chat_id: int, member: Member) -> None:
    context.member = member
    text, markup = _menu(context, member)
    await context.bot.send_message(chat_id, text, reply_markup=markup)


FLOWS = (
    Flow(
        name="settings_tz",
        fields=(Field("tz", parse=_parse_zone, show=_show_zone, required=True),),
        save=_save_tz,
        after_save=_after_save,
    ),
    Flow(
        name="settings_hours",
        fields=(Field("hours", parse=_parse_range, show=_show_range, required=True),),
        save=_save_hours,
        after_save=_after_save,
    ),
)


# --- handlers ---------------------------------------------------------------------------------


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def settings(update: Update, context: CrmContext) -> None:
        assert update.effective_chat is not None
        text, markup = _menu(context, context.require_member())
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

    async def on_button(update: Update, context: CrmContext) -> None:
        """Indexes in the data are checked against the lists offered; anything else is stale."""
        action = await button_data(update, context, SettingsAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        if action.action in ("days", "daysave"):
            await on_days(update, context, action)
            return
        zones = zones_for(context.services.config.locale.default_region)
        choices = zones if action.action == "tz" else [p.label() for p in PRESETS]
        labels = (
            [zone_name(zone, lang=context.language) for zone in zones]
            if action.action == "tz"
            else choices
        )
        index = int(action.value) if action.value else None
        if action.action in ("tz", "hours") and index is not None and index > len(choices):
            await answer_query(query, context.t("common.stale_button"))
            return
        await answer_query(query)
        if action.action == "lang":
            await choose_language(update, context)
        elif action.action == "menu":
            await edit_message(query, *_menu(context, context.require_member()))
        elif index is None:
            await edit_message(
                query,
                context.t(f"settings.pick.{action.action}"),
                _options(context, action.action, labels),
            )
        elif index == len(choices):
            await engine.start(update, context, f"settings_{action.action}")
        else:
            saver = (
                _saver(context, timezone=zones[index])
                if action.action == "tz"
                else _saver(context, hours=PRESETS[index])
            )
            member = await context.db.run(saver)
            context.member = member
            text, markup = _menu(context, member)
            await edit_message(query, f"{text}\n\n{context.t('settings.saved')}", markup)

    async def on_days(update: Update, context: CrmContext, action: SettingsAction) -> None:
        """Open the toggles (no value: the member's days), toggle (value: the selection), or
        Save it; a selection beyond the seven days is a stale or forged button."""
        query = update.callback_query
        assert query is not None
        mask = int(action.value) if action.value else None
        if mask is not None and mask > ALL_DAYS:
            await answer_query(query, context.t("common.stale_button"))
            return
        if action.action == "daysave" and not mask:
            await answer_query(query, context.t("settings.days.none"))
            return
        await answer_query(query)
        if action.action == "days":
            member = context.require_member()
            shown = _mask(parse_days(member.work_days)) if mask is None else mask
            await edit_message(query, *_days_screen(context, shown))
            return
        assert mask is not None
        member = await context.db.run(_saver(context, work_days=_days_of(mask)))
        context.member = member
        text, markup = _menu(context, member)
        await edit_message(query, f"{text}\n\n{context.t('settings.saved')}", markup)

    return {"settings": settings, "on_button": on_button}


FEATURE = Feature(
    name="settings",
    commands=(Command("settings", "settings"),),
    routes=(Route(SettingsAction, "on_button"),),
    flows=FLOWS,
    bind=bind,
)

"""`/settings`: the member's timezone, working hours and language, each one tap to change.

Timezone and working hours decide when nudges, birthdays and digests reach the member (see
`storage.working_hours`); changing either re-plans the member's unsent nudges in the same
transaction (`storage.nudges.set_member_schedule`). A zone or range not offered as a button
is typed in a one-field flow that validates it and shows it back before Save.

    /settings --> menu --Timezone--> zones of the team's region --pick--> saved, menu
                                                                --Type one--> settings_tz flow
              menu --Working hours--> presets --pick--> saved, menu
                                              --Type one--> settings_hours flow ("9:00-18:30")
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
from handlers.formatting import zone_name
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.calls import StorageCall
from storage.models import Member
from storage.nudges import NudgeRules, set_member_schedule
from storage.parsing import ParseError
from storage.working_hours import WorkingHours, parse_hours

GLOBAL_ZONES = ("Asia/Shanghai", "Europe/London", "America/New_York", "America/Los_Angeles")
REGION_ZONES: dict[str, tuple[str, ...]] = {
    "CN": ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo"),
    "US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    "GB": ("Europe/London", "Europe/Paris", "Europe/Berlin"),
}
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
    tz = zone_name(zone, lang=context.language)
    text = context.t("settings.menu", tz=tz, hours=hours.label(), lang_name=language)
    rows: list[list[tuple[str, CallbackData]]] = [
        [(context.t("settings.button.tz"), SettingsAction("tz"))],
        [(context.t("settings.button.hours"), SettingsAction("hours"))],
        [(context.t("settings.button.lang"), SettingsAction("lang"))],
    ]
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
    context: CrmContext, *, timezone: str | None = None, hours: WorkingHours | None = None
) -> StorageCall[Member]:
    return StorageCall(
        set_member_schedule,
        member_id=context.member_id,
        rules=nudge_rules(context.services.config),
        now=context.services.clock(),
        timezone=timezone,
        hours=hours,
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

    return {"settings": settings, "on_button": on_button}


FEATURE = Feature(
    name="settings",
    commands=(Command("settings", "settings"),),
    routes=(Route(SettingsAction, "on_button"),),
    flows=FLOWS,
    bind=bind,
)

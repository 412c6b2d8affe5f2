"""Contracts over time: their statuses follow the calendar, and renewals are reminded.

Nothing here is a command. The `contract-renewals` pass (`bot.contract_jobs`) moves signed
contracts to active on their start, active ones to expiring within their renewal notice and
to expired after their end (`storage.contract_status`), then plans the renewal reminders of
the expiring ones (`storage.contract_reminders`): the owner, and the owner's manager when
`[contracts] remind_manager` says so, `notice` days before the end and again in the last
week. They are delivered like every reminder (`bot.scheduler`), in the member's language and
timezone, within their working hours; this module renders them:

    🔔 Renewal due: contract HT-2027-0001 ends in 30 days.
    Forklift service · Customer: Zhang Wei · (a manager's: Owner: 李娜) · Ends: 31 Dec 2027
    · Amount: ¥120,000
    [🔁 Renew] [📄 Open contract] [💤 Snooze]

Renew and Open are the contract's own buttons (`ContractAction`, handled with the contract
card); Snooze is the reminder's (`ReminderAction`, `handlers.reminders`), which also lists
them in /reminders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from handlers.callback_data import ContractAction, ReminderAction
from handlers.configuration import Configuration
from handlers.feature import Feature, Job
from handlers.formatting import format_date, format_money
from handlers.keyboards import inline_keyboard
from storage.contract_reminders import RenewalRules
from storage.parsing import Money
from storage.reminders import ReminderKind, ReminderView

Translate = Callable[..., str]


def renewal_rules(config: Configuration) -> RenewalRules:
    """The team's renewal settings, as storage needs them (storage never reads config)."""
    return RenewalRules(
        timezone=config.locale.timezone,
        work_start=config.reminders.work_start,
        default_notice_days=config.contracts.renewal_notice_days,
        final_notice_days=config.contracts.final_notice_days,
        remind_manager=config.contracts.remind_manager,
    )


def is_renewal(view: ReminderView) -> bool:
    return view.reminder.kind == ReminderKind.RENEWAL


def renewal_text(t: Translate, lang: str, tz: ZoneInfo, now: datetime, view: ReminderView) -> str:
    """The reminder as its member reads it: number, days left, title, customer, end, amount.
    A contract the member may no longer see says nothing about it."""
    if view.contract is None:
        return t("contract_reminders.gone")
    contract, customer = view.contract
    assert contract.ends_on is not None
    days = (contract.ends_on - now.astimezone(tz).date()).days
    if days <= 0:
        lines = [t("contract_reminders.heading_today", number=contract.number)]
    else:
        lines = [t("contract_reminders.heading", number=contract.number, days=days, count=days)]
    lines.append(t("contract_reminders.title", title=contract.title))
    lines.append(t("contract_reminders.customer", name=customer.name))
    if view.contract_owner is not None:  # a manager's reminder: whose contract it is
        lines.append(t("contract_reminders.owner", name=view.contract_owner))
    lines.append(t("contract_reminders.ends", date=format_date(contract.ends_on, lang=lang)))
    if contract.amount is not None and contract.currency:
        money = Money(Decimal(contract.amount), contract.currency)
        lines.append(t("contract_reminders.amount", amount=format_money(money, lang=lang)))
    return "\n".join(lines)


def renewal_actions(t: Translate, view: ReminderView) -> InlineKeyboardMarkup | None:
    """Renew and Open the contract, Snooze the reminder."""
    snooze = (t("contract_reminders.button.snooze"), ReminderAction("snooze", view.id))
    if view.contract is None:
        return inline_keyboard([[snooze]])
    contract_id = view.contract[0].id
    assert contract_id is not None
    return inline_keyboard(
        [
            [
                (t("contract_reminders.button.renew"), ContractAction("renew", contract_id)),
                (t("contract_reminders.button.open"), ContractAction("open", contract_id)),
            ],
            [snooze],
        ]
    )


def renewal_label(t: Translate, view: ReminderView) -> str:
    """The reminder's line on /reminders."""
    if view.contract is None:
        return t("contract_reminders.gone")
    contract, customer = view.contract
    return t(
        "contract_reminders.list_text",
        number=contract.number,
        title=contract.title,
        customer=customer.name,
    )


FEATURE = Feature(
    name="contract-reminders",
    # Statuses change by the day: a pass every 10 minutes (and the first soon after start)
    # catches up after downtime without waiting long.
    jobs=(Job("contract-renewals", every=timedelta(minutes=10), first=timedelta(seconds=2)),),
)

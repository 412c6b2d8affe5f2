"""The owner's side of the review queue: under /today, a salesperson's open items (what a
manager would review on their records, and what a manager sent back, with the comment), each
with a button that opens what to fix (`handlers.review.owner_buttons`)."""

from __future__ import annotations

import html

from handlers.context import CrmContext
from handlers.keyboards import Row, inline_keyboard
from handlers.review import item_lines, owner_buttons, review_rules
from storage.models import Role
from storage.reviews import OpenItem, list_own_open_items

SHOWN = 5  # items listed under /today; the rest are counted


async def send_own_open_items(context: CrmContext, chat_id: int) -> None:
    """One message after the agenda, only for salespeople with open items (managers and
    admins have /review)."""
    member = context.require_member()
    if member.role != Role.SALES:
        return
    today = context.services.clock().astimezone(context.tz).date()
    rules = review_rules(context.services.config)
    items = await context.db.read(list_own_open_items, actor=member, rules=rules, today=today)
    if not items:
        return
    lines = [context.t("review.today.title", count=len(items))]
    rows: list[Row] = []
    for index, open_item in enumerate(items[:SHOWN], start=1):
        lines.append("")
        lines.extend(_lines(context, index, open_item))
        label, data = owner_buttons(context.t, open_item.item)[0][0]
        rows.append([(f"{index}. {label}", data)])
    if len(items) > SHOWN:
        lines += ["", context.t("review.today.more", count=len(items) - SHOWN)]
    await context.bot.send_message(chat_id, "\n".join(lines), reply_markup=inline_keyboard(rows))


def _lines(context: CrmContext, index: int, open_item: OpenItem) -> list[str]:
    item = open_item.item
    record = context.t(
        f"review.record.{item.key.record_type}",
        name=html.escape(item.title),
        id=item.key.record_id,
    )
    lines = [f"{index}. {record}", *item_lines(context, item)]
    if open_item.sent_back is not None:
        comment = html.escape(open_item.sent_back.comment or "")
        lines.append(context.t("review.today.comment", comment=comment))
    return lines

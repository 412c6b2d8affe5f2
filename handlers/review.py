"""`/review`: the manager's queue of what needs a look in the team's data, one item per card,
oldest first (`storage.reviews`; managers their team's, admins everyone's).

    /review --> the oldest open item --Approve--> decided; the next item in place
                                     --Fix-->     the record's edit flow (records/customers.py,
                                                  records/deals.py): the same questions and checks
                                     --Merge-->   /dedupe's merge on the pair: keep one,
                                                  pick field by field, merge --> /review
                                     --Send back--> "review_back" flow: the comment --> decided;
                                                  the owner is told, with buttons to the fields
                                     --Dismiss--> "review_dismiss" flow: the reason --> decided
                                     --Next-->    the item after this one

Every decision is audited on the record (storage). The ids in a button are untrusted: the item
is looked up again in the member's own queue, and anything else answers like a stale one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import CustomerAction, DealAction, DedupeAction, ReviewAction
from handlers.configuration import Configuration
from handlers.context import CrmContext
from handlers.feature import LEADS, Callback, Command, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow
from handlers.keyboards import Row, inline_keyboard
from handlers.records.customers import EDIT
from handlers.telegram_helpers import answer_query, button_data, edit_message, is_blocked
from storage.access import NotFound
from storage.calls import StorageCall
from storage.members import list_members
from storage.review_items import ReviewItem, ReviewKey, ReviewRules
from storage.reviews import Decided, decide_review_item, list_review_queue, review_age_days

logger = logging.getLogger(__name__)

DISMISS_FLOW = "review_dismiss"
BACK_FLOW = "review_back"
ITEM_KEY = "item"  # the flows' hidden answer: the item's key as a dict


def review_rules(config: Configuration) -> ReviewRules:
    """The team's review rules from `[quality]`: the one place that reads them (the required
    customer fields default to name and phone)."""
    required = config.quality.required.get("customer")
    return ReviewRules(
        required=tuple(required) if required else ReviewRules().required,
        approve_new=config.quality.approve_new,
    )


def _today(context: CrmContext) -> Any:
    return context.services.clock().astimezone(context.tz).date()


def _key(action: ReviewAction) -> ReviewKey:
    return ReviewKey(action.item_kind, action.record_type, action.record_id, action.other_id)


def _button(action: str, key: ReviewKey) -> ReviewAction:
    return ReviewAction(action, key.kind, key.record_type, key.record_id, key.other_id)


def field_label(t: Callable[..., str], name: str) -> str:
    """A required field's name as the entry flow calls it ("phone" is its phone list)."""
    return t(f"customer.field.{'phones' if name == 'phone' else name}")


def item_lines(context: Any, item: ReviewItem) -> list[str]:
    """What is wrong with the record, in one or two lines (also the owner's /today lines)."""
    kind = item.key.kind
    if kind == "missing":
        fields = ", ".join(field_label(context.t, n) for n in item.details)
        return [context.t("review.missing", fields=fields)]
    if kind == "suspicious":
        return [context.t(f"review.suspicious.{code}") for code in item.details]
    if kind == "duplicate":
        reason = context.t(f"review.duplicate.{item.details[0]}")
        if item.other_visible:
            return [context.t("review.duplicate", reason=reason, id=item.key.other_id)]
        owner = html.escape(item.other_owner or "")
        return [context.t("review.duplicate_hidden", reason=reason, owner=owner)]
    return [context.t("review.new")]


async def _queue(context: CrmContext) -> list[ReviewItem]:
    rules = review_rules(context.services.config)
    return await context.db.read(
        list_review_queue, actor=context.require_member(), rules=rules, today=_today(context)
    )


def _card(
    context: CrmContext, items: list[ReviewItem], index: int, owners: dict[int, str]
) -> tuple[str, InlineKeyboardMarkup | None]:
    item = items[index]
    key = item.key
    record = context.t(
        f"review.record.{key.record_type}", name=html.escape(item.title), id=key.record_id
    )
    lines = [
        context.t("review.title", position=index + 1, count=len(items)),
        context.t(f"review.kind.{key.kind}"),
        record,
        *item_lines(context, item),
        context.t(
            "review.owner",
            owner=html.escape(owners.get(item.owner_id, "")),
            days=review_age_days(item, now=context.services.clock()),
        ),
    ]
    fix: CustomerAction | DealAction = (
        DealAction("edit", key.record_id)
        if key.record_type == "deal"
        else CustomerAction("edit", key.record_id)
    )
    rows: list[Row] = [
        [
            (context.t("review.button.approve"), _button("ok", key)),
            (context.t("review.button.fix"), fix),
        ],
    ]
    if key.kind == "duplicate" and item.other_visible and key.other_id is not None:
        merge = DedupeAction("pair", key.other_id, key.record_id)
        rows.append([(context.t("review.button.merge", id=key.other_id), merge)])
    rows.append(
        [
            (context.t("review.button.back"), _button("back", key)),
            (context.t("review.button.dismiss"), _button("dismiss", key)),
        ]
    )
    if index + 1 < len(items):
        rows.append([(context.t("review.button.next"), _button("next", key))])
    return "\n".join(lines), inline_keyboard(rows)


async def show_queue(context: CrmContext, after: ReviewKey | None = None) -> tuple[str, Any]:
    """The oldest open item, or the one after `after` (the first again past the end)."""
    items = await _queue(context)
    if not items:
        return context.t("review.empty"), None
    keys = [item.key for item in items]
    index = keys.index(after) + 1 if after in keys else 0
    index = index if index < len(items) else 0
    members = await context.db.read(list_members, actor=context.require_member())
    owners = {m.id: m.display_name for m in members if m.id is not None}
    return _card(context, items, index, owners)


async def review(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    try:
        text, keyboard = await show_queue(context)
    except NotFound:
        text, keyboard = context.t("review.leads_only"), None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def review_button(update: Update, context: CrmContext) -> None:
        query = update.callback_query
        assert query is not None
        action = await button_data(update, context, ReviewAction)
        if action is None:
            return
        try:
            if action.action == "list":
                text, keyboard = await show_queue(context)
            elif action.action == "next":
                text, keyboard = await show_queue(context, _key(action))
            elif action.action == "ok":
                await context.db.run(_decision(context, _key(action), "approved"))
                text, keyboard = await show_queue(context)
            else:
                await _start_text_flow(update, context, engine, action)
                return
        except NotFound:
            await answer_query(query, context.t("common.not_found"))
            return
        notice = context.t("review.approved") if action.action == "ok" else None
        await answer_query(query, notice)
        await edit_message(query, text, keyboard)

    return {"review_button": review_button}


def _decision(
    context: CrmContext, key: ReviewKey, decision: str, comment: str | None = None
) -> StorageCall[Decided]:
    return StorageCall(
        decide_review_item,
        actor=context.require_member(),
        rules=review_rules(context.services.config),
        today=_today(context),
        key=key,
        decision=decision,
        comment=comment,
    )


async def _start_text_flow(
    update: Update, context: CrmContext, engine: FlowEngine, action: ReviewAction
) -> None:
    """Dismiss and Send back ask for a text first; the item must be in the queue now."""
    query = update.callback_query
    assert query is not None
    key = _key(action)
    items = await _queue(context)
    item = next((i for i in items if i.key == key), None)
    if item is None:
        raise NotFound
    await answer_query(query)
    flow = DISMISS_FLOW if action.action == "dismiss" else BACK_FLOW
    picked = {"id": str(key.record_id), "label": item.title, **_key_dict(key)}
    await engine.start(update, context, flow, values={ITEM_KEY: picked})


def _key_dict(key: ReviewKey) -> dict[str, Any]:
    return {
        "kind": key.kind,
        "record_type": key.record_type,
        "record_id": key.record_id,
        "other_id": key.other_id,
    }


def _save(decision: str, text_field: str) -> Any:
    def save(
        context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
    ) -> StorageCall[Decided | None]:
        picked = values[ITEM_KEY]
        key = ReviewKey(
            picked["kind"], picked["record_type"], picked["record_id"], picked["other_id"]
        )
        return _decision(context, key, decision, values[text_field]).or_if_missing(None)

    return save


async def _after_dismiss(context: CrmContext, chat_id: int, decided: Decided | None) -> None:
    await _after(context, chat_id, decided, "review.dismissed")


async def _after_back(context: CrmContext, chat_id: int, decided: Decided | None) -> None:
    await _after(context, chat_id, decided, "review.sent_back")
    if decided is not None:
        await _tell_owner(context, decided)


async def _after(context: CrmContext, chat_id: int, decided: Decided | None, key: str) -> None:
    if decided is None:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    await context.bot.send_message(chat_id, context.t(key, name=html.escape(decided.item.title)))
    text, keyboard = await show_queue(context)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


def owner_buttons(t: Any, item: ReviewItem) -> list[Row]:
    """Buttons that open what to fix: each missing field's question, else the record's fields."""
    if item.key.record_type == "deal":
        return [[(t("review.button.fix"), DealAction("edit", item.key.record_id))]]
    names = [f.name for f in EDIT.fields]
    rows: list[Row] = []
    if item.key.kind == "missing":
        for name in item.details:
            field = "phones" if name == "phone" else name
            if field in names:
                label = t("review.button.fill", field=t(f"customer.field.{field}"))
                rows.append(
                    [(label, CustomerAction("edit", item.customer_id, str(names.index(field))))]
                )
    return rows or [[(t("review.button.fix"), CustomerAction("edit", item.customer_id))]]


async def _tell_owner(context: CrmContext, decided: Decided) -> None:
    """The owner reads the manager's comment in their own language, with buttons to fix it;
    a manager sending back their own record is not told twice, and a blocked bot is no error."""
    owner, item = decided.owner, decided.item
    if owner.id == context.member_id:
        return
    default = context.services.config.locale.default_language
    translate = context.services.catalogs.translator(owner.language or default)
    lines = [
        translate(
            "review.told_owner",
            manager=html.escape(context.require_member().display_name),
            name=html.escape(item.title),
            comment=html.escape(decided.decision.comment or ""),
        ),
        *item_lines(_Reader(translate), item),
    ]
    try:
        await context.bot.send_message(
            owner.telegram_id,
            "\n".join(lines),
            reply_markup=inline_keyboard(owner_buttons(translate, item)),
        )
    except Exception as exc:
        if not is_blocked(exc):
            raise
        logger.info("could not tell member %s: bot blocked", owner.id)


class _Reader:
    """`item_lines` reads `.t`: a translator for someone other than the current member."""

    def __init__(self, translate: Any) -> None:
        self.t = translate


def _text_flow(name: str, field: str, decision: str, after_save: Any) -> Flow:
    """A flow of one required text (the reason, the comment) for the item it is started on."""
    return Flow(
        name=name,
        fields=(
            Field(ITEM_KEY, when=lambda _values: False),
            Field(field, parse=fp.text("reason"), required=True),
        ),
        save=_save(decision, field),
        after_save=after_save,
        confirm=False,
    )


FLOWS = (
    _text_flow(DISMISS_FLOW, "reason", "dismissed", _after_dismiss),
    _text_flow(BACK_FLOW, "comment", "sent_back", _after_back),
)


FEATURE = Feature(
    name="review",
    commands=(Command("review", review, LEADS),),
    routes=(Route(ReviewAction, "review_button"),),
    flows=FLOWS,
    bind=bind,
)

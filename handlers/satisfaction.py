"""The customer's satisfaction after a delivered order or a visit, asked as on a ticket's
resolve: the same 1-5 score buttons, then an optional comment.

    order card --Delivered--> "satisfied?" 5..1 / Not asked
    visit saved (/note, /log, plain text) --> "satisfied?" 5..1 / Not asked
        --Not asked--> nothing kept (one tap)
        --score--> comment? (Skip) --> kept; a falling score tells the owner's manager

The question is a plain message with score buttons (`SatisfactionAction`), so it can follow
any save; a score pressed loads the order or note through the access rule again before the
comment is asked, and storage checks it once more when the score is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from handlers.callback_data import SatisfactionAction
from handlers.context import CrmContext
from handlers.feature import Callback, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Field, Flow
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotFound
from storage.calls import StorageCall
from storage.satisfaction import FallingRule, SatisfactionScore, record_score, require_rateable

logger = logging.getLogger(__name__)

FLOW_NAME = "satisfaction"
NOT_ASKED = "0"
STARS = tuple(Choice(str(n), f"ticket.score.{n}") for n in range(5, 0, -1))
SCORES = (*STARS, Choice(NOT_ASKED, "ticket.score.not_asked"))
"""A ticket's score question offers "Not asked" as an answer; here it is a button of its own."""


def falling_rule(context: CrmContext) -> FallingRule:
    """`[tickets] satisfaction_drop` and `satisfaction_floor` as storage takes them."""
    tickets = context.services.config.tickets
    return FallingRule(drop=tickets.satisfaction_drop, floor=tickets.satisfaction_floor)


async def ask_satisfaction(
    context: CrmContext, chat_id: int, source: str, source_id: int, label: str
) -> None:
    """The question with its score buttons, after an order is delivered or a visit saved."""
    t = context.t
    scores = [(t(c.label), SatisfactionAction(source, source_id, int(c.value))) for c in STARS]
    skip = (t("ticket.score.not_asked"), SatisfactionAction(source, source_id, 0))
    keyboard = inline_keyboard([scores[:3], scores[3:], [skip]])
    await context.bot.send_message(
        chat_id, t(f"satisfaction.ask.{source}", label=label), reply_markup=keyboard
    )


def _save(context: CrmContext, values: dict[str, Any], _a: list[list[str]]) -> Any:
    source, _, source_id = str(values["source"]["id"]).partition(":")
    call = StorageCall(
        record_score,
        actor=context.require_member(),
        source_kind=source,
        source_id=int(source_id),
        score=int(values["score"]),
        comment=values.get("comment"),
        rule=falling_rule(context),
        now=context.services.clock(),
    )
    return call.or_if_refused(None, ValueError).or_if_missing(None)


async def _after_save(context: CrmContext, chat_id: int, row: SatisfactionScore | None) -> None:
    if row is None:
        await context.bot.send_message(chat_id, context.t("satisfaction.refused"))
        return
    await context.bot.send_message(chat_id, context.t("satisfaction.kept", score=row.score))


def _never(_values: dict[str, Any]) -> bool:
    return False


FLOW = Flow(
    name=FLOW_NAME,
    fields=(
        Field("source", when=_never),
        Field("score", choices=STARS, required=True),
        Field("comment", parse=fp.optional_text("notes")),
    ),
    save=_save,
    after_save=_after_save,
    confirm=False,
)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def satisfaction_button(update: Update, context: CrmContext) -> None:
        """Not asked: the question says so, nothing kept. A score: the comment is asked."""
        action = await button_data(update, context, SatisfactionAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        try:
            label = await context.db.read(
                require_rateable,
                actor=context.require_member(),
                source_kind=action.source,
                source_id=action.source_id,
            )
        except (NotFound, ValueError):
            await answer_query(query, context.t("satisfaction.refused"))
            return
        await answer_query(query)
        if not action.score:
            await edit_message(query, context.t("satisfaction.not_asked", label=label))
            return
        await edit_message(
            query, context.t("satisfaction.scored", label=label, score=action.score)
        )
        source = {"id": f"{action.source}:{action.source_id}", "label": label}
        await engine.start(
            update, context, FLOW_NAME, values={"source": source, "score": str(action.score)}
        )

    return {"satisfaction_button": satisfaction_button}


FEATURE = Feature(
    name="satisfaction",
    routes=(Route(SatisfactionAction, "satisfaction_button"),),
    flows=(FLOW,),
    bind=bind,
)

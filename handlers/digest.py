"""What managers are told without asking: the digest text, team feed posts, big-deal notices,
and `/feed`, which links a Telegram group to the team's activity feed.

`bot.digest_jobs` decides when a message is due and sends it; this module only renders it
from the plain data `storage.digest` / `storage.feeds` compute, in the reader's language.

    /feed in a group, by a manager or admin --> group linked (feed starts from now)
    /feed elsewhere, or by a salesperson    --> one polite refusal, nothing stored
    bot removed from the group (my_chat_member left/kicked) --> feed deactivated
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ChatMemberHandler

from handlers.context import CrmContext
from handlers.feature import LEADS, Command, Feature, Job
from handlers.formatting import format_money, format_when
from handlers.i18n import Html, Translator
from handlers.text_limits import split_blocks
from storage.access import NotAllowed
from storage.digest import SalesDigest, TeamDigest
from storage.feeds import BigDealNotice, FeedEvent, deactivate_feed, link_feed
from storage.models import Role
from storage.parsing import Money

logger = logging.getLogger(__name__)

GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
TICKETS_NAMED = 5  # ticket numbers a digest line names; the rest are counted


# --- rendering ---------------------------------------------------------------------------------


def digest_messages(
    t: Translator,
    digest: TeamDigest,
    *,
    weekly: bool,
    stale_days: int,
    tz: ZoneInfo,
    now: datetime,
    review_count: int = 0,
) -> list[str]:
    """The digest as one or more messages (a large team is split between salespeople), with
    how many review items arose in the period (`/review`)."""
    when = {
        "since": format_when(digest.since, tz=tz, lang=t.language, now=now),
        "until": format_when(digest.until, tz=tz, lang=t.language, now=now),
    }
    blocks = [t("digest.weekly_title" if weekly else "digest.title", **when)]
    if not digest.members:
        blocks.append(t("digest.empty_team"))
    blocks += [_member_block(t, line, stale_days) for line in digest.members]
    if digest.unreachable:
        blocks.append(t("digest.unreachable", names=", ".join(digest.unreachable)))
    if review_count:
        blocks.append(t("review.digest", count=review_count))
    return split_blocks(blocks)


def _member_block(t: Translator, line: SalesDigest, stale_days: int) -> str:
    expiring = line.expiring_contracts
    contracts = (t("contract_reminders.digest.expiring", count=expiring),) if expiring else ()
    late_orders = (
        [t("order.digest.overdue", count=line.overdue_deliveries)]
        if line.overdue_deliveries
        else []
    )
    return "\n".join(
        (
            t("digest.member", name=line.name),
            t(
                "digest.new",
                customers=line.new_customers,
                deals=line.new_deals,
                notes=line.new_notes,
            ),
            t(
                "digest.closed",
                won=line.won,
                won_amounts=_amounts(t, line.won_amounts),
                lost=line.lost,
                lost_amounts=_amounts(t, line.lost_amounts),
            ),
            t(
                "digest.slipping",
                overdue=line.overdue_follow_ups,
                stale=line.stale_customers,
                days=stale_days,
                late=line.overdue_deals,
            ),
            *contracts,
            *late_orders,
            *_tickets(t, line),
        )
    )


def _tickets(t: Translator, line: SalesDigest) -> list[str]:
    """The overdue and the urgent open tickets by number, a line each when there are any."""
    named = [
        ("ticket_more.digest.overdue", line.overdue_tickets),
        ("ticket_more.digest.urgent", line.urgent_tickets),
    ]
    return [numbered_tickets(t, key, numbers) for key, numbers in named if numbers]


def numbered_tickets(t: Translator, key: str, numbers: list[str]) -> str:
    """A digest line naming the first `TICKETS_NAMED` of `numbers` and counting the rest."""
    shown = ", ".join(numbers[:TICKETS_NAMED])
    if len(numbers) > TICKETS_NAMED:
        shown += t("ticket_more.digest.more", count=len(numbers) - TICKETS_NAMED)
    return t(key, count=len(numbers), numbers=shown)


def _amounts(t: Translator, amounts: list[Money]) -> Html:
    if not amounts:
        return Html("")
    joined = ", ".join(format_money(m, lang=t.language) for m in amounts)
    return Html(t("digest.amounts", amounts=joined))


def feed_messages(t: Translator, events: Iterable[FeedEvent]) -> list[str]:
    """A feed post: one line per event, oldest first."""
    return split_blocks([feed_line(t, event) for event in events], separator="\n")


def feed_line(t: Translator, event: FeedEvent) -> str:
    amount = Html("")
    if event.amount is not None:
        amount = Html(t("feed.amount", amount=format_money(event.amount, lang=t.language)))
    line = t(
        f"feed.{event.kind}",
        owner=event.owner_name,
        customer=event.customer_name,
        deal=event.deal_title or "",
        amount=amount,
    )
    return t("feed.big", line=Html(line)) if event.big else line


def big_deal_message(t: Translator, notice: BigDealNotice) -> str:
    event = notice.event
    assert event.amount is not None  # only deals with an amount are big
    return t(
        f"big_deal.{event.kind}",
        owner=event.owner_name,
        deal=event.deal_title or "",
        customer=event.customer_name,
        amount=format_money(event.amount, lang=t.language),
    )


# --- chat side ---------------------------------------------------------------------------------


async def feed_command(update: Update, context: CrmContext) -> None:
    """Link the group this is sent in to the sender's team feed (managers and admins)."""
    chat = update.effective_chat
    assert chat is not None
    member = context.require_member()
    if chat.type not in GROUP_CHATS:
        await context.bot.send_message(chat.id, context.t("feed.not_group"))
        return
    if Role(member.role) not in LEADS:
        await context.bot.send_message(chat.id, context.t("feed.not_lead"))
        return
    try:
        await context.db.run(
            link_feed,
            actor=member,
            chat_id=chat.id,
            title=chat.title,
            language=context.language,
            now=context.services.clock(),
        )
    except NotAllowed:
        await context.bot.send_message(chat.id, context.t("feed.not_lead"))
        return
    logger.info("team feed linked", extra={"member_id": member.id, "chat_id": chat.id})
    key = "feed.linked_all" if member.role == Role.ADMIN else "feed.linked"
    await context.bot.send_message(chat.id, context.t(key, name=member.display_name))


async def bot_membership_changed(update: Update, context: CrmContext) -> None:
    """The bot was removed from a group: that group's feed stops (a 403 does the same)."""
    change = update.my_chat_member
    if change is None or change.chat.type not in GROUP_CHATS:
        return
    if change.new_chat_member.status in GONE:
        stopped = await context.db.run(
            deactivate_feed, chat_id=change.chat.id, now=context.services.clock()
        )
        if stopped:
            logger.info("team feed stopped: bot removed", extra={"chat_id": change.chat.id})


async def notify_deal_closed(context: CrmContext, deal_id: int) -> None:
    """Post a just-closed deal now rather than at the next tick (optional: the ticker finds
    every stage change in the database anyway, whichever path made it)."""
    kick = context.services.jobs.kick_digests
    logger.debug("deal %s closed: starting a notification pass", deal_id)
    if kick is not None:
        kick()


FEATURE = Feature(
    name="digest",
    commands=(Command("feed", feed_command, LEADS),),
    others=(ChatMemberHandler(bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),),
    # Digests, feed posts, big-deal notices and the weekly reports (`bot.digest_jobs`).
    jobs=(Job("notifications", every=timedelta(seconds=20), first=timedelta(seconds=2)),),
)

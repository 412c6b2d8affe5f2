"""Team feeds (a Telegram group linked by a manager) and the events they and the big-deal
notices report: new customers, deals won and lost.

Events are read from the records themselves (customer rows, `DealStageChange` rows), not
pushed by the chat flows, so a change made by any path (the deal flow, `/log`, an edit, an
import) is reported, and one made while the bot was down is reported after it starts.
Whether an event was already posted is the sent-once log's business (`storage.digest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.access import NotAllowed, actor_id, team_member_ids
from storage.deals import CLOSED_STAGES
from storage.models import Customer, Deal, DealStageChange, Member, Role
from storage.notification_models import TeamFeed
from storage.parsing import Money

FEED_ROLES = (Role.MANAGER, Role.ADMIN)


@dataclass(frozen=True)
class FeedEvent:
    """Something a team feed posts. `key` names the event itself (not the feed)."""

    key: str
    kind: str  # "customer" | "won" | "lost"
    at: datetime
    owner_id: int
    owner_name: str
    customer_name: str
    deal_id: int | None = None
    deal_title: str | None = None
    amount: Money | None = None
    big: bool = False


@dataclass(frozen=True)
class BigDealNotice:
    """A big deal won or lost, addressed to the owner's manager."""

    key: str
    event: FeedEvent
    manager_id: int
    chat_id: int
    language: str | None
    timezone: str | None


def link_feed(
    session: Session,
    *,
    actor: Member,
    chat_id: int,
    title: str | None,
    language: str,
    now: datetime,
) -> TeamFeed:
    """Make `chat_id` the actor's team feed (admins: everyone's). Linking a group again, by
    anyone allowed, moves it to them and starts afresh from now (no backlog is posted)."""
    if actor.role not in FEED_ROLES or not actor.active:
        raise NotAllowed
    feed = session.exec(select(TeamFeed).where(col(TeamFeed.chat_id) == chat_id)).first()
    if feed is None:
        feed = TeamFeed(manager_id=actor_id(actor), chat_id=chat_id)
        session.add(feed)
    feed.manager_id, feed.title, feed.language, feed.active = (
        actor_id(actor),
        title,
        language,
        True,
    )
    feed.created_at, feed.deactivated_at = now, None
    session.flush()
    return feed


def deactivate_feed(session: Session, *, chat_id: int, now: datetime) -> bool:
    """The bot left the group (removed, or Telegram said 403): post nothing more there."""
    feed = session.exec(
        select(TeamFeed).where(col(TeamFeed.chat_id) == chat_id, col(TeamFeed.active))
    ).first()
    if feed is None:
        return False
    feed.active, feed.deactivated_at = False, now
    return True


def list_active_feeds(session: Session) -> list[TeamFeed]:
    """Feeds whose manager is still an active manager or admin."""
    return list(
        session.exec(
            select(TeamFeed)
            .join(Member, col(Member.id) == col(TeamFeed.manager_id))
            .where(
                col(TeamFeed.active),
                col(Member.active),
                col(Member.role).in_(FEED_ROLES),
            )
            .order_by(col(TeamFeed.id))
        )
    )


def feed_events(
    session: Session, *, feed: TeamFeed, since: datetime, until: datetime, big: Money
) -> list[FeedEvent]:
    """The feed's team's events in [since, until), oldest first."""
    manager = session.get_one(Member, feed.manager_id)
    owners = None if manager.role == Role.ADMIN else team_member_ids(manager)
    customers = [
        FeedEvent(
            key=f"customer:{customer.id}",
            kind="customer",
            at=customer.created_at,
            owner_id=owner.id or 0,
            owner_name=owner.display_name,
            customer_name=customer.name,
        )
        for customer, owner in session.exec(
            select(Customer, Member)
            .join(Member, col(Member.id) == col(Customer.owner_id))
            .where(
                col(Customer.deleted_at).is_(None),
                col(Customer.created_at) >= since,
                col(Customer.created_at) < until,
                *([] if owners is None else [col(Customer.owner_id).in_(owners)]),
            )
        )
    ]
    closed = closed_deal_events(session, since=since, until=until, big=big, owners=owners)
    return sorted([*customers, *closed], key=lambda event: (event.at, event.key))


def closed_deal_events(
    session: Session, *, since: datetime, until: datetime, big: Money, owners: Any = None
) -> list[FeedEvent]:
    """Deals moved to won or lost in [since, until) (a deal created closed counts too)."""
    query = (
        select(DealStageChange, Deal, Customer, Member)
        .join(Deal, col(Deal.id) == col(DealStageChange.deal_id))
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(Member, col(Member.id) == col(Deal.owner_id))
        .where(
            col(DealStageChange.to_stage).in_(CLOSED_STAGES),
            col(DealStageChange.changed_at) >= since,
            col(DealStageChange.changed_at) < until,
            col(Deal.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
        )
        .order_by(col(DealStageChange.changed_at), col(DealStageChange.id))
    )
    if owners is not None:
        query = query.where(col(Deal.owner_id).in_(owners))
    events = []
    for change, deal, customer, owner in session.exec(query):
        amount = Money(deal.amount, deal.currency) if deal.amount and deal.currency else None
        events.append(
            FeedEvent(
                key=f"deal:{change.id}:{change.to_stage}",
                kind=change.to_stage,
                at=change.changed_at,
                owner_id=deal.owner_id,
                owner_name=owner.display_name,
                customer_name=customer.name,
                deal_id=deal.id,
                deal_title=deal.title,
                amount=amount,
                big=is_big(amount, big),
            )
        )
    return events


def big_deal_notices(
    session: Session, *, since: datetime, until: datetime, big: Money
) -> list[BigDealNotice]:
    """Big deals closed in [since, until), each for its owner's active, reachable manager.

    The key is per deal and outcome: a deal won, reopened and won again notifies once.
    """
    manager = aliased(Member)
    notices = []
    for event in closed_deal_events(session, since=since, until=until, big=big):
        if not event.big:
            continue
        found = session.exec(
            select(manager)
            .join(Member, col(Member.manager_id) == col(manager.id))
            .where(
                col(Member.id) == event.owner_id,
                col(manager.active),
                col(manager.unreachable_at).is_(None),
            )
        ).first()
        if found is None or found.id is None:
            continue
        notices.append(
            BigDealNotice(
                key=f"big:{event.deal_id}:{event.kind}",
                event=event,
                manager_id=found.id,
                chat_id=found.telegram_id,
                language=found.language,
                timezone=found.timezone,
            )
        )
    return notices


def is_big(amount: Money | None, big: Money) -> bool:
    """At least the configured amount, in the configured currency (no exchange rates kept)."""
    return amount is not None and amount.currency == big.currency and amount.amount >= big.amount


def big_threshold(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency)

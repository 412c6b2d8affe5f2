"""`/members` (read): the members `/team` shows the token's member (admins everyone,
managers their team, salespeople themselves), so a system can map `owner_id`s to people."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlmodel import Session

from bot.api.auth import Reader
from bot.api.params import Cursor, Limit, Paged, Since
from bot.api.problems import problem_responses
from bot.api.writes import Resource, each
from storage.access import require_member
from storage.models import Member
from storage.record_lists import Filters, list_members_page

router = APIRouter(prefix="/members", tags=["members"])


class MemberOut(BaseModel):
    id: int
    telegram_id: int
    display_name: str
    username: str | None
    role: str
    manager_id: int | None
    active: bool
    created_at: datetime
    updated_at: datetime


class MemberPage(Paged):
    items: list[MemberOut]


def represent(member: Member) -> MemberOut:
    assert member.id is not None
    return MemberOut(
        id=member.id,
        telegram_id=member.telegram_id,
        display_name=member.display_name,
        username=member.username,
        role=member.role,
        manager_id=member.manager_id,
        active=member.active,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


def show(session: Session, actor: Member, member_id: int) -> MemberOut:
    return represent(require_member(session, actor=actor, member_id=member_id))


RESOURCE = Resource(Member, show, list_members_page, each(represent), "member_id")


@router.get("", response_model=MemberPage, responses=problem_responses(401, 422, 429))
def list_members(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> MemberPage:
    filters = Filters(updated_since=updated_since)
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return MemberPage(items=items, next_cursor=next_cursor)


RESOURCE.add_routes(router, MemberOut)

"""`/invite [sales|manager]`: a single-use, expiring deep link that registers a new member.

Admins invite managers or salespeople; managers invite salespeople, who join their team.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from handlers.callback_data import InviteRole
from handlers.context import CrmContext
from handlers.feature import LEADS, Command, Feature, Route
from handlers.formatting import format_when
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotAllowed, may_invite
from storage.invites import create_invite
from storage.models import Role

INVITABLE = (Role.SALES, Role.MANAGER)
ROLE_WORDS = {
    "sales": Role.SALES,
    "salesperson": Role.SALES,
    "销售": Role.SALES,
    "manager": Role.MANAGER,
    "经理": Role.MANAGER,
}


async def invite(update: Update, context: CrmContext) -> None:
    member = context.require_member()
    assert update.effective_chat is not None
    allowed = [role for role in INVITABLE if may_invite(member, role)]
    if context.args:
        role = ROLE_WORDS.get(context.args[0].lower())
        if role is None:
            text = context.t("invite.usage", given=context.args[0])
        elif role not in allowed:
            text = _not_allowed(context, allowed)
        else:
            text = await _create(context, role)
        await context.bot.send_message(update.effective_chat.id, text)
        return
    if allowed == [Role.SALES]:
        await context.bot.send_message(
            update.effective_chat.id, await _create(context, Role.SALES)
        )
        return
    keyboard = inline_keyboard(
        [[(context.t(f"invite.button.{role.value}"), InviteRole(role)) for role in allowed]]
    )
    await context.bot.send_message(
        update.effective_chat.id, context.t("invite.choose_role"), reply_markup=keyboard
    )


async def role_chosen(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    assert query is not None
    choice = await button_data(update, context, InviteRole)
    if choice is None:
        return
    await answer_query(query)
    if not may_invite(context.require_member(), choice.role):
        allowed = [role for role in INVITABLE if may_invite(context.require_member(), role)]
        await edit_message(query, _not_allowed(context, allowed))
        return
    await edit_message(query, await _create(context, choice.role))


async def _create(context: CrmContext, role: Role) -> str:
    member = context.require_member()
    ttl = timedelta(hours=context.services.config.access.invite_ttl_hours)
    try:
        created = await context.db.run(create_invite, actor=member, role=role, ttl=ttl)
    except NotAllowed:
        return _not_allowed(context, [])
    link = f"https://t.me/{context.bot.username}?start={created.code}"
    return context.t(
        "invite.created",
        role=context.t(f"role.{role.value}"),
        team=context.t("invite.team_suffix") if created.manager_id else "",
        link=link,
        expires=format_when(created.expires_at, tz=context.tz, lang=context.language),
    )


def _not_allowed(context: CrmContext, allowed: list[Role]) -> str:
    roles = ", ".join(context.t(f"role.{role.value}") for role in allowed) or "—"
    return context.t("invite.not_allowed", roles=roles)


FEATURE = Feature(
    name="invite",
    commands=(Command("invite", invite, LEADS),),
    routes=(Route(InviteRole, role_chosen),),
)

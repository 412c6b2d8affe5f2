"""`/start`: the greeting for members, and joining the team through an invite deep link.

A stranger reaches this handler only with a payload (the gate lets `/start <code>` through);
the code is redeemed atomically and the new member is greeted in their language.
"""

from __future__ import annotations

from telegram import Update

from handlers.commands import register_member_menu
from handlers.context import CrmContext
from handlers.feature import Command, Feature
from handlers.gate import profile_of, refuse_stranger
from storage.invites import InviteProblem, redeem_invite
from storage.models import Member


async def start(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    code = context.args[0] if context.args else None
    member = context.member
    if member is None:
        await _join(update, context, code)
        return
    await _greet(update, context, member)
    if code:  # a member opened an invite link: it stays unused for whom it was meant
        await context.bot.send_message(update.effective_chat.id, context.t("start.already_member"))


async def _join(update: Update, context: CrmContext, code: str | None) -> None:
    profile = profile_of(update)
    assert profile is not None
    assert update.effective_chat is not None
    if not code:
        await refuse_stranger(update, context, profile.telegram_id)
        return
    result = await context.db.run(redeem_invite, code=code, profile=profile)
    if isinstance(result, InviteProblem):
        await context.bot.send_message(
            update.effective_chat.id,
            context.t(f"invite.problem.{result.value}", user_id=profile.telegram_id),
        )
        return
    context.member = result
    await context.bot.send_message(
        update.effective_chat.id, context.t("start.joined", role=context.t(f"role.{result.role}"))
    )
    await _greet(update, context, result)


async def _greet(update: Update, context: CrmContext, member: Member) -> None:
    """Set the member's command menu first, so it is there when they read the greeting."""
    assert update.effective_chat is not None
    assert context.translator is not None
    await register_member_menu(context.bot, context.services.commands, member, context.translator)
    await context.bot.send_message(
        update.effective_chat.id,
        context.t(f"start.welcome.{member.role}", name=member.display_name),
    )


FEATURE = Feature(name="start", commands=(Command("start", start),))

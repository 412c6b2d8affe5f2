"""`/team`: the members a manager or admin may see; admins change roles, teams and access.

Every button carries a member id, which is untrusted: it is loaded through the access rule
exactly like an id a user types, and "missing" and "not yours" answer alike.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import TeamAction
from handlers.commands import register_member_menu
from handlers.context import CrmContext
from handlers.feature import LEADS, Command, Feature, Route
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotAllowed, NotFound, may_administer_members, require_member
from storage.members import list_managers, list_members, update_member
from storage.models import Member, Role

PAGE_SIZE = 20


async def team(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    text, keyboard = await _list_page(context, page=0)
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


async def team_button(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    assert query is not None
    action = await button_data(update, context, TeamAction)
    if action is None:
        return
    try:
        if action.action == "list":
            text, keyboard = await _list_page(context, page=action.member_id)
        elif action.action == "open":
            text, keyboard = await _card(context, action.member_id)
        else:
            await _apply(context, action)
            text, keyboard = await _card(context, action.member_id)
            await answer_query(query, context.t("team.saved"))
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    except NotAllowed:
        await answer_query(query, context.t("team.not_allowed"))
        return
    await answer_query(query)
    await edit_message(query, text, keyboard)


async def _list_page(context: CrmContext, *, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    members = await context.db.read(list_members, actor=context.require_member())
    pages = max(1, -(-len(members) // PAGE_SIZE))
    page = min(page, pages - 1)
    rows = [
        [(_member_label(context, m), TeamAction("open", m.id))]  # type: ignore[arg-type]
        for m in members[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    nav = []
    if page > 0:
        nav.append(("«", TeamAction("list", page - 1)))
    if page < pages - 1:
        nav.append(("»", TeamAction("list", page + 1)))
    rows.append(nav)
    return context.t("team.title", count=len(members)), inline_keyboard(rows)


def _member_label(context: CrmContext, member: Member) -> str:
    status = ""
    if not member.active:
        status = context.t("team.status.inactive")
    elif member.unreachable_at is not None:
        status = context.t("team.status.unreachable")
    return context.t(
        "team.button.member",
        name=member.display_name,
        role=context.t(f"role.{member.role}"),
        status=status,
    )


async def _card(context: CrmContext, member_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    actor = context.require_member()
    member = await context.db.read(require_member, actor=actor, member_id=member_id)
    managers = await context.db.read(list_managers)
    manager = next((m for m in managers if m.id == member.manager_id), None)
    status = "team.status_active"
    if not member.active:
        status = "team.status_inactive"
    elif member.unreachable_at is not None:
        status = "team.status_unreachable"
    text = context.t(
        "team.card",
        name=member.display_name,
        username=f" @{member.username}" if member.username else "",
        role=context.t(f"role.{member.role}"),
        team=context.t("team.team_of", manager=manager.display_name)
        if manager
        else context.t("team.no_team"),
        status=context.t(status),
        telegram_id=member.telegram_id,
    )
    rows = _admin_rows(context, actor, member, managers) if may_administer_members(actor) else []
    rows.append([(context.t("team.button.back"), TeamAction("list", 0))])
    return text, inline_keyboard(rows)


def _admin_rows(
    context: CrmContext, actor: Member, member: Member, managers: list[Member]
) -> list[list[tuple[str, TeamAction]]]:
    if member.id == actor.id or member.id is None:
        return []
    mid = member.id
    rows = [
        [
            (
                context.t("team.button.make_role", role=context.t(f"role.{r.value}")),
                TeamAction("role", mid, r.value),
            )
            for r in Role
            if r.value != member.role
        ]
    ]
    if member.role == Role.SALES:
        rows += [
            [
                (
                    context.t("team.button.set_manager", manager=m.display_name),
                    TeamAction("manager", mid, str(m.id)),
                )
            ]
            for m in managers
            if m.id != member.manager_id
        ][:8]
        if member.manager_id is not None:
            rows.append(
                [(context.t("team.button.clear_manager"), TeamAction("manager", mid, "0"))]
            )
    if member.active:
        rows.append([(context.t("team.button.deactivate"), TeamAction("deactivate", mid))])
    else:
        rows.append([(context.t("team.button.reactivate"), TeamAction("activate", mid))])
    return rows


async def _apply(context: CrmContext, action: TeamAction) -> None:
    actor = context.require_member()
    changes: dict[str, object] = {}
    if action.action == "role" and action.value in {role.value for role in Role}:
        changes["role"] = Role(action.value)
    elif action.action in ("activate", "deactivate"):
        changes["active"] = action.action == "activate"
    elif action.action == "manager" and action.value.isdigit():
        manager_id = int(action.value)
        changes.update({"manager_id": manager_id} if manager_id else {"clear_manager": True})
    else:
        raise NotFound
    member = await context.db.run(
        update_member,
        actor=actor,
        member_id=action.member_id,
        **changes,  # type: ignore[arg-type]
    )
    language = member.language or context.services.config.locale.default_language
    translator = context.services.catalogs.translator(language)
    await register_member_menu(context.bot, context.services.commands, member, translator)


FEATURE = Feature(
    name="team",
    commands=(Command("team", team, LEADS),),
    routes=(Route(TeamAction, team_button),),
)

"""`/import undo` through the chat: choose among recent imports, confirm, and a report of what
was undone and what was left and why; changes made after the import survive the undo."""

from __future__ import annotations

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import ImportAction, pack
from handlers.i18n import Catalogs
from storage.customer_changes import reassign_customer, update_customer
from storage.imports.models import ImportBatch
from storage.models import Customer, CustomerPhone, Member
from tests.conftest import RunningBot
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_deal_flow import add_customer, member_id, with_member
from tests.e2e.test_import import CSV, answered_text, customers, finish, press, to_preview, upload
from tests.e2e.user import ScriptedUser

UPDATES = (
    b"Name,Phone,Email,Company\n"
    b"Zhang Wei,13800138000,new@example.com,NewCo\n"
    b"Li Na,13900139000,,Beta\n"
    b"Wang Fang,13700137000,,Gamma\n"
)


def customer(db_url: str, name: str) -> Customer:
    (found,) = [c for c in rows(db_url, Customer) if c.name == name]
    return found


def phones(db_url: str, customer_id: int) -> list[str]:
    return sorted(p.e164 for p in rows(db_url, CustomerPhone) if p.customer_id == customer_id)


async def test_undo_lists_imports_that_changed_something_and_undoes_the_chosen_one(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
) -> None:
    await finish(admin, await to_preview(admin, await upload(admin, "a.csv", CSV)))
    again = await finish(admin, await to_preview(admin, await upload(admin, "b.csv", CSV)))
    assert "Created: 0" in again.text  # the same rows: nothing to undo in it
    other = b"Name,Phone\nChen Jie,13600136000\n"
    await finish(admin, await to_preview(admin, await upload(admin, "c.csv", other)))
    await admin.send("/import undo")
    choice = await admin.reply()
    assert running_bot.application is not None
    hours = running_bot.application.bot_data["services"].config.imports.undo_hours
    assert choice.text == shown(catalogs, "en", "import.undo.choose", hours=hours)
    assert [label.split(" · ", 1)[1] for label in choice.button_labels] == [
        "c.csv · 1 new, 0 updated",
        "a.csv · 3 new, 0 updated",
    ]
    await admin.press("a.csv", message=choice)
    ask = await admin.reply()
    assert ask.text == shown(catalogs, "en", "import.undo.ask", file="a.csv", created=3, updated=0)
    done = await press(admin, ask, "Yes, undo it")
    assert done.text == shown(
        catalogs, "en", "import.undo.done", file="a.csv", removed=3, restored=0
    )
    assert [c.name for c in customers(db_url)] == ["Chen Jie"]
    a_id = rows(db_url, ImportBatch)[0].id
    await admin.press_data(pack(ImportAction("confirm", a_id)), ask)  # pressed once more
    refused = await admin.edited(done)
    assert refused.text == shown(catalogs, "en", "import.undo.already")
    await admin.send("/import undo")
    assert [b.split(" · ", 1)[1] for b in (await admin.reply()).button_labels] == [
        "c.csv · 1 new, 0 updated"
    ]


async def test_undo_keeps_what_changed_after_the_import_and_says_so(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    sam = await join(emu, admin, 2002, "Sam")
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="OldCo")
    preview = await to_preview(admin, await upload(admin, "edits.csv", UPDATES))
    await finish(admin, await press(admin, preview, "Update the existing customer"))
    later_phones = ["+8613800138000", "+8613600136000"]
    changes = {"email": "mine@example.com", "phones": later_phones}

    wang, sam_id = customer(db_url, "Wang Fang").id, member_id(db_url, sam)
    assert wang is not None

    def edit_and_reassign(session: Session, member: Member) -> None:
        update_customer(session, actor=member, customer_id=zhang, changes=changes)
        reassign_customer(session, actor=member, customer_id=wang, new_owner_id=sam_id)

    with_member(db_url, admin, edit_and_reassign)
    await admin.send("/import undo")
    await admin.press("edits.csv", message=await admin.reply())
    done = await press(admin, await admin.reply(), "Yes, undo it")
    assert done.text == "\n".join(
        [
            shown(catalogs, "en", "import.undo.done", file="edits.csv", removed=1, restored=0),
            shown(catalogs, "en", "import.undo.left.changed", count=1),
            shown(catalogs, "en", "import.undo.left.reassigned", count=1),
        ]
    )
    zhang_now = customer(db_url, "Zhang Wei")
    assert (zhang_now.email, zhang_now.company) == ("mine@example.com", "OldCo")
    assert phones(db_url, zhang) == sorted(later_phones)
    assert customer(db_url, "Li Na").deleted_at is not None
    wang_now = customer(db_url, "Wang Fang")
    assert (wang_now.deleted_at, wang_now.owner_id) == (None, sam_id)


async def test_a_forged_undo_of_another_members_import_is_refused(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    sam = await join(emu, admin, 2002, "Sam")
    lee = await join(emu, admin, 2003, "Lee")
    await finish(sam, await to_preview(sam, await upload(sam, "sams.csv", CSV)))
    other = b"Name,Phone\nChen Jie,13600136000\n"
    await finish(lee, await to_preview(lee, await upload(lee, "lees.csv", other)))
    sams_id = rows(db_url, ImportBatch)[0].id
    await lee.send("/import undo")
    choice = await lee.reply()
    assert [b.split(" · ", 1)[1] for b in choice.button_labels] == ["lees.csv · 1 new, 0 updated"]
    toast = await answered_text(emu, lee, pack(ImportAction("confirm", sams_id)), choice)
    assert toast == shown(catalogs, "en", "common.not_found")
    await lee.press_data(pack(ImportAction("undo", sams_id)), choice)
    assert (await lee.reply()).text == shown(catalogs, "en", "common.not_found")
    assert len(customers(db_url)) == 4
    assert rows(db_url, ImportBatch)[0].status == "done"


async def test_undo_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
) -> None:
    wang = await join(emu, admin, 2006, "Wang", language_code="zh")
    content = "姓名,电话\n张伟,13800138000\n".encode()
    await finish(wang, await to_preview(wang, await upload(wang, "客户.csv", content), "zh"), "zh")
    await wang.send("/import undo")
    choice = await wang.reply()
    assert choice.button_labels[0].endswith(" · 客户.csv · 新建 1，更新 0")
    await wang.press("客户.csv", message=choice)
    ask = await wang.reply()
    assert ask.text == shown(
        catalogs, "zh", "import.undo.ask", file="客户.csv", created=1, updated=0
    )
    done = await press(wang, ask, "是的，撤销")
    assert done.text == shown(
        catalogs, "zh", "import.undo.done", file="客户.csv", removed=1, restored=0
    )

"""Moving in from another CRM keeps what its export knew beyond the customer's fields: the
owner column gives the row to the member it names (when the importer may), the created
column becomes the customer's created time, and the columns that fill no field become one
note on the customer, which the undo removes with it. One export-shaped file per CRM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from storage.db import Database
from storage.imports import (
    DuplicateMode,
    batch_sheet,
    create_batch,
    read_sheet,
    review,
    run_batch,
    set_duplicate_mode,
    set_target,
    start_batch,
    undo_batch,
)
from storage.imports.models import BatchStatus
from storage.imports.owners import NOT_ALLOWED, NOT_FOUND
from storage.interactions import IMPORTED_KIND
from storage.models import Customer, Interaction, Member, Role, utcnow
from tests.factories import make_member, pk
from tests.storage.import_helpers import existing_customer

# Each export: its header line, then Zhang (owner "Ada Admin"/"王经理" is a member) and Li
# (an owner nobody is called). The created date of Zhang is 2024-03-01 10:00 Shanghai time.
EXPORTS = {
    "hubspot": (
        "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Contact owner,"
        "Create Date,Lead Status,Annual Revenue\n"
        "51,Wei,Zhang,zhang@acme.cn,13800138000,Acme, ada  ADMIN ,2024-03-01 10:00,New,5M\n"
        "52,Na,Li,li@beta.cn,13900139000,Beta,Nobody Here,someday,Open,\n"
    ),
    "salesforce": (
        "First Name,Last Name,Account Name,Phone,Email,Contact Owner,Created Date,"
        "Department\n"
        "Wei,Zhang,Acme,13800138000,zhang@acme.cn,Ada Admin,3/1/2024 10:00 AM,Purchasing\n"
        "Na,Li,Beta,13900139000,li@beta.cn,Nobody Here,3/15/2024 9:00 AM,\n"
    ),
    "pipedrive": (
        "Person - Name,Person - Phone - Work,Person - Organization,Person - Owner,"
        "Person - Person created,Person - Visibility\n"
        "Wei Zhang,13800138000,Acme,Ada Admin,2024-03-01 02:00:00Z,Everyone\n"
        "Na Li,13900139000,Beta,Nobody Here,2024-03-05 10:00:00,\n"
    ),
    "zoho": (
        "Salutation,First Name,Last Name,Account Name,Phone,Contact Owner,Created Time,"
        "Skype ID\n"
        "Mr.,Wei,Zhang,Acme,13800138000,Ada Admin,2024-03-01 10:00:00,zw.acme\n"
        "Ms.,Na,Li,Beta,13900139000,Nobody Here,2024-03-05 10:00:00,\n"
    ),
    "fxiaoke": (  # 纷享销客
        "姓名,手机,公司名称,负责人,创建时间,部门,微信\n"
        "张伟,13800138000,Acme,王经理,2024-03-01 10:00,采购部,zw_wx\n"
        "李娜,13900139000,Beta,无此人,2024-03-05 10:00,,\n"
    ),
    "xiaoshouyi": (  # 销售易
        "联系人姓名,所属客户,手机,所有人,创建日期,部门\n"
        "张伟,Acme,13800138000,王经理,2024年3月1日 10:00,采购部\n"
        "李娜,Beta,13900139000,无此人,2024年3月5日,\n"
    ),
}
NOTES = {  # what Zhang's note says after its heading
    "hubspot": "Record ID: 51; Annual Revenue: 5M",  # Lead Status is the category
    "salesforce": "Department: Purchasing",
    "pipedrive": "Person - Visibility: Everyone",
    "zoho": "Salutation: Mr.; Skype ID: zw.acme",
    "fxiaoke": "部门: 采购部; 微信: zw_wx",
    "xiaoshouyi": "部门: 采购部",
}
SHANGHAI_10AM = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
NOTES_ZHANG = f"Imported from hubspot.csv: {NOTES['hubspot']}"


def member(db: Database, name: str, role: Role = Role.ADMIN, manager: Member | None = None):
    return db.run_sync(lambda s: make_member(s, role=role, display_name=name, manager=manager))


def upload(db: Database, actor: Member, name: str, content: bytes) -> int:
    batch = db.run_sync(
        create_batch,
        actor=actor,
        owner_id=pk(actor),
        chat_id=None,
        file_name=name,
        content=content,
        table=read_sheet(content, name, max_rows=100),
        region="CN",
        timezone="Asia/Shanghai",
        note_heading=f"Imported from {name}:",
    )
    assert batch.id is not None
    return batch.id


def run(db: Database, actor: Member, batch_id: int) -> None:
    table = db.read_sync(batch_sheet, actor=actor, batch_id=batch_id)
    db.run_sync(start_batch, actor=actor, batch_id=batch_id, table=table)
    assert run_batch(db, batch_id=batch_id, worker="test").status == BatchStatus.DONE


def imported(db: Database) -> dict[str, tuple[Customer, list[str]]]:
    """Live customers by name, with the text of their live notes."""

    def read(session: Session) -> dict[str, tuple[Customer, list[str]]]:
        found = {}
        for c in session.exec(select(Customer).where(col(Customer.deleted_at).is_(None))):
            notes = session.exec(
                select(Interaction.summary).where(
                    Interaction.customer_id == c.id, col(Interaction.deleted_at).is_(None)
                )
            ).all()
            found[c.name] = (c, [n or "" for n in notes])
        return found

    return db.read_sync(read)


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_an_export_keeps_owner_created_date_and_other_columns(db: Database, export: str):
    admin = member(db, "Importer")
    ada = member(db, "王经理" if export in ("fxiaoke", "xiaoshouyi") else "Ada Admin", Role.SALES)
    name = f"{export}.csv"
    batch_id = upload(db, admin, name, EXPORTS[export].encode())
    if export == "salesforce":  # 3/1/2024 and 3/15/2024: month first, as the values show
        assert db.read_sync(review, actor=admin, batch_id=batch_id).undecided_date_columns == []
    found = db.read_sync(review, actor=admin, batch_id=batch_id)
    assert [found.headers[i] for i in found.noted_columns] == [
        part.split(": ")[0] for part in NOTES[export].split("; ")
    ]
    unknown = "无此人" if export in ("fxiaoke", "xiaoshouyi") else "Nobody Here"
    assert found.owner_problems == {(unknown, NOT_FOUND): 1}
    assert found.created_unread == (1 if export == "hubspot" else 0)
    run(db, admin, batch_id)
    customers = imported(db)
    zhang, zhang_notes = customers["张伟" if unknown == "无此人" else "Wei Zhang"]
    li, li_notes = customers["李娜" if unknown == "无此人" else "Na Li"]
    assert (zhang.company, zhang.owner_id, li.owner_id) == ("Acme", ada.id, admin.id)
    assert zhang.created_at == SHANGHAI_10AM
    assert zhang_notes == [f"Imported from {name}: {NOTES[export]}"]
    if export == "hubspot":  # "someday": imported all the same, created now
        assert li.created_at > utcnow() - timedelta(minutes=5)
        assert li_notes == [f"Imported from {name}: Record ID: 52"]
        assert zhang.category == "New"


def test_owners_are_whom_the_importer_may_assign(db: Database):
    """A manager gives rows to their team, not to another team's member nor an admin; a
    salesperson keeps every row; names match without case or spaces."""
    member(db, "Boss", Role.ADMIN)
    manager = member(db, "Mia Manager", Role.MANAGER)
    mine = member(db, "Tom Team", Role.SALES, manager=manager)
    member(db, "Olga Other", Role.SALES)
    rows = "A,13800138001,tomteam\nB,13800138002,Olga Other\nC,13800138003,BOSS\nD,13800138004,\n"
    batch_id = upload(db, manager, "m.csv", f"Name,Phone,Owner\n{rows}".encode())
    found = db.read_sync(review, actor=manager, batch_id=batch_id)
    assert found.owner_problems == {("Olga Other", NOT_ALLOWED): 1, ("BOSS", NOT_ALLOWED): 1}
    run(db, manager, batch_id)
    owners = {name: c.owner_id for name, (c, _) in imported(db).items()}
    assert owners == {"A": mine.id, "B": manager.id, "C": manager.id, "D": manager.id}
    sales = member(db, "Sam Sales", Role.SALES)
    rows = "".join(f"{line[0]}2{line[1:]}\n" for line in rows.replace("138", "139").splitlines())
    batch_id = upload(db, sales, "s.csv", f"Name,Phone,Owner\n{rows}".encode())
    assert len(db.read_sync(review, actor=sales, batch_id=batch_id).owner_problems) == 3
    run(db, sales, batch_id)
    owners = {name: c.owner_id for name, (c, _) in imported(db).items() if name.endswith("2")}
    assert set(owners.values()) == {sales.id}
    assert len(owners) == 4


def test_undo_removes_the_notes_and_a_left_out_column_writes_none(db: Database):
    admin = member(db, "Importer")
    content = EXPORTS["hubspot"].encode()
    batch_id = upload(db, admin, "hubspot.csv", content)
    db.run_sync(set_target, actor=admin, batch_id=batch_id, column=0, target=None)  # Record ID
    run(db, admin, batch_id)
    notes = [n for _, ns in imported(db).values() for n in ns]
    assert notes == ["Imported from hubspot.csv: Annual Revenue: 5M"]  # Li has no value
    result = db.run_sync(
        undo_batch, actor=admin, batch_id=batch_id, now=utcnow(), undo_period=timedelta(days=1)
    )
    assert (result.removed, result.changed) == (2, 0)  # Zhang's note did not keep him
    assert imported(db) == {}
    kinds = db.read_sync(
        lambda s: s.exec(select(Interaction.kind).where(col(Interaction.deleted_at).is_(None)))
    )
    assert list(kinds) == []
    assert IMPORTED_KIND == "import"


def test_undo_restores_an_updated_customer_and_removes_its_note(db: Database):
    """Update mode: Zhang's phone is an existing customer's; the note goes on that customer
    and leaves with the undo, which puts the customer back as it was."""
    admin = member(db, "Importer")
    old_id = existing_customer(db, admin)
    batch_id = upload(db, admin, "hubspot.csv", EXPORTS["hubspot"].encode())
    db.run_sync(set_duplicate_mode, actor=admin, batch_id=batch_id, mode=DuplicateMode.UPDATE)
    run(db, admin, batch_id)
    zhang, notes = imported(db)["Wei Zhang"]
    assert (zhang.id, zhang.owner_id, notes) == (old_id, admin.id, [NOTES_ZHANG])
    result = db.run_sync(
        undo_batch, actor=admin, batch_id=batch_id, now=utcnow(), undo_period=timedelta(days=1)
    )
    assert (result.removed, result.restored, result.changed) == (1, 1, 0)
    assert {name: notes for name, (_, notes) in imported(db).items()} == {"Old Name": []}

"""/find and inline mode find contracts by number and title, end to end, through the access
rule: another salesperson's number finds what an unknown one finds, and a reassignment moves
the contract from one side's results to the other's, both ways."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import ContractAction, pack
from handlers.i18n import Catalogs
from storage.customer_changes import reassign_customer
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import Contract, ContractStatus, Member, Order
from tests.conftest import ADMIN_ID
from tests.e2e.helpers import join, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk

LI_ID, SAM_ID = 2002, 2003


def member(session: Session, telegram_id: int) -> Member:
    found = get_member_by_telegram_id(session, telegram_id=telegram_id)
    assert found is not None
    return found


def add_contract(database: Database, owner: int, number: str, customer: str = "张伟") -> int:
    def add(session: Session) -> int:
        owner_member = member(session, owner)
        contract = Contract(
            customer_id=pk(make_customer(session, owner=owner_member, name=customer)),
            owner_id=pk(owner_member),
            created_by_id=pk(owner_member),
            number=number,
            title="叉车维保 Forklift service",
            status=ContractStatus.ACTIVE,
            ends_on=date(2027, 12, 31),
        )
        session.add(contract)
        session.flush()
        return pk(contract)

    return database.run_sync(add)


def hand_over(
    database: Database, contract_id: int, to: int, kind: type[Contract | Order] = Contract
) -> None:
    """Reassign the customer of the contract (or order, `kind`) `contract_id` to `to`."""

    def move(session: Session) -> None:
        reassign_customer(
            session,
            actor=member(session, ADMIN_ID),
            customer_id=session.get_one(kind, contract_id).customer_id,
            new_owner_id=pk(member(session, to)),
        )

    database.run_sync(move)


@pytest.fixture
async def team(emu: BotApiEmulator, admin: ScriptedUser) -> tuple[ScriptedUser, ScriptedUser]:
    await admin.send("/help")
    await admin.reply()
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
    sam = await join(emu, admin, SAM_ID, "Sam")
    return li, sam


def data_of(message: object) -> list[str | None]:
    return [b.callback_data for row in message.buttons for b in row]  # type: ignore[attr-defined]


async def found(user: ScriptedUser, query: str) -> object:
    await user.send(f"/find {query}")
    return await user.reply()


async def test_find_by_number_opens_the_contract_in_chinese_and_english(
    team: tuple[ScriptedUser, ScriptedUser],
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, _ = team
    contract_id = add_contract(database, LI_ID, "HT-2027-0001")
    results = await found(li, "ht-2027-0001")
    assert results.text == shown(catalogs, "zh", "lookup.results", query="ht-2027-0001", page=1)  # type: ignore[attr-defined]
    assert results.button_labels == ["📄 HT-2027-0001 · 叉车维保 Forklift service · 张伟"]  # type: ignore[attr-defined]
    assert data_of(results) == [pack(ContractAction("open", contract_id))]
    by_title = await found(admin, "叉车")
    assert data_of(by_title)[0] == pack(ContractAction("open", contract_id))


async def test_another_salespersons_contract_number_finds_what_an_unknown_one_finds(
    team: tuple[ScriptedUser, ScriptedUser], database: Database
) -> None:
    _, sam = team
    add_contract(database, LI_ID, "HT-2027-0001")
    foreign = await found(sam, "HT-2027-0001")
    unknown = await found(sam, "HT-2027-0002")
    assert foreign.text.replace("0001", "0002") == unknown.text  # type: ignore[attr-defined]
    assert foreign.button_labels == unknown.button_labels == []  # type: ignore[attr-defined]
    assert await sam.inline("HT-2027-0001") == []


async def test_a_reassignment_moves_the_contract_between_searches_both_ways(
    team: tuple[ScriptedUser, ScriptedUser], database: Database
) -> None:
    li, sam = team
    contract_id = add_contract(database, LI_ID, "HT-2027-0001")
    opens = pack(ContractAction("open", contract_id))
    hand_over(database, contract_id, SAM_ID)
    assert data_of(await found(sam, "HT-2027-0001")) == [opens]
    assert data_of(await found(li, "HT-2027-0001")) == []
    assert [r["id"] for r in await li.inline("HT-2027")] == []
    hand_over(database, contract_id, LI_ID)
    assert data_of(await found(li, "HT-2027-0001")) == [opens]
    assert data_of(await found(sam, "HT-2027-0001")) == []
    assert [r["id"] for r in await sam.inline("HT-2027")] == []


async def test_inline_mode_offers_the_contract_with_an_open_button(
    team: tuple[ScriptedUser, ScriptedUser], database: Database, catalogs: Catalogs
) -> None:
    li, _ = team
    contract_id = add_contract(database, LI_ID, "HT-2027-0001")
    [result] = await li.inline("HT-2027")
    assert result["title"] == "📄 HT-2027-0001 · 叉车维保 Forklift service · 张伟"
    assert result["reply_markup"]["inline_keyboard"] == [
        [
            {
                "text": shown(catalogs, "zh", "contract_reminders.button.open"),
                "callback_data": pack(ContractAction("open", contract_id)),
            }
        ]
    ]
    assert "HT-2027-0001" in result["input_message_content"]["message_text"]

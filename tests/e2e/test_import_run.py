"""Spreadsheet import through the chat, run half: results, duplicates in each mode, the error
file, re-import, a failed import, undo, resume after a restart, and other chats kept served
during a big import."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session

from bot import import_jobs
from bot.emulator import BotApiEmulator
from handlers import progress as live_message
from handlers.i18n import Catalogs
from handlers.imports import run as import_run
from storage import imports
from storage.db import Database
from storage.imports.apply import CHUNK_ROWS
from storage.imports.models import ImportBatch
from tests.conftest import RunningBot
from tests.e2e.helpers import first_line, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, with_member
from tests.e2e.test_import import CSV, customers, finish, press, to_preview, upload
from tests.e2e.user import ScriptedUser

# Clocks here are pinned past the digests' hour: no ticker may deliver mid-test.
pytestmark = pytest.mark.usefixtures("parked_tickers")

EXISTING = b"Name,Phone,Company\nZhang Wei,13800138000,NewCo\nLi Na,13900139000,Beta\n"


@pytest.mark.parametrize(
    ("mode", "created", "updated", "skipped", "zhangs", "company"),
    [
        ("Skip them", 1, 0, 1, 1, "OldCo"),
        ("Update the existing customer", 1, 1, 0, 1, "NewCo"),
        ("Create them anyway", 2, 0, 0, 2, "OldCo"),
    ],
)
async def test_duplicates_follow_the_chosen_mode(
    admin: ScriptedUser,
    db_url: str,
    mode: str,
    created: int,
    updated: int,
    skipped: int,
    zhangs: int,
    company: str,
) -> None:
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="OldCo")
    review = await upload(admin, "dupes.csv", EXISTING)
    preview = await to_preview(admin, review)
    assert "Same phone or email as a customer you have: 1" in preview.text
    if mode != "Skip them":  # the default: pressing it again would change nothing
        preview = await press(admin, preview, mode)
    assert f"✓ {mode}" in preview.button_labels
    result = await finish(admin, preview)
    assert result.text.splitlines()[1:4] == [
        f"Created: {created}",
        f"Updated: {updated}",
        f"Skipped: {skipped}",
    ]
    zhang = [c for c in customers(db_url) if c.name == "Zhang Wei"]
    assert len(zhang) == zhangs
    assert zhang[0].company == company


async def test_rejected_rows_come_back_as_a_file_with_reasons(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    content = (
        b"Name,Phone,Email\nZhang Wei,13800138000,zhang@example.com\n"
        b"Li Na,13900139000,not-an-email\n,13700137000,\n"
    )
    preview = await to_preview(admin, await upload(admin, "mixed.csv", content))
    assert shown(catalogs, "en", "import.preview.problem", reason="email address not valid") in (
        preview.text
    )
    result = await finish(admin, preview)
    assert "Rejected: 2" in result.text
    document = await admin.reply()
    assert document.document is not None
    assert document.document.file_name == "mixed-rejected.csv"
    assert document.caption == shown(catalogs, "en", "import.rejected_file", count="2")
    content = emu.state.files[document.document.file_id].content
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    reasons = [row[-1] for row in table[1:]]
    assert reasons == [
        shown(catalogs, "en", "import.reason.bad_email"),
        shown(catalogs, "en", "import.reason.missing_name"),
    ]
    assert [c.name for c in customers(db_url)] == ["Zhang Wei"]


async def test_importing_the_same_file_twice_creates_nothing_new(
    admin: ScriptedUser, db_url: str
) -> None:
    await finish(admin, await to_preview(admin, await upload(admin, "a.csv", CSV)))
    preview = await to_preview(admin, await upload(admin, "a.csv", CSV))
    assert "Imported before (will not be added again): 3" in preview.text
    result = await finish(admin, preview)
    assert "Created: 0" in result.text
    assert len(customers(db_url)) == 3


async def test_a_failed_import_leaves_the_customers_as_they_were(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_customer(db_url, admin, "Existing", "+8613500135000")
    real_run = imports.run_batch
    calls = 0

    def failing_progress(db: Database, **kwargs: object) -> ImportBatch:
        def progress(batch: ImportBatch) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:  # the second chunk: the first is already written
                raise RuntimeError("disk full")

        kwargs.update(progress=progress, chunk_rows=1)
        return real_run(db, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(import_run, "run_batch", failing_progress)
    result = await finish(admin, await to_preview(admin, await upload(admin, "c.csv", CSV)))
    assert result.text == shown(catalogs, "en", "import.failed", file="c.csv")
    assert [c.name for c in customers(db_url)] == ["Existing"]
    assert [b.status for b in rows(db_url, ImportBatch)] == ["failed"]


async def test_undo_asks_with_the_counts_then_removes_the_import(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="OldCo")
    preview = await to_preview(admin, await upload(admin, "u.csv", EXISTING))
    preview = await press(admin, preview, "Update the existing customer")
    result = await finish(admin, preview)
    await admin.press("↩ Undo this import", message=result)
    ask = await admin.reply()
    assert ask.text == shown(catalogs, "en", "import.undo.ask", file="u.csv", created=1, updated=1)
    keep = await press(admin, ask, "No, keep it")
    assert keep.text == shown(catalogs, "en", "import.undo.kept")
    assert len(customers(db_url)) == 2
    await admin.send("/import undo")
    await admin.press("u.csv", message=await admin.reply())
    ask = await admin.reply()
    done = await press(admin, ask, "Yes, undo it")
    assert done.text == shown(
        catalogs, "en", "import.undo.done", file="u.csv", removed=1, restored=1
    )
    ((name, company),) = [(c.name, c.company) for c in customers(db_url)]
    assert (name, company) == ("Zhang Wei", "OldCo")
    await admin.press("↩ Undo this import", message=result)  # a second time: nothing left
    assert (await admin.reply()).text == shown(catalogs, "en", "import.undo.already")


async def test_undo_after_the_period_is_refused(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
) -> None:
    result = await finish(admin, await to_preview(admin, await upload(admin, "a.csv", CSV)))
    assert running_bot.application is not None
    services = running_bot.application.bot_data["services"]
    later = services.clock() + import_run.timedelta(hours=services.config.imports.undo_hours + 1)
    services.clock = lambda: later
    await admin.press("↩ Undo this import", message=result)
    refusal = (await admin.reply()).text
    hours = services.config.imports.undo_hours
    assert refusal == shown(catalogs, "en", "import.undo.expired", hours=hours)
    assert len(customers(db_url)) == 3


async def test_an_import_interrupted_by_a_restart_is_resumed(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
) -> None:
    review = await upload(admin, "r.csv", CSV)
    (batch,) = rows(db_url, ImportBatch)
    await running_bot.stop()
    with_member(
        db_url,
        admin,
        lambda s, m: imports.start_batch(
            s,
            actor=m,
            batch_id=batch.id,
            table=imports.batch_sheet(s, actor=m, batch_id=batch.id),
        ),
    )  # queued, as if the bot stopped right after Start
    await running_bot.start()
    progress = await admin.reply(timeout=30)
    assert progress.text.startswith("⏳ Importing…")
    result = await admin.reply(timeout=30)
    assert result.text.splitlines()[1] == "Created: 3"
    assert review.message_id < progress.message_id


async def test_a_big_import_does_not_stall_other_chats(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live_message, "PROGRESS_INTERVAL", 0.2)
    sam = await join(emu, admin, 2002, "Sam")
    lines = ["Name,Phone,Email"] + [
        f"Customer {i},+86138{i:08d},c{i}@example.com" for i in range(10_000)
    ]
    preview = await to_preview(admin, await upload(admin, "big.csv", "\n".join(lines).encode()))
    await admin.press("▶ Start import", message=preview)
    progress = await admin.edited(preview)
    assert progress.text == "⏳ Importing… 0 / 10,000 rows"
    await sam.send("/help")
    assert (await sam.reply(timeout=5)).text.startswith(first_line(catalogs, "en", "help.title"))
    assert rows(db_url, ImportBatch)[0].status in ("queued", "running")  # answered meanwhile
    result = await admin.reply(timeout=60)
    assert result.text.splitlines()[:2] == ["✅ big.csv imported.", "Created: 10,000"]
    final = await admin.edited(progress)
    assert final.text == "⏳ Importing… 10,000 / 10,000 rows"
    assert final.version >= progress.version + 2  # edited in between, not only at the end


async def test_an_import_stopped_by_a_shutdown_resumes_where_it_left_off(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_message, "PROGRESS_INTERVAL", 0)
    monkeypatch.setattr(import_jobs, "SHUTDOWN_GRACE", 0)
    lines = ["Name,Phone"] + [f"Customer {i},+86138{i:08d}" for i in range(8_000)]
    preview = await to_preview(admin, await upload(admin, "s.csv", "\n".join(lines).encode()))
    await admin.press("▶ Start import", message=preview)
    progress = await admin.edited(preview)
    first = await admin.edited(progress)  # a chunk or a few are in
    chunks = range(CHUNK_ROWS, 8_000, CHUNK_ROWS)
    assert first.text in {f"⏳ Importing… {done:,} / 8,000 rows" for done in chunks}
    await running_bot.stop()  # asks the run to stop after the chunk in flight
    (batch,) = rows(db_url, ImportBatch)
    assert batch.status == "running"
    assert 0 < batch.processed_rows < 8_000
    assert len(customers(db_url)) == batch.processed_rows

    def expire_lease(session: Session) -> None:  # as if the lease ran out while we were down
        found = session.get(ImportBatch, batch.id)
        assert found is not None
        found.claimed_until = None

    db = Database(db_url)
    db.run_sync(expire_lease)
    db.close()
    await running_bot.start()
    resumed = await admin.reply(timeout=30)
    assert resumed.text.startswith("⏳ Importing…")
    result = await admin.reply(timeout=60)
    assert result.text.splitlines()[1] == "Created: 8,000"
    assert len(customers(db_url)) == 8_000

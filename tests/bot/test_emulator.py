"""The Bot API emulator behaves like Telegram for a real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.emulator import BotApiEmulator
from tests.e2e.user import ScriptedUser

TOKEN = "123456:TEST-token"
USER_ID = 1001


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="crm_test_bot") as emulator:
        emulator.add_user(USER_ID, "Alice", username="alice")
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs]
    )


async def test_get_me_returns_bot_identity(bot: Bot, emu: BotApiEmulator) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (emu.bot_id, "crm_test_bot", True)


async def test_wrong_token_is_unauthorized(emu: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=emu.base_url):
            pass


async def test_send_message_with_inline_keyboard_shows_buttons(
    bot: Bot, emu: BotApiEmulator
) -> None:
    sent = await bot.send_message(
        USER_ID, "<b>Pick</b> one &amp; go", parse_mode="HTML", reply_markup=keyboard(("Yes", "y"))
    )

    [msg] = emu.bot_messages(USER_ID)
    assert msg.message_id == sent.message_id
    assert msg.text == "Pick one & go"
    assert msg.html == "<b>Pick</b> one &amp; go"
    assert msg.buttons[0][0].label == "Yes"
    assert msg.buttons[0][0].callback_data == "y"
    assert sent.entities[0].type == "bold"


async def test_reply_keyboard_is_recorded(bot: Bot, emu: BotApiEmulator) -> None:
    await bot.send_message(USER_ID, "Share?", reply_markup=ReplyKeyboardMarkup([["A", "B"]]))

    assert emu.bot_messages(USER_ID)[0].reply_keyboard == [["A", "B"]]


async def test_get_updates_long_poll_returns_command_with_entity(
    bot: Bot, emu: BotApiEmulator
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.send_text(USER_ID, "/start@crm_test_bot hello")

    [update] = await poll

    assert update.message is not None
    assert update.message.text == "/start@crm_test_bot hello"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start@crm_test_bot")


async def test_get_updates_offset_confirms_earlier_updates(bot: Bot, emu: BotApiEmulator) -> None:
    await emu.send_text(USER_ID, "one")
    await emu.send_text(USER_ID, "two")

    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    after = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)

    assert [u.message.text for u in first if u.message] == ["one", "two"]
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert [u.update_id for u in after] == [first[1].update_id]
    assert emu.pending_update_count == 1


async def test_redeliver_returns_the_same_update_id(bot: Bot, emu: BotApiEmulator) -> None:
    await emu.send_text(USER_ID, "hello")
    [first] = await bot.get_updates(timeout=0)
    assert await bot.get_updates(offset=first.update_id + 1, timeout=0) == ()

    emu.redeliver(first.update_id)
    [again] = await bot.get_updates(offset=first.update_id + 1, timeout=0)

    assert again.update_id == first.update_id
    assert again.message is not None
    assert again.message.text == "hello"


async def test_press_button_delivers_callback_and_records_answer(
    bot: Bot, emu: BotApiEmulator
) -> None:
    sent = await bot.send_message(USER_ID, "Pick", reply_markup=keyboard(("Yes", "v1:yes")))

    query_id = await emu.press_button(USER_ID, sent.message_id, "v1:yes")
    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.data == "v1:yes"
    await update.callback_query.answer("Done")

    assert emu.callback_answers[query_id]["text"] == "Done"
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await update.callback_query.answer("again")


async def test_callback_data_limit_is_64_bytes(bot: Bot) -> None:
    await bot.send_message(USER_ID, "ok", reply_markup=keyboard(("A", "x" * 64)))

    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "too big", reply_markup=keyboard(("A", "é" * 33)))


async def test_inline_text_button_without_action_is_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)Text buttons are unallowed"):
        await bot.send_message(
            USER_ID, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A")]])
        )


async def test_text_over_4096_characters_is_rejected(bot: Bot) -> None:
    await bot.send_message(USER_ID, "x" * 4096)

    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER_ID, "x" * 4097)


async def test_inline_keyboard_over_100_buttons_is_rejected(bot: Bot) -> None:
    def keyboard(buttons: int) -> InlineKeyboardMarkup:
        row = [InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(buttons)]
        return InlineKeyboardMarkup([row[i : i + 4] for i in range(0, buttons, 4)])

    await bot.send_message(USER_ID, "x", reply_markup=keyboard(100))

    with pytest.raises(BadRequest, match="(?i)reply markup is too long"):
        await bot.send_message(USER_ID, "x", reply_markup=keyboard(101))


async def test_text_limit_counts_after_entity_parsing_in_utf16_units(bot: Bot) -> None:
    await bot.send_message(USER_ID, "<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(USER_ID, "😀" * 2048)

    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER_ID, "😀" * 2048 + "x")


async def test_caption_limit_counts_utf16_units(bot: Bot) -> None:
    await bot.send_photo(USER_ID, b"\xff\xd8jpeg", caption="😀" * 512)

    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(USER_ID, b"\xff\xd8jpeg", caption="😀" * 512 + "x")


async def test_empty_text_after_html_parsing_is_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(USER_ID, "<b> </b>", parse_mode="HTML")


@pytest.mark.parametrize(
    "html",
    [
        "line<br>break",
        "<b>unclosed",
        "1 < 2",
        "Tom & Jerry",
        "<b>x</i>",
        '<span class="x">s</span>',
    ],
)
async def test_bad_html_is_rejected(bot: Bot, html: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(USER_ID, html, parse_mode="HTML")


async def test_edit_with_identical_content_is_not_modified(bot: Bot, emu: BotApiEmulator) -> None:
    markup = keyboard(("A", "a"))
    sent = await bot.send_message(USER_ID, "same", reply_markup=markup)

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("same", USER_ID, sent.message_id, reply_markup=markup)
    await bot.edit_message_text("changed", USER_ID, sent.message_id, reply_markup=markup)

    edited = await emu.wait_for_edit(USER_ID, sent.message_id, after_version=0, timeout=1)
    assert (edited.text, edited.version) == ("changed", 1)


async def test_edit_or_delete_unknown_message_is_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", USER_ID, 999)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(USER_ID, 999)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(424242, "x")


async def test_sent_document_downloads_through_get_file(bot: Bot, emu: BotApiEmulator) -> None:
    sent = await bot.send_document(USER_ID, b"a,b\n1,2\n", filename="deals.csv", caption="Export")

    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    content = await file.download_as_bytearray()

    assert bytes(content) == b"a,b\n1,2\n"
    [msg] = emu.bot_messages(USER_ID)
    assert msg.document is not None
    assert (msg.document.file_name, msg.caption) == ("deals.csv", "Export")


async def test_user_document_is_downloadable_by_the_bot(bot: Bot, emu: BotApiEmulator) -> None:
    await emu.send_document(USER_ID, "card.vcf", b"BEGIN:VCARD", mime_type="text/vcard")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert update.message.document is not None

    file = await update.message.document.get_file()

    assert bytes(await file.download_as_bytearray()) == b"BEGIN:VCARD"


async def test_photo_can_be_resent_by_file_id(bot: Bot) -> None:
    first = await bot.send_photo(USER_ID, b"\xff\xd8jpeg", caption="x" * 1024)
    again = await bot.send_photo(USER_ID, first.photo[-1].file_id)

    assert again.photo[-1].file_id == first.photo[-1].file_id
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(USER_ID, first.photo[-1].file_id, caption="x" * 1025)


async def test_fault_429_raises_retry_after(
    bot: Bot, emu: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter warns about its int form otherwise
    emu.faults.fail(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER_ID, "hi")

    assert caught.value.retry_after == dt.timedelta(seconds=7)
    await bot.send_message(USER_ID, "hi")


async def test_fault_502_raises_network_error(bot: Bot, emu: BotApiEmulator) -> None:
    emu.faults.fail("*", error_code=502, description="Bad Gateway")

    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "hi")


async def test_fault_delay_makes_the_client_time_out(bot: Bot, emu: BotApiEmulator) -> None:
    emu.faults.delay("sendMessage", 0.5)

    with pytest.raises(TimedOut):
        await bot.send_message(USER_ID, "slow", read_timeout=0.1)

    message = await emu.wait_for_bot_message(USER_ID, timeout=2)
    assert message.text == "slow"  # like Telegram, a timed-out send may still be delivered


async def test_rate_limit_answers_429_for_a_second_message_in_a_second(
    bot: Bot, emu: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter warns about its int form otherwise
    emu.enable_rate_limits(per_chat_per_second=1.0)
    await bot.send_message(USER_ID, "one")

    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "two")


async def test_blocked_user_gives_forbidden_and_my_chat_member(
    bot: Bot, emu: BotApiEmulator
) -> None:
    emu.block(USER_ID)

    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(USER_ID, "hello?")
    [update] = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_group_membership_updates_and_kicked_bot(bot: Bot, emu: BotApiEmulator) -> None:
    emu.add_group(-100, "Sales team")
    emu.add_bot_to_group(-100, USER_ID)
    await emu.send_text(USER_ID, "/report", chat_id=-100)
    await bot.send_message(-100, "Report")
    emu.remove_bot_from_group(-100, USER_ID)

    updates = await bot.get_updates(timeout=0)

    assert [u.effective_chat.id for u in updates if u.effective_chat] == [-100, -100, -100]
    assert updates[1].message is not None
    assert updates[1].message.text == "/report"
    with pytest.raises(Forbidden, match="(?i)kicked from the group chat"):
        await bot.send_message(-100, "still here?")


async def test_set_my_commands_is_stored_per_language(bot: Bot, emu: BotApiEmulator) -> None:
    await bot.set_my_commands([BotCommand("new", "New customer")])
    await bot.set_my_commands(
        [BotCommand("new", "新客户")], scope=BotCommandScopeDefault(), language_code="zh"
    )

    assert emu.commands[("default", "")] == [{"command": "new", "description": "New customer"}]
    assert emu.commands[("default", "zh")][0]["description"] == "新客户"
    assert (await bot.get_my_commands(language_code="zh"))[0].description == "新客户"


async def test_answer_inline_query_over_50_results_is_rejected(
    bot: Bot, emu: BotApiEmulator
) -> None:
    query_id = await emu.inline_query(USER_ID, "acme")

    def results(n: int) -> list[InlineQueryResultArticle]:
        content = InputTextMessageContent("x")
        return [InlineQueryResultArticle(str(i), f"r{i}", content) for i in range(n)]

    with pytest.raises(BadRequest, match="(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, results(51))
    await bot.answer_inline_query(query_id, results(50))

    assert len(emu.inline_answers[query_id]["results"]) == 50


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_raw_http_answers_use_telegram_error_shapes(emu: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base_url}{TOKEN}/noSuchMethod") as response:
            missing = (response.status, await response.json())
        async with http.get(f"{emu.base_url}999:nope/getMe") as response:
            unauthorized = (response.status, await response.json())
        url = f"{emu.base_url}{TOKEN}/sendMessage?chat_id={USER_ID}&text=123"
        async with http.get(url) as response:
            sent = await response.json()

    assert missing == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert unauthorized == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert sent["result"]["text"] == "123"


async def test_webhook_delivers_with_secret_and_retries(bot: Bot, emu: BotApiEmulator) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=500 if len(received) == 1 else 200)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match="(?i)webhook is active"):
            await bot.get_updates(timeout=0)
        await emu.send_text(USER_ID, "via webhook")
        await emu.wait_until_confirmed(timeout=5)
    finally:
        await bot.delete_webhook()
        await runner.cleanup()

    assert len(received) == 2
    assert received[0] == received[1]
    assert received[1][0] == "s3cret"
    assert received[1][1]["message"]["text"] == "via webhook"


async def test_scripted_user_presses_by_label_and_shows_transcript(
    bot: Bot, emu: BotApiEmulator
) -> None:
    user = ScriptedUser(emu, USER_ID, "Alice")
    await user.send("/new")
    await bot.send_message(USER_ID, "Pick one", reply_markup=keyboard(("Yes", "y"), ("No", "n")))
    await user.reply()

    await user.press("Yes")
    with pytest.raises(AssertionError, match="(?i)available") as caught:
        await user.press("Maybe")

    updates = await bot.get_updates(timeout=0)
    assert updates[-1].callback_query is not None
    assert updates[-1].callback_query.data == "y"
    assert user.transcript() == "> /new\n< Pick one [buttons: Yes | No]"
    assert "< Pick one" in str(caught.value)


async def test_scripted_user_reply_times_out_with_transcript(emu: BotApiEmulator) -> None:
    user = ScriptedUser(emu, USER_ID, "Alice")
    await user.send("anyone?")

    with pytest.raises(AssertionError, match="(?i)> anyone"):
        await user.reply(timeout=0.05)


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(update.message.text or "", do_quote=True)


async def test_ptb_application_echo_bot_talks_to_scripted_user(emu: BotApiEmulator) -> None:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    user = ScriptedUser(emu, 2002, "Bob")

    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await user.send("hello")
        await user.send("again")
        replies = await user.replies(2)
        await emu.wait_until_confirmed(timeout=5)
        await app.updater.stop()
        await app.stop()

    assert [r.text for r in replies] == ["hello", "again"]
    assert replies[0].reply_to_message_id is not None


async def test_subscribers_see_new_edit_and_delete(bot: Bot, emu: BotApiEmulator) -> None:
    seen: list[tuple[str, str, bool]] = []
    emu.subscribe(lambda kind, msg: seen.append((kind, msg.text, msg.deleted)))
    user = ScriptedUser(emu, USER_ID, "Alice")

    sent = await bot.send_message(USER_ID, "draft", reply_markup=keyboard(("Save", "s")))
    first = await user.reply()
    await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=None)
    edited = await user.edited(first)
    await bot.delete_message(USER_ID, sent.message_id)

    assert (first.buttons != [], edited.buttons, edited.version) == (True, [], 1)
    assert seen == [("new", "draft", False), ("edit", "draft", False), ("delete", "draft", True)]
    assert emu.messages(USER_ID)[-1].deleted


async def test_webhook_targets_receive_updates_round_robin(bot: Bot, emu: BotApiEmulator) -> None:
    received: dict[str, list[str]] = {"a": [], "b": []}

    async def hook(request: web.Request) -> web.Response:
        received[request.match_info["name"]].append((await request.json())["message"]["text"])
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/{name}", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        emu.set_webhook_targets([f"{base}/a", f"{base}/b"])
        await bot.set_webhook("https://bot.example.com/telegram")
        for text in ("1", "2", "3"):
            await emu.send_text(USER_ID, text)
        await emu.wait_until_confirmed(timeout=5)
        info = await bot.get_webhook_info()
    finally:
        await bot.delete_webhook()
        await runner.cleanup()

    assert received == {"a": ["1", "3"], "b": ["2"]}
    assert (info.url, info.pending_update_count) == ("https://bot.example.com/telegram", 0)

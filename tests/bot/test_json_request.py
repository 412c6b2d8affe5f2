"""`JsonRequest`: a call without files is one JSON body, a call with files PTB's multipart form,
and httpx's failures become PTB's errors as with PTB's own HTTPXRequest."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.json_request import JsonRequest

URL = "http://bot-api.test/bot1:x/sendMessage"
OK = {"ok": True, "result": True}


def request_with(handler: Callable[[httpx.Request], httpx.Response]) -> JsonRequest:
    return JsonRequest(read_timeout=7, httpx_kwargs={"transport": httpx.MockTransport(handler)})


async def sent(parameters: dict[str, object], **timeouts: float) -> httpx.Request:
    """What reached the server for one call with `parameters`, answered `OK`."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    request = request_with(answer)
    await request.initialize()
    fields = RequestData([RequestParameter.from_input(k, v) for k, v in parameters.items()])
    status, body = await request.do_request(URL, "POST", fields, **timeouts)
    await request.shutdown()
    assert (status, json.loads(body)) == (200, OK)
    (one,) = seen
    return one


async def test_a_call_without_files_is_one_json_body() -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("续签", callback_data="c:renew:7")]])
    text = "合同 <b>HT-1</b>"
    request = await sent({"chat_id": 42, "text": text, "reply_markup": keyboard}, read_timeout=3)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "chat_id": 42,
        "text": text,
        "reply_markup": {"inline_keyboard": [[{"text": "续签", "callback_data": "c:renew:7"}]]},
    }
    assert request.extensions["timeout"]["read"] == 3  # this call's timeout, else the client's


async def test_a_call_with_a_file_stays_a_multipart_form() -> None:
    document = InputFile(b"%PDF-1.4 signed", filename="contract.pdf")
    request = await sent({"chat_id": 42, "document": document})
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b"%PDF-1.4 signed" in request.content
    assert request.extensions["timeout"]["read"] == 7


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ReadTimeout("slow"), TimedOut),
        (httpx.PoolTimeout("busy"), TimedOut),
        (httpx.ConnectError("refused"), NetworkError),
    ],
)
async def test_httpx_failures_become_ptb_errors(
    failure: httpx.HTTPError, error: type[Exception]
) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        raise failure

    request = request_with(fail)
    await request.initialize()
    with pytest.raises(error):
        await request.do_request(
            URL, "POST", RequestData([RequestParameter.from_input("text", "hi")])
        )
    await request.shutdown()

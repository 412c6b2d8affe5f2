"""The HTTP side: routes, request decoding the way PTB encodes, long polling and error answers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import BodyPartReader, web

from bot.emulator.api_bot import HANDLERS as BOT_HANDLERS
from bot.emulator.api_messages import HANDLERS as MESSAGE_HANDLERS
from bot.emulator.faults import RATE_LIMITED_METHODS, Faults, RateLimiter
from bot.emulator.state import EmulatorState, Upload
from bot.emulator.validation import ApiError, bad_request

logger = logging.getLogger(__name__)

HANDLERS = {**BOT_HANDLERS, **MESSAGE_HANDLERS}
MAX_REQUEST_BYTES = 60 * 1024 * 1024
# Parameters Telegram types as strings: never JSON-decode them ("123" stays text).
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "file_id",
        "next_offset",
        "language_code",
        "action",
        "title",
        "description",
        "short_description",
        "name",
        "emoji",
        "ip_address",
    }
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


def decode_value(name: str, raw: str) -> Any:
    """Undo PTB's form encoding, where every non-string value is sent JSON-encoded."""
    if name in STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def decode_request(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string plus a JSON, form or multipart body."""
    params: dict[str, Any] = {k: decode_value(k, v) for k, v in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if isinstance(body, dict):
            params.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.filename is not None:
                content = bytes(await part.read())
                mime = part.headers.get("Content-Type")
                params[part.name] = Upload(part.filename, content, mime)
            else:
                params[part.name] = decode_value(part.name, await part.text())
    else:
        form = await request.post()
        params.update({k: decode_value(k, v) for k, v in form.items() if isinstance(v, str)})
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = params.get(value.removeprefix("attach://"), value)
    return params


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"upload": value.filename, "size": len(value.content)}
        if isinstance(value, Upload)
        else value
        for key, value in params.items()
    }


class ApiServer:
    """Serves /bot<token>/<method> and /file/bot<token>/<path> from an EmulatorState."""

    def __init__(self, state: EmulatorState, faults: Faults) -> None:
        self.state = state
        self.faults = faults
        self.rate_limiter: RateLimiter | None = None
        self.stopping = asyncio.Event()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self.handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self.handle_file)
        return app

    async def handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            if request.match_info["token"] != self.state.token:
                raise ApiError(401, "Unauthorized")
            params = await decode_request(request)
            self.state.call_received_at = time.perf_counter()
            self.state.calls.append((method, _loggable(params)))
            logger.debug("call %s %s", method, _loggable(params))
            result = await self.dispatch(method, params, request)
        except ApiError as error:
            logger.debug("answer %s: %s", method, error.description)
            return web.json_response(error.to_json(), status=error.error_code)
        return web.json_response({"ok": True, "result": result})

    async def dispatch(self, method: str, params: dict[str, Any], request: web.Request) -> Any:
        name = method.lower()
        delay = self.faults.take_delay(method)
        if delay:
            await self._sleep(delay)
        failure = self.faults.take_failure(method)
        if failure:
            raise failure
        if name == "getupdates":
            return await self.get_updates(params, request)
        handler = HANDLERS.get(name)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        if self.rate_limiter and name in RATE_LIMITED_METHODS and "chat_id" in params:
            self.state.chat(params["chat_id"])
            self.rate_limiter.check(int(params["chat_id"]))
        return handler(self.state, params)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but stop early when the emulator shuts down."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return

    async def get_updates(self, params: dict[str, Any], request: web.Request) -> Any:
        """Long polling: wait up to `timeout` seconds for updates; a newer poll ends this one."""
        state = self.state
        if state.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise bad_request("invalid getUpdates parameters") from None
        if params.get("allowed_updates") is not None:
            allowed = params["allowed_updates"]
            state.allowed_updates = frozenset(allowed) if allowed else None
        state.poll_generation += 1
        generation = state.poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != state.poll_generation:
                raise ApiError(409, CONFLICT_TERMINATED)
            if state.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            transport = request.transport
            if transport is None or transport.is_closing():
                return []
            updates = state.take_updates(offset, limit)
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self.stopping.is_set():
                return updates
            await state.wait_changed(min(remaining, 0.5))

    async def handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.state.token:
            return web.json_response(ApiError(401, "Unauthorized").to_json(), status=401)
        stored = self.state.files_by_path.get(request.match_info["path"])
        if stored is None:
            body = ApiError(404, "Not Found").to_json()
            return web.json_response(body, status=404)
        return web.Response(
            body=stored.content,
            content_type=stored.mime_type or "application/octet-stream",
        )

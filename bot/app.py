"""`build_application`: the one place that wires the bot together.

`crm-bot run`, `crm-bot console` and the end-to-end tests all build the bot here and start it
with `serve`, so what the tests drive is what production runs.

Handler groups, in the order an update meets them:
  -10  the gate: strangers stop here; members get `context.member` and their language
   -5  answers to the open entry (any non-command message while a draft exists)
    0  what each feature declares (FEATURES; plain text: handlers/plain_text.py), then the
       fallbacks (first match wins, so
       unknown text and stale or forged buttons get one polite answer only if nothing else
       took them)
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot import api_retry, import_jobs, inbox_leases, jobs, webhook_jobs
from bot.config import Config, Mode
from bot.inbox_writer import InboxWriter
from bot.json_request import JsonRequest
from bot.processing import PerChatUpdateProcessor
from bot.telegram_bot import CrmBot, InboxQueue, updates_from_payloads
from bot.tls import client_tls_context
from bot.whole_config import config_of
from handlers import (
    agenda,
    common,
    contract,
    contract_reminders,
    customer,
    customer_card,
    deal,
    dedupe,
    digest,
    export,
    gate,
    invite,
    lookup,
    note,
    order,
    order_card,
    paged_lists,
    pipeline,
    plain_text,
    purchase,
    quality,
    quick_log,
    reminders,
    report,
    review,
    satisfaction,
    settings,
    start,
    team,
    ticket,
    ticket_card,
    ticket_entry,
    ticket_files,
    ticket_list,
    tokens,
    webhooks,
)
from handlers.commands import register_default_menus
from handlers.context import SERVICES_KEY, CrmContext
from handlers.errors import on_error
from handlers.feature import Feature, all_commands, all_jobs
from handlers.flows import engine as flow_engine
from handlers.flows.engine import FLOW_GROUP, FlowEngine
from handlers.flows.rules import with_rules
from handlers.i18n import Catalogs
from handlers.imports import review as import_review
from handlers.imports import upload as import_upload
from handlers.records import contracts as contract_records
from handlers.records import customers as customer_records
from handlers.records import deals as deal_records
from handlers.records import gaps as fill_gaps
from handlers.records import notes as note_records
from handlers.records import orders as order_records
from handlers.services import Services
from storage.api_tokens import prune_idempotent
from storage.dates import warm_up as warm_up_dates
from storage.db import Database
from storage.inbox import prune_handled
from storage.member_cache import MemberCache
from storage.migrate import upgrade_database

logger = logging.getLogger(__name__)

CrmApplication = Application[CrmBot, CrmContext, Any, Any, Any, Any]

POLL_TIMEOUT_S = 25
POLL_READ_SLACK_S = 10  # a long poll that has not answered this long after its timeout is stuck
# What each feature module declares (`handlers.feature`). Their order is the order of the
# command menu and of /help; nothing else depends on it.
FEATURES: tuple[Feature, ...] = (
    flow_engine.FEATURE,
    start.FEATURE,
    customer.FEATURE,
    deal.FEATURE,
    note.FEATURE,
    purchase.FEATURE,
    contract.FEATURE,
    order.FEATURE,
    order_card.FEATURE,
    ticket.FEATURE,
    ticket_card.FEATURE,
    ticket_entry.FEATURE,
    ticket_files.FEATURE,
    ticket_list.FEATURE,
    satisfaction.FEATURE,
    quick_log.FEATURE,
    reminders.FEATURE,
    lookup.FEATURE,
    customer_card.FEATURE,
    pipeline.FEATURE,
    agenda.FEATURE,
    contract_reminders.FEATURE,
    settings.FEATURE,
    digest.FEATURE,
    customer_records.FEATURE,
    deal_records.FEATURE,
    note_records.FEATURE,
    contract_records.FEATURE,
    order_records.FEATURE,
    fill_gaps.FEATURE,
    review.FEATURE,
    quality.FEATURE,
    export.FEATURE,
    dedupe.FEATURE,
    import_upload.FEATURE,
    import_review.FEATURE,
    report.FEATURE,
    common.FEATURE,
    invite.FEATURE,
    team.FEATURE,
    tokens.FEATURE,
    webhooks.FEATURE,
    paged_lists.FEATURE,
    plain_text.FEATURE,  # its text excludes every other feature's; no command
)
INBOX_RETENTION = timedelta(days=7)


def build_application(config: Config, *, token: str | None = None) -> CrmApplication:
    """Open (and migrate) the database, load catalogs, and wire handlers, jobs and errors."""
    db = Database(config.database.url)
    upgrade_database(db.engine)
    services = Services(
        config=config,
        db=db,
        catalogs=Catalogs(),
        members=MemberCache(db.engine),
        commands=all_commands(FEATURES),
        admin_ids=frozenset(config.access.admins),
    )
    webhook = config.telegram.mode is Mode.WEBHOOK
    lease = timedelta(seconds=config.instances.update_lease_seconds)
    inbox = InboxWriter(db, inbox_leases.new_worker_id(), lease, in_chat_order=webhook)
    bot = CrmBot(
        token or config.require_token(),
        base_url=config.telegram.base_url,
        base_file_url=config.telegram.base_file_url,
        request=JsonRequest(
            connection_pool_size=64,
            read_timeout=15,
            write_timeout=15,
            httpx_kwargs={"verify": client_tls_context()},
        ),
        get_updates_request=JsonRequest(
            read_timeout=POLL_TIMEOUT_S + POLL_READ_SLACK_S,
            httpx_kwargs={"verify": client_tls_context()},
        ),
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=api_retry.RetryingRateLimiter(max_retries=3),
        inbox=inbox,
    )
    builder = ApplicationBuilder().bot(bot)
    if webhook:
        builder = builder.update_queue(InboxQueue(inbox))
    processor = PerChatUpdateProcessor(db, inbox)
    application: CrmApplication = (
        builder.concurrent_updates(processor)
        .context_types(ContextTypes(context=CrmContext))
        .build()
    )

    async def replay(payload: str) -> None:
        (update,) = updates_from_payloads([payload], application.bot)
        await application.process_update(update)

    processor.replay_with(replay)
    application.bot_data[SERVICES_KEY] = services
    register(application, FEATURES)
    application.add_error_handler(on_error)
    return application


def register(application: CrmApplication, features: tuple[Feature, ...]) -> None:
    """Each handler in its group (see the module's docstring). In group 0 the features'
    commands and buttons exclude each other (tests/bot/test_features.py) and so do their
    messages (a contact, a location, a document, a reply to a prompt or to a card): only
    the fallbacks' place matters."""
    rules = application.bot_data[SERVICES_KEY].quality
    engine = FlowEngine(
        [with_rules(flow, rules) for feature in features for flow in feature.flows]
    )
    flow_answers, _buttons = engine.build_handlers()  # the buttons: flow_engine.FEATURE
    application.add_handlers(gate.build_handlers(), group=gate.GATE_GROUP)
    application.add_handlers(flow_answers, group=FLOW_GROUP)
    application.add_handlers(
        [
            *(handler for feature in features for handler in feature.handlers(engine)),
            *common.build_fallbacks(),  # last: only what no feature claimed
        ],
        group=0,
    )


def watch_errors(
    application: CrmApplication,
    callback: Callable[[object, CrmContext], Coroutine[Any, Any, None]],
) -> None:
    """Run `callback` on every error before the bot's own error handler, which ends the
    update there (`handlers.errors.on_error`): how tests and benchmarks count errors."""
    application.error_handlers = {callback: True, **application.error_handlers}


def services_of(application: CrmApplication) -> Services:
    services: Services = application.bot_data[SERVICES_KEY]
    return services


async def _post_init(application: CrmApplication) -> None:
    services = services_of(application)
    await asyncio.to_thread(warm_up_dates)
    try:
        await register_default_menus(
            application.bot,
            services.commands,
            services.catalogs,
            services.config.locale.default_language,
        )
    except TelegramError as exc:
        logger.warning("could not register the command menus: %s", exc)
    await inbox_leases.replay_at_start(application)
    inbox_leases.install(application)
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _prune_inbox, interval=timedelta(hours=6), first=timedelta(minutes=1), name="prune-inbox"
    )
    jobs.install(application, all_jobs(FEATURES))


async def _prune_inbox(context: CrmContext) -> None:
    """Old rows only a retry could still need: handled updates, and the HTTP API's
    remembered answers to keyed creates (kept `IDEMPOTENCY_RETENTION`, docs/api.md)."""
    removed = await context.db.run(prune_handled, older_than=INBOX_RETENTION)
    logger.info("pruned %d handled updates from the inbox", removed)
    forgotten = await context.db.run(prune_idempotent)
    logger.info("pruned %d idempotency keys of the API", forgotten)


async def start_application(
    application: CrmApplication, *, poll_timeout: int = POLL_TIMEOUT_S
) -> None:
    """Initialize, start fetching updates (polling or webhook per config) and start handling."""
    config = config_of(services_of(application))
    await application.initialize()
    await _post_init(application)
    assert application.updater is not None
    if config.telegram.mode is Mode.WEBHOOK:
        webhook = config.telegram.webhook
        await application.updater.start_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.path,
            webhook_url=webhook.url,
            secret_token=webhook.secret_token.get_secret_value() or None,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,
        )
    else:
        await application.updater.start_polling(
            poll_interval=0,
            timeout=poll_timeout,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,
        )
    await application.start()


def freeze_startup_objects() -> None:
    """Keep what start-up loaded (dateparser's locale data, catalogs, handlers) out of the
    garbage collector's full passes: walking it stalled every chat for up to 140 ms. Only in
    `serve`, a process's one bot (tests start hundreds, and each would pay a full pass)."""
    gc.collect()
    gc.freeze()


async def stop_application(application: CrmApplication) -> None:
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    await import_jobs.shutdown(application)  # before the bot closes: results are still sent
    if application.running:
        await application.stop()
        await inbox_leases.release(application)
    await webhook_jobs.shutdown(application)  # after the passes that post with its client
    await application.shutdown()
    services_of(application).db.close()


async def serve(application: CrmApplication, stop: asyncio.Event) -> None:
    """Run until `stop` is set (SIGINT/SIGTERM in `crm-bot run`), then shut down cleanly.

    Start-up can wait for long (`CrmBot.initialize` retries an unreachable Bot API for as
    long as it takes), so it runs as a task that `stop` cancels: a signal ends the process
    at any moment, not only once the bot is up."""
    starting = asyncio.create_task(start_application(application))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            logger.info("stopped while starting")
            return
        starting.result()  # a failed start (a rejected token) is raised here
        freeze_startup_objects()
        logger.info("bot @%s is running", application.bot.username)
        await stopping
    finally:
        for task in (starting, stopping):
            task.cancel()
        await asyncio.gather(starting, stopping, return_exceptions=True)
        await stop_application(application)

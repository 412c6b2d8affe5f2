"""`create_app`: the HTTP API on the bot's database, its routes, problems and OpenAPI.

Endpoints are plain functions: FastAPI runs them in its thread pool, and each storage call
runs in a transaction of `storage.db.Database`, as the chat's do (on SQLite: BEGIN IMMEDIATE
and the busy timeout, so the API and `crm-bot run` share one file; docs/stack-facts.md).
"""

from __future__ import annotations

from fastapi import FastAPI

from bot.api import contracts, customers, deals, members, notes, orders, reminders, tickets
from bot.api.auth import ApiState
from bot.api.housekeeping import pruning
from bot.api.problems import document_problems, install
from bot.config import Config
from handlers.i18n import Catalogs
from storage.db import Database

DESCRIPTION = """The CRM's customers, deals, notes, reminders, contracts, orders, tickets and
members, for other systems (ERP, shops, other CRMs). Authenticate with
`Authorization: Bearer <token>` (`crm-bot token create`, or `/tokens` in the chat); a token
sees and changes what its member sees in the chat. Errors are RFC 9457 problem details. See
docs/api.md."""


def create_app(
    config: Config, db: Database, *, catalogs: Catalogs | None = None, housekeeping: bool = False
) -> FastAPI:
    """`housekeeping`: also prune old idempotency keys while serving (`crm-bot api`)."""
    app = FastAPI(
        title="CRM entry bot API",
        version="1",
        description=DESCRIPTION,
        lifespan=pruning(db) if housekeeping else None,
    )
    app.state.api = ApiState(config=config, db=db, catalogs=catalogs or Catalogs())
    install(app, app.state.api.catalogs)
    for resource in (customers, deals, notes, reminders, members, contracts, orders, tickets):
        app.include_router(resource.router)
    document_problems(app)
    return app

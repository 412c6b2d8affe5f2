"""What a feature module contributes, declared once as `FEATURE = Feature(...)`.

`bot/app.py` lists the features and registers them; the command table, `/help`, the menus
and the tests' expectations are read from these declarations, never copied. A callback that
starts or continues an entry flow needs the flow engine, which exists only once the bot is
wired: the module then builds it in `bind(engine)` and the declaration names it by string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.callback_data import VERSION, CallbackData, pattern_for
from handlers.context import CrmContext
from handlers.flows.flow import Flow
from storage.models import Role

if TYPE_CHECKING:  # the engine's module declares a feature too
    from handlers.flows.engine import FlowEngine

Callback = Callable[[Update, CrmContext], Coroutine[Any, Any, None]]
# A callback itself, or the name of one that the feature's `bind(engine)` builds.
Handler = Callback | str
AnyHandler = BaseHandler[Update, CrmContext, None]

EVERYONE = frozenset(Role)
LEADS = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    roles: frozenset[Role] = EVERYONE

    @property
    def description_key(self) -> str:
        return f"command.{self.name}"


@dataclass(frozen=True)
class Route:
    """Buttons of one callback-data kind, all its actions or only `actions`."""

    kind: type[CallbackData]
    handler: Handler
    actions: tuple[str, ...] = ()

    @property
    def pattern(self) -> str:
        if not self.actions:
            return pattern_for(self.kind)
        return rf"^{VERSION}:{self.kind.kind}:({'|'.join(self.actions)}):"


@dataclass(frozen=True)
class OnMessage:
    """Messages that are not commands nor a flow's answer: a shared contact, a document."""

    filter: filters.BaseFilter
    handler: Handler


@dataclass(frozen=True)
class Job:
    """Background work the feature needs, run on a ticker: a pass every `every` (the first
    `first` after start; `at_start`: also once while the bot starts, before any update).
    The pass itself lives in bot/ (`bot.jobs.RUNNERS`, by name): it sends through the bot's
    paced sender, which handlers do not reach."""

    name: str
    every: timedelta
    first: timedelta
    at_start: bool = False


@dataclass(frozen=True)
class Feature:
    name: str
    commands: tuple[Command, ...] = ()
    routes: tuple[Route, ...] = ()
    messages: tuple[OnMessage, ...] = ()
    flows: tuple[Flow, ...] = ()
    # Updates of other types (inline queries, the bot's own membership in a group).
    others: tuple[AnyHandler, ...] = ()
    jobs: tuple[Job, ...] = ()
    bind: Callable[[FlowEngine], Mapping[str, Callback]] | None = None

    def handlers(self, engine: FlowEngine) -> list[AnyHandler]:
        """Commands, routes, messages and other updates: each matches what no other feature's
        does (tests/bot/test_features.py checks commands and button actions)."""
        bound = self.bind(engine) if self.bind is not None else {}

        def resolve(handler: Handler) -> Callback:
            return bound[handler] if isinstance(handler, str) else handler

        return [
            *(CommandHandler(c.name, resolve(c.handler)) for c in self.commands),
            *(CallbackQueryHandler(resolve(r.handler), pattern=r.pattern) for r in self.routes),
            *(MessageHandler(m.filter, resolve(m.handler)) for m in self.messages),
            *self.others,
        ]


def all_commands(features: Iterable[Feature]) -> tuple[Command, ...]:
    """In the order of the features, then of each feature's declaration: the menu's order."""
    return tuple(command for feature in features for command in feature.commands)


def all_jobs(features: Iterable[Feature]) -> tuple[Job, ...]:
    return tuple(job for feature in features for job in feature.jobs)


def actions_of(kind: type[CallbackData]) -> tuple[str, ...]:
    """The actions a kind's data may carry (the alternatives its pattern starts with), or ()
    for a kind without actions."""
    found = re.match(r"\(([a-z|]+)\)", kind.pattern.pattern)
    return tuple(found[1].split("|")) if found else ()

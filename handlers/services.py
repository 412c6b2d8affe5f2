"""What every handler may use, built once by `build_application` and kept in bot_data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import Config
from handlers.i18n import Catalogs
from storage.db import Database
from storage.member_cache import MemberCache
from storage.models import utcnow

if TYPE_CHECKING:  # handlers.feature reaches this module through the context
    from handlers.feature import Command


@dataclass
class Services:
    config: Config
    db: Database
    catalogs: Catalogs
    members: MemberCache
    commands: tuple[Command, ...]  # what the features declare: /help and the menus
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    clock: Callable[[], datetime] = utcnow  # injectable: tests pin "now"

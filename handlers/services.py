"""What every handler may use, built once by `build_application` and kept in bot_data."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Config
from handlers.i18n import Catalogs
from storage.db import Database


@dataclass
class Services:
    config: Config
    db: Database
    catalogs: Catalogs
    admin_ids: frozenset[int] = field(default_factory=frozenset)

"""What every handler may use, built once by `build_application` and kept in bot_data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from handlers.configuration import Configuration, QualitySettings
from handlers.i18n import Catalogs
from storage.db import Database
from storage.member_cache import MemberCache
from storage.models import utcnow
from storage.quality.rules import QualityRules, rules_from

if TYPE_CHECKING:  # handlers.feature reaches this module through the context
    from handlers.feature import Command

# launch(batch_id, progress message id, language): run a queued import in the background,
# reporting in the language the member is using now.
Launch = Callable[[int, int | None, str | None], None]


@dataclass
class Jobs:
    """Background work a handler may start. The bot fills these in when it installs its jobs
    (`bot.digest_jobs`, `bot.import_jobs`); without them (a test) nothing is started."""

    kick_digests: Callable[[], None] | None = None
    launch_import: Launch | None = None


@dataclass
class Services:
    config: Configuration
    db: Database
    catalogs: Catalogs
    members: MemberCache
    commands: tuple[Command, ...]  # what the features declare: /help and the menus
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    clock: Callable[[], datetime] = utcnow  # injectable: tests pin "now"
    jobs: Jobs = field(default_factory=Jobs)

    @cached_property
    def quality(self) -> QualityRules:
        """The team's `[quality]` rules, built once."""
        return quality_rules(self.config.quality)


def quality_rules(settings: QualitySettings) -> QualityRules:
    """The `[quality]` table as the rules storage judges records by."""
    return rules_from(
        required=settings.required,
        weights=settings.weights,
        regions_file=settings.regions_file,
        industries_file=settings.industries_file,
    )

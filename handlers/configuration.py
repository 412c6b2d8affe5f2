"""The settings handlers read, as protocols: `bot.config.Config` satisfies them, and handlers
never import `bot` (the layers run bot -> handlers -> storage; see pyproject's contracts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Protocol


class LocaleSettings(Protocol):
    @property
    def default_language(self) -> str: ...
    @property
    def default_region(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def currency(self) -> str: ...


class AccessSettings(Protocol):
    @property
    def invite_ttl_hours(self) -> int: ...


class ReminderSettings(Protocol):
    @property
    def birthday_check_time(self) -> time: ...
    @property
    def digest_time(self) -> time: ...
    @property
    def work_start(self) -> time: ...
    @property
    def work_end(self) -> time: ...
    @property
    def birthday_days_ahead(self) -> int: ...
    @property
    def cadence_days(self) -> Mapping[str, int]: ...


class NotificationSettings(Protocol):
    @property
    def weekly_day(self) -> str: ...


class DealSettings(Protocol):
    @property
    def stages(self) -> list[str]: ...


class OrderSettings(Protocol):
    @property
    def number_pattern(self) -> str: ...


class ReportSettings(Protocol):
    @property
    def font_path(self) -> str: ...


class ImportSettings(Protocol):
    @property
    def undo_hours(self) -> int: ...
    @property
    def max_rows(self) -> int: ...
    @property
    def max_file_mb(self) -> int: ...


class Configuration(Protocol):
    """The part of the configuration the chat side uses, by table of `config.toml`."""

    @property
    def locale(self) -> LocaleSettings: ...
    @property
    def access(self) -> AccessSettings: ...
    @property
    def reminders(self) -> ReminderSettings: ...
    @property
    def notifications(self) -> NotificationSettings: ...
    @property
    def deals(self) -> DealSettings: ...
    @property
    def orders(self) -> OrderSettings: ...
    @property
    def reports(self) -> ReportSettings: ...
    @property
    def imports(self) -> ImportSettings: ...

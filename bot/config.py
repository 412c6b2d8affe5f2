"""Typed configuration: `config.toml` plus environment overrides, validated once at start.

Every key is documented in `config.example.toml` (a test checks that). A bad value becomes
one readable line per key via `ConfigError`, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from storage.contracts import DEFAULT_NUMBER_PATTERN, check_number_pattern
from storage.quality.rules import DEFAULT_REQUIRED, DEFAULT_WEIGHTS, FIELDS, unknown_fields
from storage.quality.standard import read_list

DEFAULT_CONFIG_PATH = Path("config.toml")
ENV_CONFIG_PATH = "CRM_CONFIG"
ENV_TOKEN = "CRM_BOT_TOKEN"
ENV_DATABASE_URL = "CRM_DATABASE_URL"
DEFAULT_DB_FILENAME = "crm.sqlite3"


class ConfigError(Exception):
    """Raised with one human-readable line per offending key."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r} (e.g. 'Asia/Shanghai')") from exc
    return name


TimezoneName = Annotated[str, AfterValidator(_valid_timezone)]


def _valid_number_pattern(pattern: str) -> str:
    try:
        return check_number_pattern(pattern)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(
            f"{exc} (e.g. {DEFAULT_NUMBER_PATTERN!r}: {{year}} optional, {{seq}} once)"
        ) from exc


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class WebhookConfig(_Section):
    listen: str = "0.0.0.0"
    port: int = Field(default=8443, ge=1, le=65535)
    url: str = ""
    path: str = "telegram"
    secret_token: SecretStr = SecretStr("")


class TelegramConfig(_Section):
    token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Mode = Mode.POLLING
    webhook: WebhookConfig = WebhookConfig()


class DatabaseConfig(_Section):
    url: str = ""


class LocaleConfig(_Section):
    default_language: Literal["en", "zh"] = "en"
    default_region: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    timezone: TimezoneName = "Asia/Shanghai"
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class AccessConfig(_Section):
    admins: list[int] = []
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)


class RemindersConfig(_Section):
    birthday_check_time: time = time(9, 0)
    digest_time: time = time(8, 30)
    work_start: time = time(9, 0)
    work_end: time = time(19, 0)
    birthday_days_ahead: int = Field(default=0, ge=0, le=30)
    cadence_days: dict[str, int] = {"loyal": 30, "existing": 60, "potential": 90}

    @field_validator("cadence_days")
    @classmethod
    def _positive_cadence(cls, cadence: dict[str, int]) -> dict[str, int]:
        if any(days < 1 for days in cadence.values()):
            raise ValueError("every cadence must be at least 1 day")
        return cadence


class NotificationsConfig(_Section):
    """Manager digests, team feeds and big-deal notices (the digest time is in [reminders])."""

    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    stale_days: int = Field(default=14, ge=1, le=365)
    big_deal_amount: Decimal = Field(default=Decimal(100000), ge=0)
    big_deal_currency: str = Field(default="", pattern=r"^([A-Z]{3})?$")


class DealsConfig(_Section):
    stages: list[str] = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]

    @field_validator("stages")
    @classmethod
    def _must_end_won_lost(cls, stages: list[str]) -> list[str]:
        if len(set(stages)) != len(stages) or not {"won", "lost"} <= set(stages):
            raise ValueError("stages must be unique and include 'won' and 'lost'")
        return stages


class OrdersConfig(_Section):
    """Orders: the number suggested when a member skips it, `{year}` and `{seq}` filled in."""

    number_pattern: str = Field(default="DD-{year}-{seq:04d}", min_length=1, max_length=48)

    @field_validator("number_pattern")
    @classmethod
    def _must_number_a_sequence(cls, pattern: str) -> str:
        try:
            pattern.format(year=2026, seq=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError("only {year} and {seq} may be filled in") from error
        if pattern.count("{seq") != 1:
            raise ValueError("the pattern needs {seq} exactly once")
        return pattern


class ReportsConfig(_Section):
    """`/report` charts; an empty font path uses the bundled Noto Sans SC or a system CJK font."""

    font_path: str = ""


class ImportsConfig(_Section):
    """Spreadsheet imports: how long an import can be undone, and how big a file may be."""

    undo_hours: int = Field(default=72, ge=1, le=24 * 90)
    max_rows: int = Field(default=200_000, ge=1, le=5_000_000)
    max_file_mb: int = Field(default=20, ge=1, le=2000)


class ContractsConfig(_Section):
    """Contracts: how a skipped number is made, the default renewal notice, the last-week
    reminder, whether the owner's manager is reminded too, and the largest signed file."""

    number_pattern: Annotated[str, AfterValidator(_valid_number_pattern)] = DEFAULT_NUMBER_PATTERN
    renewal_notice_days: int = Field(default=30, ge=0, le=366)
    final_notice_days: int = Field(default=7, ge=0, le=366)
    remind_manager: bool = True
    max_file_mb: int = Field(default=20, ge=1, le=2000)


TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


class TicketsConfig(_Section):
    """Service requests: the number, the types offered, the SLA per priority in hours (the
    default due time), and how many photos or files one ticket takes at entry."""

    number_pattern: Annotated[str, AfterValidator(_valid_number_pattern)] = "GD-{year}-{seq:04d}"
    types: list[str] = ["complaint", "repair", "question", "return", "other"]
    sla_hours: dict[str, int] = {"urgent": 4, "high": 24, "normal": 72, "low": 168}
    max_files: int = Field(default=10, ge=1, le=50)
    # A customer's satisfaction score (ticket, delivered order, visit) is "falling", and the
    # owner's manager told, when it is this far below their average before it (0: never)...
    satisfaction_drop: float = Field(default=1.5, ge=0, le=4)
    # ... or at most this score (0: never).
    satisfaction_floor: int = Field(default=2, ge=0, le=5)

    @field_validator("types")
    @classmethod
    def _valid_types(cls, types: list[str]) -> list[str]:
        if not types or len(set(types)) != len(types):
            raise ValueError("types must be unique and not empty")
        if any(not t.isascii() or not t.isidentifier() or len(t) > 32 for t in types):
            raise ValueError("a type is a short word of letters, digits and _")
        return types

    @field_validator("sla_hours")
    @classmethod
    def _valid_sla(cls, hours: dict[str, int]) -> dict[str, int]:
        if set(hours) - set(TICKET_PRIORITIES):
            raise ValueError(f"priorities are {', '.join(TICKET_PRIORITIES)}")
        if any(not 1 <= h <= 24 * 365 for h in hours.values()):
            raise ValueError("an SLA is 1 hour to a year")
        return hours

    def sla(self) -> dict[str, timedelta]:
        """`sla_hours` as `storage.tickets` takes it."""
        return {p: timedelta(hours=h) for p, h in self.sla_hours.items()}


class InstancesConfig(_Section):
    """Several instances on one database: how long an instance holds an update it accepted.

    It is how long a member may wait after an instance dies; a shorter lease is renewed more
    often (every third of it), so one stalled longer than that loses its updates to others."""

    update_lease_seconds: int = Field(default=15, ge=1, le=300)


class ApiConfig(_Section):
    """`crm-bot api`: where the HTTP API listens, and how many calls a token may make."""

    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    rate_per_minute: int = Field(default=120, ge=1, le=100_000)


class WebhooksConfig(_Section):
    """Outgoing webhooks: how long one POST may take, and how many run at once."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=30)
    max_concurrency: int = Field(default=8, ge=1, le=64)


def _known_fields(required: dict[str, list[str]]) -> dict[str, list[str]]:
    lines = [f"unknown record type {record!r}" for record in required if record not in FIELDS]
    lines += [
        f"{record}: unknown field {name!r} (one of {', '.join(FIELDS[record])})"
        for record, names in required.items()
        if record in FIELDS
        for name in unknown_fields(record, names)
    ]
    if lines:
        raise ValueError("; ".join(lines))
    return required


def _weighted_fields(weights: dict[str, int]) -> dict[str, int]:
    unknown = unknown_fields("customer", list(weights))
    if unknown:
        raise ValueError(f"unknown customer field(s) {', '.join(map(repr, unknown))}")
    return weights


def _list_file(path: str) -> str:
    if path:
        try:
            read_list(Path(path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a readable list file ({exc})") from exc
    return path


class QualityConfig(_Section):
    """Data quality: the fields each record type requires (asked without Skip, import rows
    without them rejected), customer field weights for the completeness score, and files that
    replace the default region and industry lists. `approve_new`: each customer a
    salesperson enters waits in /review for a manager's approval."""

    required: Annotated[dict[str, list[str]], AfterValidator(_known_fields)] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_REQUIRED.items()}
    )
    weights: Annotated[
        dict[str, Annotated[int, Field(ge=0, le=100)]], AfterValidator(_weighted_fields)
    ] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    regions_file: Annotated[str, AfterValidator(_list_file)] = ""
    industries_file: Annotated[str, AfterValidator(_list_file)] = ""
    approve_new: bool = False


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class Config(_Section):
    telegram: TelegramConfig = TelegramConfig()
    database: DatabaseConfig = DatabaseConfig()
    locale: LocaleConfig = LocaleConfig()
    access: AccessConfig = AccessConfig()
    reminders: RemindersConfig = RemindersConfig()
    deals: DealsConfig = DealsConfig()
    orders: OrdersConfig = OrdersConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    reports: ReportsConfig = ReportsConfig()
    imports: ImportsConfig = ImportsConfig()
    contracts: ContractsConfig = ContractsConfig()
    tickets: TicketsConfig = TicketsConfig()
    instances: InstancesConfig = InstancesConfig()
    api: ApiConfig = ApiConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    quality: QualityConfig = QualityConfig()
    logging: LoggingConfig = LoggingConfig()

    def require_token(self) -> str:
        """The token, or a ConfigError naming where to put it."""
        token = self.telegram.token.get_secret_value()
        if not token:
            raise ConfigError(
                [f"telegram.token: missing (set it in config.toml or the {ENV_TOKEN} variable)"]
            )
        return token


def _format_errors(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see config.example.toml for the valid keys)"
        lines.append(f"{key}: {message}")
    return lines


def config_path_from_env(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get(ENV_CONFIG_PATH) or DEFAULT_CONFIG_PATH)


def load_config(
    path: Path | None, *, environ: dict[str, str] | None = None, required: bool = True
) -> Config:
    """Read TOML (if present), apply env overrides, validate; raise ConfigError on any problem.

    With `required=False` a missing file means "all defaults", which the console uses.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML ({exc})"]) from exc
    elif path is not None and required:
        raise ConfigError([f"{path}: file not found (copy config.example.toml to create it)"])
    for section, key, variable in (
        ("telegram", "token", ENV_TOKEN),
        ("database", "url", ENV_DATABASE_URL),
    ):
        if value := env.get(variable):
            table = data.setdefault(section, {})
            if not isinstance(table, dict):
                raise ConfigError([f"{section}: must be a table ([{section}]), not a value"])
            table[key] = value
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
    if not config.database.url:
        folder = path.parent if path is not None else Path.cwd()
        db_path = (folder / DEFAULT_DB_FILENAME).resolve()
        config = config.model_copy(update={"database": DatabaseConfig(url=f"sqlite:///{db_path}")})
    if config.telegram.mode is Mode.WEBHOOK and not config.telegram.webhook.url:
        raise ConfigError(["telegram.webhook.url: required when telegram.mode = 'webhook'"])
    if (
        config.telegram.mode is Mode.WEBHOOK
        and not config.telegram.webhook.secret_token.get_secret_value()
    ):
        # Without it anyone who finds the URL can post forged updates to every instance.
        raise ConfigError(
            ["telegram.webhook.secret_token: required when telegram.mode = 'webhook'"]
        )
    return config

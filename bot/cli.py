"""`crm-bot`: run the bot, try it offline, migrate, check a config, import, export, report
duplicates, back up, manage webhooks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from telegram.error import InvalidToken

from bot import webhook_cli
from bot.api.cli import add_parsers as add_api_parsers
from bot.config import Config, ConfigError, config_path_from_env, load_config
from bot.logs import setup_logging

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
DATABASE_FIRST_DELAY_S = 1.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-bot", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="path to config.toml (default: $CRM_CONFIG or ./config.toml)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (polling or webhook, per config)")
    console = commands.add_parser(
        "console", help="try every flow offline in the terminal: no token, no network"
    )
    console.add_argument(
        "--db",
        type=Path,
        default=Path("crm-console.sqlite3"),
        help="SQLite file the console keeps its data in (default: ./crm-console.sqlite3)",
    )
    console.add_argument("--lang", choices=("en", "zh"), default="en", help="your language")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply database migrations")
    commands.add_parser(
        "check-config", help="validate the config file and try the database, without starting"
    )
    export = commands.add_parser("export", help="write every record of one kind to a file")
    export.add_argument(
        "kind",
        choices=("customers", "deals", "notes", "purchases", "contracts", "orders", "tickets"),
    )
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv", dest="fmt")
    export.add_argument("--output", type=Path, required=True, help="file to write")
    dedupe = commands.add_parser(
        "dedupe", help="write every cluster of likely duplicate customers to a file"
    )
    dedupe.add_argument("--report", type=Path, required=True, help="file to write: .csv or .xlsx")
    backup = commands.add_parser(
        "backup", help="copy the SQLite database while the bot runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("path", type=Path, help="file to write, or a directory for a dated file")
    _import_parser(commands)
    add_api_parsers(commands)
    webhook_cli.add_parser(commands)
    return parser


def _import_parser(commands: Any) -> None:
    parser = commands.add_parser("import", help="import customers from a CSV or XLSX file")
    parser.add_argument("file", type=Path, help="the spreadsheet (CSV: UTF-8 or GBK; or XLSX)")
    parser.add_argument(
        "--owner", required=True, help="who gets the customers: member id, telegram id or @name"
    )
    parser.add_argument(
        "--mode",
        choices=("skip", "update", "create"),
        default="skip",
        help="a row matching a customer by phone or email: skip it (default), update the "
        "customer, or create another",
    )
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--day-first", dest="day_first", action="store_true", default=None)
    order.add_argument("--month-first", dest="day_first", action="store_false")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=FIELD",
        help="map a column (repeatable); FIELD 'ignore' leaves it out",
    )


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta
    args = _parser().parse_args(argv)
    if args.command == "console":
        from bot.console import run_console

        setup_logging(level="WARNING")
        return asyncio.run(run_console(db_path=args.db, language=args.lang))
    try:
        config = load_config(config_path_from_env(args.config))
        if args.command in ("run", "check-config"):
            config.require_token()
    except ConfigError as exc:
        for line in exc.lines:
            sys.stderr.write(f"config error: {line}\n")
        return EXIT_CONFIG
    token = config.telegram.token.get_secret_value()
    setup_logging(level=config.logging.level, fmt=config.logging.format, secrets=[token])
    if args.command == "check-config":
        return _check_config(config)
    if args.command == "db":
        return _db_upgrade(config)
    if args.command == "export":
        from handlers.export import export_to_file

        export_to_file(
            config.database.url, args.kind, args.fmt, config.locale.timezone, args.output
        )
        return 0
    if args.command == "backup":
        return _backup(config, args.path)
    if args.command == "dedupe":
        return _dedupe_report(config, args.report)
    if args.command == "import":
        return _import(config, args)
    if args.command in ("api", "token"):
        from bot.api import cli as api_cli

        if args.command == "token":
            return api_cli.token_command(config, args)
        return api_cli.serve(config, args.port)
    if args.command == "webhook":
        return webhook_cli.run(config.database.url, args)
    return _run(config)


def _import(config: Config, args: argparse.Namespace) -> int:
    from handlers.imports.cli import ImportRequest, import_file

    request = ImportRequest(
        path=args.file,
        owner=args.owner,
        mode=args.mode,
        day_first=args.day_first,
        mapping=args.map,
        region=config.locale.default_region,
        max_rows=config.imports.max_rows,
        max_file_mb=config.imports.max_file_mb,
        quality=config.quality,
        currency=config.locale.currency,
    )
    return import_file(config.database.url, request)


def _dedupe_report(config: Config, output: Path) -> int:
    from handlers.dedupe_report import report_format, report_to_file

    if report_format(output) is None:
        sys.stderr.write(f"dedupe: the report must be a .csv or .xlsx file, not {output}\n")
        return EXIT_CONFIG
    count = report_to_file(config.database.url, config.locale.timezone, output)
    sys.stdout.write(f"{count} clusters of likely duplicates written to {output}\n")
    return 0


def _check_config(config: Config) -> int:
    """The config is valid; the database must also take a connection."""
    from storage.db import Unreachable, check_connection

    try:
        check_connection(config.database.url)
    except Unreachable as exc:
        sys.stderr.write(f"config error: {_unreachable(config.database.url, exc)}\n")
        return EXIT_CONFIG
    sys.stdout.write(_summary(config))
    return 0


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _unreachable(url: str, exc: Exception) -> str:
    return f"database.url: {_masked(url)} is not reachable: {exc}"


def _summary(config: Config) -> str:
    return (
        f"config OK: mode={config.telegram.mode.value}, database={_masked(config.database.url)}, "
        f"api={config.telegram.base_url}, admins={len(config.access.admins)}\n"
    )


def _db_upgrade(config: Config) -> int:
    from storage.db import Database
    from storage.migrate import current_revision, upgrade_database

    db = Database(config.database.url)
    try:
        upgrade_database(db.engine)
        sys.stdout.write(f"database at revision {current_revision(db.engine)}\n")
    finally:
        db.close()
    return 0


def _backup(config: Config, target: Path) -> int:
    from storage.backup import BackupError, backup_sqlite

    try:
        result = backup_sqlite(config.database.url, target)
    except BackupError as exc:
        sys.stderr.write(f"backup error: {exc}\n")
        return EXIT_CONFIG
    megabytes = result.size_bytes / 1_000_000
    sys.stdout.write(
        f"backup written: {result.path} ({megabytes:.1f} MB, {result.seconds:.1f} s, "
        "integrity ok)\n"
    )
    return 0


def _run(config: Config) -> int:
    from bot.app import build_application, serve

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if await _wait_for_database(config.database.url, stop):
            await serve(build_application(config), stop)

    try:
        asyncio.run(run())
    except InvalidToken:
        sys.stderr.write("config error: telegram.token: rejected by the Bot API\n")
        return EXIT_CONFIG
    return 0


async def _wait_for_database(url: str, stop: asyncio.Event) -> bool:
    """Retry the first connection with backoff, as `CrmBot.initialize` retries the Bot API:
    the database may start after the bot (or its folder be mounted late). False when `stop`
    came first."""
    from bot.telegram_bot import STARTUP_BACKOFF_MAX_S
    from storage.db import Unreachable, check_connection

    delay = DATABASE_FIRST_DELAY_S
    while not stop.is_set():
        try:
            await asyncio.to_thread(check_connection, url)
        except Unreachable as exc:
            logger.warning("%s; retrying in %.0f s", _unreachable(url, exc), delay)
        else:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, STARTUP_BACKOFF_MAX_S)
    return False


if __name__ == "__main__":
    raise SystemExit(main())

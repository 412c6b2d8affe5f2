"""`crm-bot api` and `crm-bot token create|list|revoke`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from bot.config import Config
from storage.access import NotFound
from storage.api_tokens import NameTaken, create_token, list_tokens, revoke_token
from storage.db import Database
from storage.migrate import upgrade_database

logger = logging.getLogger(__name__)

EXIT_USAGE = 2


def add_parsers(commands: Any) -> None:
    api = commands.add_parser("api", help="serve the HTTP API for other systems (docs/api.md)")
    api.add_argument("--port", type=int, default=None, help="port (default: [api] port, 8080)")
    token = commands.add_parser("token", help="API tokens: create, list, revoke")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    made = actions.add_parser("create", help="a new token; printed once, on the last line")
    made.add_argument("--name", required=True, help="what the token is for, e.g. erp")
    made.add_argument(
        "--as",
        dest="as_id",
        type=int,
        required=True,
        metavar="TELEGRAM_USER_ID",
        help="the member the token acts as (it sees what they see)",
    )
    made.add_argument("--read-only", action="store_true", help="the token may only read")
    actions.add_parser("list", help="every token, with its member and last use")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")


def token_command(config: Config, args: argparse.Namespace) -> int:
    db = Database(config.database.url)
    try:
        upgrade_database(db.engine)
        if args.token_command == "create":
            return _create(db, args)
        if args.token_command == "revoke":
            try:
                db.run_sync(revoke_token, actor=None, name=args.name)
            except NotFound:
                sys.stderr.write(f"no live token named {args.name!r}\n")
                return EXIT_USAGE
            sys.stdout.write(f"token {args.name} revoked\n")
            return 0
        for row in db.read_sync(list_tokens, actor=None):
            token = row.token
            state = (
                "revoked"
                if token.revoked_at
                else ("read-only" if token.read_only else "read-write")
            )
            used = token.last_used_at.isoformat() if token.last_used_at else "never"
            sys.stdout.write(f"{token.name}\tas {row.member_name}\t{state}\tlast used {used}\n")
        return 0
    finally:
        db.close()


def _create(db: Database, args: argparse.Namespace) -> int:
    try:
        created = db.run_sync(
            create_token,
            actor=None,
            name=args.name,
            member_telegram_id=args.as_id,
            read_only=args.read_only,
        )
    except NameTaken:
        sys.stderr.write(f"a token named {args.name!r} exists; revoke it or pick another name\n")
        return EXIT_USAGE
    except NotFound:
        sys.stderr.write(f"no active member has the Telegram id {args.as_id}\n")
        return EXIT_USAGE
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    access = "read-only" if args.read_only else "read-write"
    sys.stdout.write(f"token {created.token.name} created ({access}); shown only now:\n")
    sys.stdout.write(f"{created.secret}\n")
    return 0


def serve(config: Config, port: int | None) -> int:
    """Serve until SIGINT/SIGTERM (uvicorn handles them), on the bot's database."""
    import uvicorn

    from bot.api.app import create_app

    db = Database(config.database.url, workers=1)
    try:
        upgrade_database(db.engine)
        app = create_app(config, db, housekeeping=True)
        uvicorn.run(
            app,
            host=config.api.listen,
            port=port or config.api.port,
            log_config=None,  # ours (bot.logs), set up by the CLI
            access_log=False,
        )
    finally:
        db.close()
    return 0

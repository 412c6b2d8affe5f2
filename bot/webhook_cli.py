"""`crm-bot webhook add URL --events ... | list | remove ID`: the endpoints, from a shell.

`add` prints the endpoint's signing secret on its last line, so a script can take it with
`tail -n 1`. Endpoints are also managed in the chat by admins (`/webhooks`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the database is opened only when a webhook command runs
    from storage.db import Database
    from storage.webhook_models import WebhookEndpoint

EXIT_USAGE = 2
EXIT_UNKNOWN = 1


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("webhook", help="outgoing webhooks: add, list, remove endpoints")
    actions = parser.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="subscribe a URL; prints its signing secret last")
    add.add_argument("url", help="http(s) URL the events are posted to")
    add.add_argument(
        "--events",
        required=True,
        help="comma-separated event types (docs/webhooks.md) or groups ('ticket.*'); '*': all",
    )
    actions.add_parser("list", help="the endpoints, their state and events")
    remove = actions.add_parser("remove", help="delete an endpoint and its delivery history")
    remove.add_argument("id", type=int, help="the endpoint's id (see `list`)")


def run(database_url: str, args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import upgrade_database
    from storage.webhooks import list_endpoints

    db = Database(database_url)
    try:
        upgrade_database(db.engine)
        if args.webhook_command == "add":
            return _add(db, args.url, args.events)
        if args.webhook_command == "remove":
            return _remove(db, args.id)
        for endpoint in db.read_sync(list_endpoints):
            sys.stdout.write(describe(endpoint) + "\n")
        return 0
    finally:
        db.close()


def _add(db: Database, url: str, events: str) -> int:
    from storage.webhooks import create_endpoint

    try:
        endpoint = db.run_sync(create_endpoint, url=url, events=events.split(","))
    except ValueError as exc:
        sys.stderr.write(f"webhook error: {exc}\n")
        return EXIT_USAGE
    sys.stdout.write(f"{describe(endpoint)}\nsigning secret:\n{endpoint.secret}\n")
    return 0


def _remove(db: Database, endpoint_id: int) -> int:
    from storage.webhooks import UnknownEndpoint, remove_endpoint

    try:
        db.run_sync(remove_endpoint, endpoint_id=endpoint_id)
    except UnknownEndpoint:
        sys.stderr.write(f"webhook error: no endpoint {endpoint_id}\n")
        return EXIT_UNKNOWN
    sys.stdout.write(f"endpoint {endpoint_id} removed\n")
    return 0


def describe(endpoint: WebhookEndpoint) -> str:
    """One line: id, state, URL, events."""
    if not endpoint.enabled:
        state = "off"
    elif endpoint.failing_since is not None:
        state = f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    else:
        state = "on"
    return f"{endpoint.id}\t{state}\t{endpoint.url}\t{','.join(endpoint.events)}"

"""The features' declarations are complete and unambiguous, and the README's "Where is what"
table and the application's handlers say what they declare."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from telegram.ext import CallbackQueryHandler, CommandHandler

import handlers
from bot.app import FEATURES, CrmApplication, build_application, services_of
from bot.config import Config, DatabaseConfig
from bot.jobs import RUNNERS
from handlers.callback_data import KINDS, CallbackData
from handlers.commands import commands_for
from handlers.feature import Command, Feature, actions_of, all_commands, all_jobs
from handlers.i18n import LANGUAGES, Catalogs
from storage.models import Role

COMMANDS = all_commands(FEATURES)
README = Path(__file__).parents[2] / "README.md"


@pytest.fixture
def application(db_url: str) -> Iterator[CrmApplication]:
    app = build_application(Config(database=DatabaseConfig(url=db_url)), token="123:abc")
    yield app
    services_of(app).db.close()


def declaring_modules() -> dict[int, ModuleType]:
    """Each feature's module: the one whose `FEATURE` it is."""
    found: dict[int, ModuleType] = {}
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        module = importlib.import_module(info.name)
        feature = getattr(module, "FEATURE", None)
        if isinstance(feature, Feature):
            found[id(feature)] = module
    return found


def module_path(module: ModuleType) -> str:
    return Path(module.__file__ or "").relative_to(README.parent).as_posix()


def where_is_what() -> list[str]:
    """The README table's rows, in menu order and then in the order of the features."""
    modules = declaring_modules()
    rows = [
        f"| `/{command.name}` | `{module_path(modules[id(feature)])}` |"
        for feature in FEATURES
        for command in feature.commands
    ]
    for feature in FEATURES:
        for route in feature.routes:
            actions = ", ".join(route.actions) if route.actions else "all"
            path = module_path(modules[id(feature)])
            rows.append(f"| `{route.kind.kind}` buttons: {actions} | `{path}` |")
    for feature in FEATURES:
        for job in feature.jobs:
            path = module_path(modules[id(feature)])
            run = RUNNERS[job.name]
            runner = f"{run.__module__}.{run.__name__}"
            when = f"every {span(job.every)}" + (", and at start" if job.at_start else "")
            rows.append(f"| `{job.name}` job: {when} | `{path}` | `{runner}` |")
    return rows


def span(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def test_every_feature_is_declared_by_one_module() -> None:
    modules = declaring_modules()
    assert all(id(feature) in modules for feature in FEATURES)
    listed = {id(feature) for feature in FEATURES}
    assert [m.__name__ for key, m in modules.items() if key not in listed] == []


def test_every_command_is_declared_once() -> None:
    counts = Counter(command.name for command in COMMANDS)
    assert [name for name, count in counts.items() if count > 1] == []


def test_every_command_has_exactly_one_handler(application: CrmApplication) -> None:
    registered = Counter(
        name
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    )
    assert registered == Counter(command.name for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_has_a_description_in_both_catalogs(
    catalogs: Catalogs, command: Command
) -> None:
    for language in LANGUAGES:
        assert catalogs.messages[language].get(command.description_key, "").strip()


def test_salespeople_do_not_see_lead_commands() -> None:
    names = {command.name for command in commands_for(COMMANDS, Role.SALES)}
    assert {"start", "help", "cancel"} <= names
    assert {"invite", "team", "pipeline", "feed", "restore"}.isdisjoint(names)


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda k: k.kind)
def test_every_callback_action_has_exactly_one_route(kind: type[CallbackData]) -> None:
    routes = [route for feature in FEATURES for route in feature.routes if route.kind is kind]
    assert routes, f"no feature routes {kind.__name__}"
    if any(not route.actions for route in routes):
        assert len(routes) == 1, f"{kind.__name__} is routed whole and in part"
        return
    routed = Counter(action for route in routes for action in route.actions)
    assert sorted(routed.elements()) == sorted(actions_of(kind))


def test_every_job_has_exactly_one_runner_and_every_runner_a_job() -> None:
    declared = Counter(job.name for job in all_jobs(FEATURES))
    assert [name for name, count in declared.items() if count > 1] == []
    assert sorted(declared) == sorted(RUNNERS)


def test_every_route_is_registered_once(application: CrmApplication) -> None:
    registered = Counter(
        handler.pattern.pattern
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None
    )
    declared = Counter(route.pattern for feature in FEATURES for route in feature.routes)
    assert registered == declared


def test_a_command_is_one_hop_from_its_module() -> None:
    """The module is named after the command, or names it in its docstring's first lines."""
    modules = declaring_modules()
    for feature in FEATURES:
        module = modules[id(feature)]
        top = "\n".join((module.__doc__ or "").splitlines()[:3])
        for command in feature.commands:
            named = module.__name__.rpartition(".")[2] in (command.name, f"{command.name}s")
            assert named or f"/{command.name}" in top, (command.name, module.__name__)


def test_readme_where_is_what_table_matches_the_declarations() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Where is what", 1)[1]
    table = re.findall(r"^\| `[^\n]*$", section.split("\n\n#", 1)[0], flags=re.MULTILINE)
    assert table == where_is_what(), "\n".join(["README should have:", *where_is_what()])

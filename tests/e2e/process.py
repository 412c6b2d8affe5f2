"""A real `crm-bot run` child process against the emulator, for kill -9 tests.

An in-process bot cannot be killed without killing the test; these helpers start the bot as
operators do (`python -m bot run` with a config file), so SIGKILL hits it at any instruction.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlmodel import select

from bot.emulator import BotApiEmulator
from storage.db import Database
from tests.conftest import ADMIN_ID, TOKEN


def write_config(tmp_path: Path, emu: BotApiEmulator, db_url: str) -> Path:
    """The config file a child bot reads: the emulator's URLs, `db_url`, DEBUG logs."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{emu.base_url}"\n'
        f'base_file_url = "{emu.base_file_url}"\n[database]\nurl = "{db_url}"\n'
        f'[access]\nadmins = [{ADMIN_ID}]\n[logging]\nlevel = "DEBUG"\n',
        encoding="utf-8",
    )
    return config


async def spawn_bot(config: Path, logs: Path) -> asyncio.subprocess.Process:
    """`python -m bot run` with `config`; its stderr (the log) is appended to `logs`."""
    env = {**os.environ, "CRM_CONFIG": str(config)}
    env.pop("CRM_BOT_TOKEN", None)
    with logs.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )


def count(db_url: str, model: type) -> int:
    """How many rows `model`'s table holds, read in a fresh connection."""
    db = Database(db_url)
    found = db.run_sync(lambda s: len(s.exec(select(model)).all()))
    db.close()
    return found

"""Members by Telegram id for a few seconds: the gate reads one for every update.

That read was a database round trip on every message and button press, often the biggest
part of the bot's own time for an answer. Kept correct by two rules:
* any INSERT, UPDATE or DELETE on the member table through this process's engine empties the
  cache at once (a reader that started before such a write cannot put its stale row back);
* a change made elsewhere (another instance, `crm-bot` commands in another process) shows
  within `TTL_S`.
Only members that exist are kept: a stranger who has just been added passes at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, event

from storage.models import Member

TTL_S = 5.0
_WROTE = "crm_wrote_member"
_WRITES_MEMBER = re.compile(r"\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?member\"?\s", re.I)


class MemberCache:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[float, Member]] = {}
        self.generation = 0  # bumped by every member write and its commit; see `put`
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "commit", self._on_end)
        event.listen(engine, "rollback", self._on_end)

    def get(self, telegram_id: int) -> Member | None:
        entry = self._entries.get(telegram_id)
        if entry is None or self._clock() - entry[0] > TTL_S:
            return None
        return entry[1]

    def put(self, telegram_id: int, member: Member | None, generation: int) -> None:
        """Keep `member`, read when `generation` was current (take it before the read); a
        member write or commit since then means the row may be stale, and it is dropped."""
        with self._lock:
            if member is not None and generation == self.generation:
                self._entries[telegram_id] = (self._clock(), member)

    def _forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def _on_execute(self, conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if _WRITES_MEMBER.match(statement):
            conn.info[_WROTE] = True
            self._forget_all()

    def _on_end(self, conn: Connection) -> None:
        """Again at the end of the writing transaction: a read that began before it
        committed saw the old row."""
        if conn.info.pop(_WROTE, False):
            self._forget_all()

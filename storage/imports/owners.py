"""Who owns an imported customer: the member the file's owner column names ("Contact owner",
"Person - Owner", "负责人"), when the importer may give customers to them.

Names are matched to active members' display names and usernames with case and spaces
ignored ("zhang wei" is "Zhang Wei"; Chinese names match as written); a name two members share
matches neither. The importer may assign as they may see: an admin (or the command line)
anyone, a manager their team and themselves, a salesperson only themselves. A row whose owner
is not found, or is not theirs to assign, goes to the batch's owner, and the review counts it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.access import team_member_ids
from storage.imports.models import ImportBatch
from storage.models import Member, Role

NOT_FOUND = "not_found"
NOT_ALLOWED = "not_allowed"


def name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split()).removeprefix("@")


@dataclass(frozen=True)
class Owners:
    default: int  # the batch's owner: the importer in the chat
    by_name: dict[str, int]  # name_key -> member id
    allowed: set[int] | None  # whom the importer may assign; None: anyone

    def resolve(self, name: str) -> tuple[int, str | None]:
        """(owner id, None) or (the default owner, NOT_FOUND / NOT_ALLOWED)."""
        if not name:
            return self.default, None
        member = self.by_name.get(name_key(name))
        if member is None:
            return self.default, NOT_FOUND
        if self.allowed is not None and member not in self.allowed:
            return self.default, NOT_ALLOWED
        return member, None


def assignable_owners(session: Session, batch: ImportBatch) -> set[int] | None:
    """Owners whose customers the importer may see, update and assign; None = everyone
    (admin or CLI)."""
    actor = session.get(Member, batch.member_id) if batch.member_id is not None else None
    if actor is None or actor.role == Role.ADMIN:
        return None
    if actor.role == Role.MANAGER:
        return {i for i in session.exec(team_member_ids(actor)).all() if i is not None}
    return {actor.id} if actor.id is not None else set()


def load_owners(session: Session, batch: ImportBatch) -> Owners:
    """The active members by name (one query: a team is small) and whom the importer may
    assign."""
    ids: dict[str, set[int]] = {}
    members = session.exec(
        select(Member.id, Member.display_name, Member.username).where(col(Member.active))
    )
    for member_id, display_name, username in members:
        assert member_id is not None
        for name in (display_name, username or ""):
            if key := name_key(name):
                ids.setdefault(key, set()).add(member_id)
    by_name = {key: found.pop() for key, found in ids.items() if len(found) == 1}
    return Owners(batch.owner_id, by_name, assignable_owners(session, batch))

"""A manager's `/dedupe` kept in the database (`DedupeRun`), not in the process: the clusters
found and the member's place in them survive a restart and reach every instance.

Only ids are kept; every customer is loaded again through the access rule when shown or
merged (`storage.quality.merge`), so a saved cluster grants nothing.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from storage.access import actor_id
from storage.models import Member, utcnow
from storage.review_models import DedupeRun


def get_dedupe_run(session: Session, *, actor: Member) -> DedupeRun | None:
    return session.get(DedupeRun, actor_id(actor))


def start_dedupe_run(session: Session, *, actor: Member, clusters: list[list[int]]) -> None:
    """Replace the actor's run with a new search's clusters, from the first."""
    run = get_dedupe_run(session, actor=actor) or DedupeRun(member_id=actor_id(actor))
    run.clusters = clusters
    run.state = {}
    run.updated_at = utcnow()
    session.add(run)


def save_dedupe_state(session: Session, *, actor: Member, state: dict[str, Any]) -> None:
    """Where the actor is: the cluster shown, the survivor and the picks so far."""
    run = get_dedupe_run(session, actor=actor) or DedupeRun(member_id=actor_id(actor))
    run.state = dict(state)
    run.updated_at = utcnow()
    session.add(run)

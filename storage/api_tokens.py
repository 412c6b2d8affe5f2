"""API tokens: made by an admin (or `crm-bot token create`), shown once, kept hashed, listed
with their last use, revoked; and the remembered answers of idempotent creates.

A token acts as its member: every API call runs the storage functions as that member, so the
access rule (storage/access.py) decides what it sees exactly as in the chat. The secret is 32
random bytes, so its SHA-256 is stored (nothing to brute-force, unlike a password) and looked
up by an index; the found hash is compared again in constant time. A token stops working
when revoked or when its member is deactivated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import storage.api_models  # noqa: F401  (registers the tables on the metadata)
from storage.access import NotAllowed, NotFound, may_administer_members
from storage.api_models import ApiToken, IdempotentRequest
from storage.audit import record_audit
from storage.members import get_member_by_telegram_id
from storage.models import Member, utcnow

ENTITY = "api_token"
PREFIX = "crm_"
MAX_NAME = 64
# `last_used_at` is written at most this often per token: a write per request would make
# every read a write, and on SQLite a write waits for the bot's writers.
LAST_USED_EVERY = timedelta(minutes=1)
# How long a create's answer is kept for its Idempotency-Key (`prune_idempotent`).
IDEMPOTENCY_RETENTION = timedelta(hours=24)


class KeyTaken(Exception):
    """Another request with the same idempotency key was remembered first (at the same
    moment, on PostgreSQL): this transaction must roll back, the first answer stands."""


class NameTaken(ValueError):
    """A token that is not revoked already has this name."""


@dataclass(frozen=True)
class TokenCreated:
    token: ApiToken
    secret: str  # shown once: only its hash is kept


@dataclass(frozen=True)
class TokenRow:
    """A token as `/tokens` and `crm-bot token list` show it."""

    token: ApiToken
    member_name: str


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the token and the member it acts as."""

    token_id: int
    member: Member
    read_only: bool
    last_used_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    actor: Member | None,
    name: str,
    member_telegram_id: int,
    read_only: bool = False,
) -> TokenCreated:
    """A new token acting as the member with that Telegram id. `actor` None is the command
    line (whoever runs it already holds the database); in the chat only admins make tokens."""
    if actor is not None and not may_administer_members(actor):
        raise NotAllowed
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a token name is 1 to {MAX_NAME} characters")
    member = get_member_by_telegram_id(session, telegram_id=member_telegram_id)
    if member is None or not member.active:
        raise NotFound
    if _live_by_name(session, name) is not None:
        raise NameTaken(name)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        member_id=_id(member),
        token_hash=hash_secret(secret),
        read_only=read_only,
        created_by_id=actor.id if actor is not None else None,
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        actor_id=actor.id if actor is not None else None,
        action="create",
        entity_type=ENTITY,
        entity_id=_id(token),
        changes={"name": [None, name], "member_id": [None, member.id], "read_only": read_only},
    )
    return TokenCreated(token, secret)


def list_tokens(session: Session, *, actor: Member | None) -> list[TokenRow]:
    """Every token, live ones first, newest first, with the name of the member it acts as."""
    if actor is not None and not may_administer_members(actor):
        raise NotAllowed
    rows = session.exec(
        select(ApiToken, Member.display_name)
        .join(Member, col(Member.id) == col(ApiToken.member_id))
        .order_by(
            col(ApiToken.revoked_at).is_not(None),
            col(ApiToken.created_at).desc(),
            col(ApiToken.id).desc(),
        )
    )
    return [TokenRow(token, member_name) for token, member_name in rows]


def revoke_token(
    session: Session, *, actor: Member | None, name: str | None = None, token_id: int | None = None
) -> ApiToken:
    """Revoke the live token with that name (or id); from now on it gets 401."""
    if actor is not None and not may_administer_members(actor):
        raise NotAllowed
    if token_id is not None:
        token = session.get(ApiToken, token_id)
        if token is None or token.revoked_at is not None:
            token = None
    else:
        token = _live_by_name(session, " ".join((name or "").split()))
    if token is None:
        raise NotFound
    token.revoked_at = utcnow()
    session.add(token)
    session.flush()
    record_audit(
        session,
        actor_id=actor.id if actor is not None else None,
        action="revoke",
        entity_type=ENTITY,
        entity_id=_id(token),
        changes={"name": token.name},
    )
    return token


def authenticate(session: Session, *, secret: str) -> Caller | None:
    """The caller behind a bearer secret, or None: unknown, revoked, or its member inactive."""
    digest = hash_secret(secret)
    found = session.exec(
        select(ApiToken, Member)
        .join(Member, col(Member.id) == col(ApiToken.member_id))
        .where(col(ApiToken.token_hash) == digest, col(ApiToken.revoked_at).is_(None))
    ).first()
    if found is None:
        return None
    token, member = found
    if not hmac.compare_digest(token.token_hash, digest) or not member.active:
        return None
    session.expunge(member)
    return Caller(_id(token), member, token.read_only, token.last_used_at)


def needs_touch(caller: Caller, *, now: datetime) -> bool:
    return caller.last_used_at is None or now - caller.last_used_at >= LAST_USED_EVERY


def touch_token(session: Session, *, token_id: int, now: datetime) -> None:
    """Record a use (see LAST_USED_EVERY); an older time never overwrites a newer one."""
    session.execute(
        update(ApiToken)
        .where(col(ApiToken.id) == token_id)
        .where(
            col(ApiToken.last_used_at).is_(None)
            | (col(ApiToken.last_used_at) <= now - LAST_USED_EVERY)
        )
        .values(last_used_at=now)
    )


def find_idempotent(session: Session, *, token_id: int, key: str) -> IdempotentRequest | None:
    return session.exec(
        select(IdempotentRequest).where(
            col(IdempotentRequest.token_id) == token_id, col(IdempotentRequest.key) == key
        )
    ).first()


def remember_idempotent(
    session: Session, *, token_id: int, key: str, fingerprint: str, status: int, body: str
) -> None:
    """Keep the first answer, in the create's own transaction. Two creates with one key at
    once on PostgreSQL: the second insert breaks the unique constraint, its whole transaction
    (the second record included) rolls back, and the caller answers with the first."""
    session.add(
        IdempotentRequest(
            token_id=token_id, key=key, fingerprint=fingerprint, status=status, body=body
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyTaken(key) from exc


def prune_idempotent(
    session: Session, *, older_than: timedelta = IDEMPOTENCY_RETENTION, now: datetime | None = None
) -> int:
    """Forget remembered answers older than the retention (docs/api.md): a client retries
    within minutes, and the table would otherwise grow with every keyed create. A key
    sent again after that makes a new record. How many were removed."""
    cutoff = (now or utcnow()) - older_than
    result = session.execute(
        delete(IdempotentRequest).where(col(IdempotentRequest.created_at) < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _live_by_name(session: Session, name: str) -> ApiToken | None:
    return session.exec(
        select(ApiToken).where(col(ApiToken.name) == name, col(ApiToken.revoked_at).is_(None))
    ).first()


def _id(record: ApiToken | Member) -> int:
    assert record.id is not None
    return record.id

"""API tokens: made once and shown once, stored hashed, unique among live ones by name,
revoked for good; only admins manage them; authentication refuses every wrong case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from storage.access import NotAllowed, NotFound
from storage.api_models import ApiToken, IdempotentRequest
from storage.api_tokens import (
    NameTaken,
    authenticate,
    create_token,
    find_idempotent,
    hash_secret,
    list_tokens,
    prune_idempotent,
    remember_idempotent,
    revoke_token,
    touch_token,
)
from storage.audit import list_audit
from storage.db import Database
from storage.models import Member, Role, utcnow
from tests.factories import make_member


def test_created_token_is_stored_hashed_and_authenticates_as_its_member(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        created = create_token(
            session, actor=None, name="erp", member_telegram_id=member.telegram_id
        )
    assert created.secret.startswith("crm_")
    assert len(created.secret) > 40
    stored = db.read_sync(lambda s: s.exec(select(ApiToken)).one())
    assert stored.token_hash == hash_secret(created.secret)
    assert created.secret not in stored.token_hash
    caller = db.read_sync(authenticate, secret=created.secret)
    assert caller is not None
    assert caller.member.id == member.id
    assert caller.read_only is False


@pytest.mark.parametrize("secret", ["", "crm_", "crm_wrong", "x" * 500])
def test_wrong_secrets_authenticate_nobody(db: Database, secret: str) -> None:
    with db.session() as session:
        member = make_member(session)
        create_token(session, actor=None, name="erp", member_telegram_id=member.telegram_id)
    assert db.read_sync(authenticate, secret=secret) is None


def test_revoked_token_and_deactivated_member_authenticate_nobody(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        other = make_member(session)
        first = create_token(session, actor=None, name="a", member_telegram_id=member.telegram_id)
        second = create_token(session, actor=None, name="b", member_telegram_id=other.telegram_id)
    db.run_sync(revoke_token, actor=None, name="a")
    assert db.read_sync(authenticate, secret=first.secret) is None

    def deactivate(session: Session) -> None:
        session.get_one(Member, other.id).active = False

    assert db.read_sync(authenticate, secret=second.secret) is not None
    db.run_sync(deactivate)
    assert db.read_sync(authenticate, secret=second.secret) is None


def test_name_is_unique_among_live_tokens_only(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
    tid = member.telegram_id
    db.run_sync(create_token, actor=None, name="erp", member_telegram_id=tid)
    with pytest.raises(NameTaken):
        db.run_sync(create_token, actor=None, name=" erp ", member_telegram_id=tid)
    db.run_sync(revoke_token, actor=None, name="erp")
    again = db.run_sync(create_token, actor=None, name="erp", member_telegram_id=tid)
    assert db.read_sync(authenticate, secret=again.secret) is not None
    with pytest.raises(NotFound):
        db.run_sync(revoke_token, actor=None, name="nope")


def test_only_admins_manage_tokens_in_the_chat(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
    tid = manager.telegram_id
    with pytest.raises(NotAllowed):
        db.run_sync(create_token, actor=manager, name="x", member_telegram_id=tid)
    with pytest.raises(NotAllowed):
        db.read_sync(list_tokens, actor=manager)
    created = db.run_sync(create_token, actor=admin, name="x", member_telegram_id=tid)
    with pytest.raises(NotAllowed):
        db.run_sync(revoke_token, actor=manager, name="x")
    rows = db.read_sync(list_tokens, actor=admin)
    assert [(r.token.name, r.member_name) for r in rows] == [("x", manager.display_name)]
    audit = db.read_sync(list_audit, entity_type="api_token", entity_id=created.token.id or 0)
    assert [(a.action, a.actor_id) for a in audit] == [("create", admin.id)]


def test_token_for_unknown_or_inactive_member_is_refused(db: Database) -> None:
    with db.session() as session:
        gone = make_member(session, active=False)
    with pytest.raises(NotFound):
        db.run_sync(create_token, actor=None, name="x", member_telegram_id=gone.telegram_id)
    with pytest.raises(NotFound):
        db.run_sync(create_token, actor=None, name="x", member_telegram_id=1)


def test_last_use_is_written_at_most_once_a_minute(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        created = create_token(
            session, actor=None, name="erp", member_telegram_id=member.telegram_id
        )
    token_id = created.token.id or 0
    now = utcnow()
    db.run_sync(touch_token, token_id=token_id, now=now)
    db.run_sync(touch_token, token_id=token_id, now=now + timedelta(seconds=30))
    used = db.read_sync(lambda s: s.get_one(ApiToken, token_id).last_used_at)
    assert used == now
    db.run_sync(touch_token, token_id=token_id, now=now + timedelta(seconds=61))
    used = db.read_sync(lambda s: s.get_one(ApiToken, token_id).last_used_at)
    assert used == now + timedelta(seconds=61)


def test_idempotency_keys_older_than_a_day_are_pruned_newer_ones_kept(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        made = create_token(session, actor=None, name="erp", member_telegram_id=member.telegram_id)
        token_id = made.token.id
        assert token_id is not None
        for key in ("old", "new"):
            remember_idempotent(
                session, token_id=token_id, key=key, fingerprint="f", status=201, body="{}"
            )
    now = utcnow()
    old = db.read_sync(find_idempotent, token_id=token_id, key="old")
    assert old is not None

    def age(session: Session) -> None:
        row = session.get_one(IdempotentRequest, old.id)
        row.created_at = now - timedelta(hours=24, seconds=1)

    db.run_sync(age)
    assert db.run_sync(prune_idempotent, now=now) == 1
    assert db.read_sync(find_idempotent, token_id=token_id, key="old") is None
    assert db.read_sync(find_idempotent, token_id=token_id, key="new") is not None
    assert db.run_sync(prune_idempotent, now=now + timedelta(hours=23)) == 0

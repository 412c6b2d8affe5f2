"""The shared machinery of the resources: versions (ETag / If-Match), idempotent creates
(Idempotency-Key), cursors, and running a change in one transaction.

Versions: a record's ETag is a hash of its representation as the API returns it, not of
`updated_at`. `updated_at` misses changes the representation shows: a note moves its
customer's `last_contact_at` and a hand-over moves a deal's owner without the customer's
`updated_at`, and a customer's phones live in another table. A version column would need
every writer (chat, import, merge, the database triggers) to bump it. The hash needs neither
and changes exactly when what a client saw changes. The check and the change run in one
transaction with the row locked (`lock_row`), so two PATCHes sent with the same `If-Match`
cannot both pass: the second sees the first's result and gets 412.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session, SQLModel

from bot.api.auth import ApiState, Reader, Writer, state_of
from bot.api.params import IfMatch, RecordId
from bot.api.problems import Problem, problem_responses, unprocessable
from storage.access import NotFound
from storage.api_tokens import Caller, KeyTaken, find_idempotent, remember_idempotent
from storage.models import Member
from storage.record_lists import After, Filters, lock_row

Shown = TypeVar("Shown", bound=BaseModel)
MAX_KEY = 255
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def etag(representation: BaseModel) -> str:
    digest = hashlib.sha256(representation.model_dump_json().encode()).hexdigest()
    return f'"{digest[:32]}"'


def matches(if_match: str, current: str) -> bool:
    """RFC 9110 If-Match: "*" or a list of strong tags, one of which is the current one."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or current in tags


def with_etag(representation: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(
        representation.model_dump(mode="json"),
        status_code=status,
        headers={"ETag": etag(representation)},
    )


def create(
    request: Request,
    caller: Caller,
    key: str | None,
    data: BaseModel,
    make: Callable[[Session], BaseModel],
) -> Response:
    """Run `make` (the create and the representation of what it made) in one transaction.

    With an Idempotency-Key the answer is remembered in that same transaction; a repeat of
    the key gets the first answer back (`Idempotent-Replayed: true`) and makes nothing, and a
    repeat with another body is refused (422), since it is surely a client's mistake."""
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise unprocessable("Idempotency-Key", f"1 to {MAX_KEY} characters")
    state = state_of(request)
    fingerprint = hashlib.sha256(
        f"{request.url.path}\n{data.model_dump_json()}".encode()
    ).hexdigest()
    if key is not None and (answer := _replay(state, caller, key, fingerprint)) is not None:
        return answer
    try:
        with state.db.session() as session:
            if key is not None and find_idempotent(session, token_id=caller.token_id, key=key):
                raise KeyTaken(key)  # remembered since the read above: answer with it
            made = make(session)
            body = made.model_dump_json()
            if key is not None:
                remember_idempotent(
                    session,
                    token_id=caller.token_id,
                    key=key,
                    fingerprint=fingerprint,
                    status=201,
                    body=body,
                )
    except KeyTaken:
        answer = _replay(state, caller, key or "", fingerprint)
        assert answer is not None
        return answer
    return Response(body, 201, {"ETag": etag(made)}, media_type="application/json")


def _replay(state: ApiState, caller: Caller, key: str, fingerprint: str) -> Response | None:
    found = state.db.read_sync(find_idempotent, token_id=caller.token_id, key=key)
    if found is None:
        return None
    if found.fingerprint != fingerprint:
        raise unprocessable(
            "Idempotency-Key", "was used before with another request; use a new key"
        )
    return Response(
        found.body,
        found.status,
        {"Idempotent-Replayed": "true"},
        media_type="application/json",
    )


def change(
    state: ApiState,
    *,
    model: type[SQLModel],
    record_id: int,
    if_match: str | None,
    show: Callable[[Session, int], Shown],
    apply: Callable[[Session], object],
    gone_after: bool = False,
) -> Response:
    """Lock the record, check `If-Match` against its current version, `apply` the storage
    call, and answer with the new representation (204 when `gone_after`: a delete)."""
    with state.db.session() as session:
        lock_row(session, model, record_id)
        current = show(session, record_id)
        if if_match is not None and not matches(if_match, etag(current)):
            raise Problem(
                412,
                "Precondition Failed",
                "The record changed since that version; GET it again and retry.",
                headers={"ETag": etag(current)},
            )
        apply(session)
        if gone_after:
            return Response(status_code=204)
        try:
            after = show(session, record_id)
        except NotFound:  # e.g. handed to someone the token's member does not see
            return Response(status_code=204)
    return with_etag(after)


def encode_cursor(after: After) -> str:
    at, row_id = after
    raw = f"1:{(at - _EPOCH) // timedelta(microseconds=1)}:{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> After | None:
    """The position a cursor names; a cursor we did not make is a 422 naming `cursor`. A
    cursor only says where to start in the caller's own list, so a forged one shows nothing
    more."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, micros, row_id = raw.split(":")
        if version != "1":
            raise ValueError(version)
        return _EPOCH + timedelta(microseconds=int(micros)), int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise unprocessable("cursor", "not a cursor this API gave out") from None


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """The first `limit` of `limit + 1` rows read, and the cursor after them if more exist."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor((last.updated_at, last.id))


def encode_offset(offset: int) -> str:
    """A search's cursor: its results are ranked, not ordered by a key, so it is a position."""
    return base64.urlsafe_b64encode(f"s:{offset}".encode()).decode().rstrip("=")


def decode_offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, offset = raw.split(":")
        if kind != "s" or not 0 <= int(offset) <= 10_000:
            raise ValueError(raw)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise unprocessable("cursor", "not a cursor this API gave out") from None


Row = TypeVar("Row")


def each(represent: Callable[[Row], Shown]) -> Callable[[Session, list[Row]], list[Shown]]:
    """A page's representation for records shown from their own row alone."""
    return lambda _session, rows: [represent(row) for row in rows]


@dataclass(frozen=True)
class Resource(Generic[Row, Shown]):
    """One record type's endpoint plumbing: its table, `show` (loads one record through the
    access rule, raising NotFound, and represents it), `lister` (the storage `list_*_page`)
    with `represent_many` for a page, the path parameter `key` ("deal_id"), and `archive`
    (the storage soft delete, taking the id as `archive_arg`, else `key`) for the ones that
    can be deleted."""

    model: type[SQLModel]
    show: Callable[[Session, Member, int], Shown]
    lister: Callable[..., list[Row]]
    represent_many: Callable[[Session, list[Row]], list[Shown]]
    key: str
    archive: Callable[..., object] | None = None
    archive_arg: str | None = None

    def add_routes(self, router: APIRouter, out: type[BaseModel], deleted: str = "") -> None:
        """GET `/{key}`, and DELETE `/{key}` (a soft delete, described by `deleted`) for
        a resource with `archive`."""
        path = f"/{{{self.key}}}"

        def get_one(request: Request, caller: Caller, **ids: int) -> Response:
            return self.get(request, caller, ids[self.key])

        get_one.__signature__ = self._signature(Reader)  # type: ignore[attr-defined]
        router.add_api_route(
            path,
            get_one,
            methods=["GET"],
            response_model=out,
            responses=problem_responses(401, 404, 422, 429),
        )
        if self.archive is None:
            return

        def delete_one(
            request: Request, caller: Caller, if_match: str | None = None, **ids: int
        ) -> Response:
            return self.delete(request, caller, ids[self.key], if_match)

        delete_one.__signature__ = self._signature(Writer, IfMatch)  # type: ignore[attr-defined]
        router.add_api_route(
            path,
            delete_one,
            methods=["DELETE"],
            status_code=204,
            description=deleted,
            responses=problem_responses(401, 403, 404, 412, 429),
        )

    def _signature(self, caller: object, *headers: object) -> inspect.Signature:
        """The endpoint's parameters as FastAPI reads them, the path id under `key`."""
        named = inspect.Parameter.KEYWORD_ONLY
        return inspect.Signature(
            [
                inspect.Parameter("request", named, annotation=Request),
                inspect.Parameter("caller", named, annotation=caller),
                inspect.Parameter(self.key, named, annotation=RecordId),
                *(
                    inspect.Parameter("if_match", named, annotation=h, default=None)
                    for h in headers
                ),
            ],
            return_annotation=Response,
        )

    def page(
        self, request: Request, caller: Caller, filters: Filters, cursor: str | None, limit: int
    ) -> tuple[list[Shown], str | None]:
        """One page of the list as the caller sees it, and the next cursor."""
        after = decode_cursor(cursor)
        with state_of(request).db.session(write=False) as session:
            rows = self.lister(
                session, actor=caller.member, filters=filters, after=after, limit=limit + 1
            )
            rows, next_cursor = page_of(rows, limit)
            return self.represent_many(session, rows), next_cursor

    def get(self, request: Request, caller: Caller, record_id: int) -> Response:
        with state_of(request).db.session(write=False) as session:
            return with_etag(self.show(session, caller.member, record_id))

    def create(
        self,
        request: Request,
        caller: Caller,
        key: str | None,
        data: BaseModel,
        make: Callable[[Session], SQLModel],
    ) -> Response:
        """`create` with `make` (the storage create) answered with what it made, as shown."""

        def made(session: Session) -> BaseModel:
            row = make(session)
            return self.show(session, caller.member, row.id)  # type: ignore[attr-defined]

        return create(request, caller, key, data, made)

    def change(
        self,
        request: Request,
        caller: Caller,
        record_id: int,
        if_match: str | None,
        apply: Callable[[Session], object],
        *,
        gone_after: bool = False,
    ) -> Response:
        actor = caller.member
        return change(
            state_of(request),
            model=self.model,
            record_id=record_id,
            if_match=if_match,
            show=lambda session, i: self.show(session, actor, i),
            apply=apply,
            gone_after=gone_after,
        )

    def delete(
        self, request: Request, caller: Caller, record_id: int, if_match: str | None
    ) -> Response:
        """`archive` under If-Match, answered with 204."""
        archive, arg = self.archive, self.archive_arg or self.key
        assert archive is not None, f"{self.model.__name__} cannot be deleted"
        return self.change(
            request,
            caller,
            record_id,
            if_match,
            lambda session: archive(session, actor=caller.member, **{arg: record_id}),
            gone_after=True,
        )

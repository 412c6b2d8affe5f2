"""A storage call named now and run later: the function, its arguments, and what to make of
its result.

A flow's save returns one of these instead of a closure over a Session, so a handler module
never touches a session: the flow engine runs the call inside the draft's commit
(`storage.drafts.commit_draft`), in the same transaction that deletes the draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, Generic, ParamSpec, TypeVar

from sqlmodel import Session

from storage.access import NotFound

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")


class StorageCall(Generic[T_co]):
    """`fn(session, *args, **kwargs)`, called when a session is given."""

    def __init__(
        self, fn: Callable[Concatenate[Session, P], T_co], /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        self._run: Callable[[Session], T_co] = lambda session: fn(session, *args, **kwargs)

    def __call__(self, session: Session) -> T_co:
        return self._run(session)

    @staticmethod
    def done(value: U) -> StorageCall[U]:
        """A call that writes nothing and returns `value` (an edit that changed nothing)."""
        return _from(lambda _session: value)

    def returning(self, shape: Callable[[T_co], U]) -> StorageCall[U]:
        """The same call, its result passed through `shape` (a pure function)."""
        return _from(lambda session: shape(self(session)))

    def or_if_missing(self, fallback: U) -> StorageCall[T_co | U]:
        """The same call, `fallback` when the record is missing or not the actor's."""
        return self.or_if_refused(fallback, NotFound)

    def or_if_refused(self, fallback: U, *refusals: type[Exception]) -> StorageCall[T_co | U]:
        """The same call, `fallback` when storage refuses it with one of `refusals` (raised
        before it writes anything, so the draft's commit stays whole)."""

        def run(session: Session) -> T_co | U:
            try:
                return self(session)
            except refusals:
                return fallback

        return _from(run)


def _from(run: Callable[[Session], T]) -> StorageCall[T]:
    return StorageCall(_invoke, run)


def _invoke(session: Session, run: Callable[[Session], T]) -> T:
    return run(session)

"""Selects compiled once and run straight on the driver's cursor, for the reads a member waits
on most (the customer card). Run through SQLAlchemy, each statement walks its cache key, its
execution context and its result machinery, and after the bot has been idle ~150 ms that code
is out of the CPU's caches: the card's nine statements took 2.7 ms (p99 5.0 ms) cold, 0.5 ms
(p99 1.4 ms) this way at 1,000,000 customers (docs/stack-facts.md, "A read after a pause").

The statement is SQLAlchemy's, compiled by the connection's dialect; each parameter goes
through its type's bind processor and each value through its type's result processor, so a
row holds exactly what `Connection.execute` would give. Text parameters lose their NUL
characters, as storage/db.py does for every other statement. An expanding `IN` (a list of
ids) is rendered by SQLAlchemy once for each length of list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, SQLModel

Model = TypeVar("Model", bound=SQLModel)
Processor = Callable[[Any], Any] | None


@dataclass
class _Compiled:
    compiled: SQLCompiler
    sql: str
    names: Sequence[str] | None  # the order of positional parameters; None when named
    fixed: dict[str, Any]  # the values the statement carries itself (its literals), bound
    binders: Mapping[str, Callable[[Any], Any]]  # the types' bind processors, where they have one
    expanding: tuple[str, ...]  # the parameters of an `IN` that take a list
    # per number of values of each expanding parameter: the SQL, positions, the names each takes
    expansions: dict[tuple[int, ...], tuple[str, Sequence[str] | None, Mapping[str, list[str]]]]
    processors: dict[tuple[Any, ...], Sequence[Processor]] = field(default_factory=dict)


class PreparedSelect:
    """`statement`, compiled on its first run for each dialect; its parameters are given by
    name, as for `Connection.execute`."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._types = [column.type for column in statement.selected_columns]
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, each value as SQLAlchemy would have converted it. Changes pending in
        `session` are flushed first, as the ORM's own queries do (autoflush)."""
        if session.autoflush:
            session.flush()
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        sql, names = compiled.sql, compiled.names
        values = compiled.fixed | {
            name: _bound(compiled.binders.get(name), value)
            for name, value in params.items()
            if name not in compiled.expanding
        }
        if compiled.expanding:
            sql, names, expansion = self._expanded(compiled, params)
            for name in compiled.expanding:
                binder = compiled.binders.get(name)
                values.update(
                    (key, _bound(binder, value))
                    for key, value in zip(expansion[name], params[name], strict=True)
                )
        bound = values if names is None else [values[name] for name in names]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, bound)
            kinds = tuple(column[1] for column in cursor.description)
            processors = compiled.processors.get(kinds) or self._processors(
                compiled, dialect, kinds
            )
            return [
                tuple(
                    value if p is None else p(value)
                    for p, value in zip(processors, row, strict=True)
                )
                for row in cursor.fetchall()
            ]
        finally:
            cursor.close()

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        binders = {
            name: binder
            for bind, name in compiled.bind_names.items()
            if (binder := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        fixed = {
            name: _bound(binders.get(name), bind.effective_value)
            for bind, name in compiled.bind_names.items()
            if not bind.required
        }
        expanding = tuple(name for bind, name in compiled.bind_names.items() if bind.expanding)
        if any(bind.expanding and not bind.required for bind in compiled.bind_names):
            raise ValueError("an IN of fixed values is expanded at each run: list literal()s")
        ready = _Compiled(
            compiled, compiled.string, compiled.positiontup, fixed, binders, expanding, {}
        )
        self._compiled[dialect.name] = ready
        return ready

    @staticmethod
    def _expanded(
        compiled: _Compiled, params: Mapping[str, Any]
    ) -> tuple[str, Sequence[str] | None, Mapping[str, list[str]]]:
        """The SQL with a placeholder for each value of each list, made once per length."""
        sizes = tuple(len(params[name]) for name in compiled.expanding)
        found = compiled.expansions.get(sizes)
        if found is None:
            state = compiled.compiled.construct_expanded_state(
                {
                    **params,
                    **{
                        name: list(range(n))
                        for name, n in zip(compiled.expanding, sizes, strict=True)
                    },
                }
            )
            found = (state.statement, state.positiontup, state.parameter_expansion)
            compiled.expansions[sizes] = found
        return found

    def _processors(
        self, compiled: _Compiled, dialect: Dialect, kinds: tuple[Any, ...]
    ) -> Sequence[Processor]:
        processors = [
            kind.dialect_impl(dialect).result_processor(dialect, code)
            for kind, code in zip(self._types, kinds, strict=True)
        ]
        compiled.processors[kinds] = processors
        return processors


@cache
def prepared(statement: Select[*tuple[Any, ...]]) -> PreparedSelect:
    """The one PreparedSelect of a statement that is itself built once (by a `@cache`d
    builder): each is compiled once per dialect. Never for a statement built per call, which
    this cache would keep forever."""
    return PreparedSelect(statement)


def _bound(binder: Callable[[Any], Any] | None, value: Any) -> Any:
    """`value` as the driver takes it: NUL characters dropped from text (storage/db.py says
    why), then the type's bind processor."""
    if isinstance(value, str) and "\x00" in value:
        value = value.replace("\x00", "")
    return value if binder is None else binder(value)


def as_records(model: type[Model], rows: Sequence[Sequence[Any]], start: int = 0) -> list[Model]:
    """Rows that hold the columns of `select(model)` from `start` on, as detached instances, as
    the ORM would load them: the card renders them after its transaction is over."""
    new_instance, keys = _loading(model)
    records = []
    for row in rows:
        record = new_instance()
        record.__dict__.update(zip(keys, row[start : start + len(keys)], strict=True))
        make_transient_to_detached(record)
        records.append(record)
    return records


@cache
def _loading(model: type[SQLModel]) -> tuple[Callable[[], Any], list[str]]:
    """How to make an empty `model` and its attributes in `select(model)`'s column order."""
    mapper = inspect(model)
    columns = select(model).selected_columns
    return mapper.class_manager.new_instance, [
        mapper.get_property_by_column(column).key for column in columns
    ]


def width(model: type[SQLModel]) -> int:
    """How many columns `select(model)` selects: where the next entity's start in a row."""
    return len(_loading(model)[1])

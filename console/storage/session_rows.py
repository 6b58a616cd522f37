"""One session's rows of one table, as the frozen dataclass the callers read.

Why: the repository and the review read a session's readings, alarms, alarm transitions,
technical events, discharge checks and sign-offs with the same query written six times
(select the columns, of this session, in time order then insertion order; issue 13).  The
dataclass names its columns (its field names are the table's column names), so the query is
written once and each caller still gets its own row type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Connection, select

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Row = TypeVar("_Row", bound="DataclassInstance")


def session_rows(
    conn: Connection,
    row_type: type[_Row],
    table: Any,
    session_id: int,
    *,
    order: Any,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[_Row]:
    """``table``'s rows of ``session_id`` as ``row_type``, ordered by ``order`` then id.

    Args:
        conn: an open connection (the caller chooses read-only or not).
        row_type: a dataclass whose field names are columns of ``table``.
        table: the ORM class (with ``session_id`` and ``id`` columns).
        session_id: the session.
        order: the time column to order by; the row id breaks ties (insertion order).
        where: further conditions (a parameter, a kind).
    """
    columns = [getattr(table, f.name) for f in fields(row_type)]
    stmt = select(*columns).where(table.session_id == session_id, *where).order_by(order, table.id)
    return [row_type(**row._mapping) for row in conn.execute(stmt)]

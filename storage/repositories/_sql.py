"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_on(dialect: str) -> Any:
    """The INSERT construct that knows ``ON CONFLICT`` on this backend (both spell it alike)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT that knows ``ON CONFLICT`` on the session's backend."""
    return insert_on(dialect_name(session))(table)


def bound(table: Table, prefix: str, *columns: str) -> dict[str, Any]:
    """Bound parameters for ``columns`` named ``<prefix><column>``, typed as the columns.

    For statements built once (``functools.cache``) and only bound per call: building and
    compiling a statement per call costs more than running it on the hot paths (a citizen's
    submit, a dialog turn; bench/bench_dialog.py). SQLAlchemy reserves a column's own name
    for the VALUES it fills in itself, hence the prefix."""
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


def params(prefix: str, /, **values: Any) -> dict[str, Any]:
    """The values for ``bound(..., prefix, ...)``'s parameters."""
    return {f"{prefix}{k}": v for k, v in values.items()}

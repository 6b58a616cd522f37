"""A hung or unreachable PostgreSQL turns into an error in seconds, not forever (issue 12 item 9);
a malformed URL is refused without printing its password (item 16).

The calls run off the GUI thread in any case; the timeouts bound how long a database worker
or the storage writer waits before the chair says "not recorded" and the writer spools.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from console.storage.engine import (
    PG_CONNECT_TIMEOUT_S,
    PG_STATEMENT_TIMEOUT_MS,
    PG_TCP_USER_TIMEOUT_MS,
    StorageConfigError,
    describe_url,
    make_engine,
)
from tests.conftest import pg_url_or_skip
from tests.console.hung_server import HungServer


def test_a_server_that_never_answers_is_an_error_within_the_connect_timeout() -> None:
    server = HungServer(lifetime_s=30.0)
    engine = make_engine(f"postgresql+psycopg://app:secret@127.0.0.1:{server.port}/x")
    try:
        t0 = time.monotonic()
        with pytest.raises(OperationalError), engine.connect():
            pass
        took = time.monotonic() - t0
        assert server.accepted >= 1
        assert took < PG_CONNECT_TIMEOUT_S * 2 + 2, f"connect gave up after {took:.1f} s"
    finally:
        engine.dispose()
        server.stop()


@pytest.mark.postgres
def test_postgresql_sessions_carry_statement_and_tcp_timeouts() -> None:
    engine = make_engine(pg_url_or_skip())
    try:
        with engine.connect() as conn:
            shown: object = conn.execute(text("SHOW statement_timeout")).scalar_one()
            assert shown == f"{PG_STATEMENT_TIMEOUT_MS // 1000}s"
            raw = conn.connection.dbapi_connection
            assert raw is not None
            params = raw.info.get_parameters()
            assert params["tcp_user_timeout"] == str(PG_TCP_USER_TIMEOUT_MS)
            assert params["keepalives"] == "1"
            assert params["connect_timeout"] == str(PG_CONNECT_TIMEOUT_S)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://app:topsecret@db.example:abc/infusion",  # port not a number
        "app:topsecret@db.example/infusion",  # no scheme
        "postgres ql://app:topsecret@db.example/infusion",  # not a dialect name
        "postgresql://app:top/secret@db.example:x/infusion",  # a raw / in the password
        "postgresql://app:top@secret@db.example:x/infusion",  # a raw @ in the password
    ],
)
def test_a_malformed_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(StorageConfigError) as caught:
        make_engine(url)
    assert "not a database URL" in str(caught.value)
    assert "secret" not in str(caught.value)
    assert "secret" not in describe_url(url)

"""Two bots on one database: exactly one holds the lease, and the other takes
over when the holder stops, loses its connection or is killed -9.

On SQLite, a real PostgreSQL and a real MariaDB. The killed holder is a
second process, as a second pod on Toolforge would be.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from OTRSHelp.lease import Lease
from OTRSHelp.store import Store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_URL = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}
#: the standby's poll interval in these tests (the bot's is OTRSHELP_POLL_SECONDS)
POLL = 0.5


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/otrshelp.sqlite3"
    from realservers import create_database

    base = request.getfixturevalue(SERVER_URL[request.param])
    return create_database(base, "l" + uuid.uuid4().hex[:12])


def test_one_holder_at_a_time(db_url):
    with Lease(db_url) as a, Lease(db_url) as b:
        assert a.try_acquire() and a.held()
        assert not b.try_acquire() and not b.held()
        assert a.try_acquire(), "asking again keeps it"
        assert not b.try_acquire()
        a.release()
        assert not a.held()
        assert b.try_acquire() and b.held()
        assert not a.try_acquire()


def test_leases_with_other_names_or_databases_are_independent(db_url, request, tmp_path):
    with Lease(db_url, "bot") as a, Lease(db_url, "other") as b:
        assert a.try_acquire() and b.try_acquire()
    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path}/second.sqlite3"
    else:
        from realservers import create_database

        other = create_database(db_url, "l" + uuid.uuid4().hex[:12])
    with Lease(db_url) as a, Lease(other) as b:
        assert a.try_acquire() and b.try_acquire()


def test_a_lease_made_from_the_store_engine(db_url):
    store = Store(db_url)
    try:
        with Lease(store.engine) as a, Lease(db_url) as b:
            assert a.try_acquire() and not b.try_acquire()
            # the store's own connections do not carry the lease away
            store.add_record("Bob", "note", "x", "Admin")
            store.engine.dispose()
            assert a.held() and not b.try_acquire()
    finally:
        store.close()


def test_a_lost_connection_is_noticed_and_the_standby_takes_over(db_url):
    """After a database restart or a killed connection a session lock is
    gone: held() must say so rather than trust what it remembers."""
    with Lease(db_url) as a, Lease(db_url) as b:
        assert a.try_acquire()
        if db_url.startswith("sqlite"):
            os.unlink(a._path)  # someone removes the lock file: its lock guards nothing now
        else:
            _kill_connections_of(db_url, a)
        assert not a.held()
        assert b.try_acquire()
        assert not a.try_acquire() and not a.held()


def _kill_connections_of(url: str, lease: Lease) -> None:
    """What a database restart or an admin's kill does to the lease's session."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            if lease.backend == "postgresql":
                pid = lease._conn.execute(text("SELECT pg_backend_pid()")).scalar()
                assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            else:
                cid = lease._conn.execute(text("SELECT CONNECTION_ID()")).scalar()
                c.execute(text(f"KILL CONNECTION {int(cid)}"))
    finally:
        engine.dispose()
    time.sleep(0.2)  # the server ends the session asynchronously


HOLDER = """
import sys, time
from OTRSHelp.lease import Lease
lease = Lease(sys.argv[1])
while not lease.try_acquire():
    time.sleep(0.05)
print("held", flush=True)
time.sleep(600)
"""


def test_standby_takes_over_within_two_polls_when_the_holder_is_killed(db_url):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": ROOT},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Lease(db_url) as standby:
            assert not standby.try_acquire()
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
            killed = time.monotonic()
            polls = 0
            while not standby.try_acquire():
                polls += 1
                assert polls < 20, "the standby never took over"
                time.sleep(POLL)
            took = time.monotonic() - killed
            print(f"takeover on {make_url(db_url).get_backend_name()}: "
                  f"{took * 1000:.0f} ms, {polls + 1} poll(s)")
            assert polls + 1 <= 2, f"took {polls + 1} polls of {POLL} s"
            assert standby.held()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_database_away_reads_as_not_held():
    """No server on that port: no exception, False, and a reason to log."""
    from realservers import free_port

    lease = Lease(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    assert not lease.try_acquire() and not lease.held()
    assert lease.last_error
    lease.close()


def test_a_database_restart_loses_the_lock_and_either_bot_may_take_it_again():
    """PostgreSQL restarted: the holder's session lock is gone with its
    connection. held() says so (no exception), and afterwards exactly one
    of the two bots gets the lease."""
    from realservers import PostgresServer, create_database, require

    require("PostgreSQL", PostgresServer.available(), "apt-get install postgresql")
    with PostgresServer() as server:
        url = create_database(server.url, "restart")
        with Lease(url) as a, Lease(url) as b:
            assert a.try_acquire() and not b.try_acquire()
            server.pause()
            assert not a.held() and a.last_error
            assert not b.try_acquire()
            server.resume()
            assert b.try_acquire(), "the standby asks first after the restart"
            assert not a.try_acquire() and not a.held()
            assert b.held()

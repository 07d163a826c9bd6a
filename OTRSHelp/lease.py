"""Which of several bots on one database is the active one.

Toolforge starts a continuous job's new pod before the old one stops, and an
operator may keep a standby: two bots on one store must never both announce
or both answer. The lease is a lock that the database itself drops when its
holder goes away, so a killed bot (``kill -9``, a lost pod) frees it without
any timeout to guess:

* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``), scoped to
  the database;
* MariaDB/MySQL: ``GET_LOCK`` on a name made from the database and the lease
  name (MariaDB's named locks are server-wide);
* SQLite: ``flock`` on a file beside the database file (released by the
  kernel when the process dies).

Each lock lives on one dedicated connection, outside any pool. A session
lock does not survive its connection: after a database restart or a killed
connection it is gone even though this object still thinks it holds it, so
the active bot asks :meth:`Lease.held` on every poll, and a standby calls
:meth:`Lease.try_acquire` on every poll; the standby takes over on its first
or second poll after the holder is gone.

No method raises because the database is away: that reads as "not held".
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

__all__ = ["Lease"]

log = logging.getLogger("OTRSHelp.lease")

#: first half of PostgreSQL's two-key advisory lock: "OTRS", so the bot's
#: locks do not collide with another application's single-key locks
_PG_NAMESPACE = 0x4F545253
#: seconds to wait for a connection before calling the database away
CONNECT_TIMEOUT = 5


class Lease:
    """A named lease on the database at ``url_or_engine`` (a SQLAlchemy URL
    or an Engine, e.g. ``Store.engine``: only its URL is used; the lease
    keeps its own connection).

    ``try_acquire()`` takes the lease if it is free (or confirms it is still
    ours), ``held()`` checks with the database that it is still ours,
    ``release()`` gives it up. Thread-safe.
    """

    def __init__(self, url_or_engine: str | URL | Engine, name: str = "otrshelp") -> None:
        url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
        self.url: URL = url
        self.name = name
        self.backend = url.get_backend_name()
        self.last_error: str | None = None  # why the database could not be asked, if it could not
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._fd: int | None = None
        self._engine: Engine | None = None
        if self.backend == "postgresql":
            self._key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF
        elif self.backend in ("mysql", "mariadb"):
            # at most 64 characters; the database name keeps two stores on
            # one server apart
            scope = f"otrshelp:{url.database}:{name}"
            self._lock_name = scope if len(scope) <= 64 else (
                "otrshelp:" + hashlib.sha256(scope.encode()).hexdigest()[:48])
        elif self.backend == "sqlite":
            db = url.database
            self._path = None if not db or db == ":memory:" or db.startswith("file::memory:") else (
                os.path.abspath(db) + "." + "".join(c if c.isalnum() else "_" for c in name) + ".lease")
        else:
            raise ValueError(f"no lease for database backend {self.backend!r}")

    # ------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this object holds it
        now. Cheap enough to call on every poll."""
        with self._lock:
            if self.backend == "sqlite":
                return self._sqlite_acquire()
            if self._conn is not None and self._server_says_held():
                return True
            self._drop()
            try:
                self._connect()
                assert self._conn is not None
                if self.backend == "postgresql":
                    got = self._conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                             {"a": _PG_NAMESPACE, "b": self._key}).scalar()
                else:
                    got = self._conn.execute(text("SELECT GET_LOCK(:n, 0)"),
                                             {"n": self._lock_name}).scalar()
                self.last_error = None
            except SQLAlchemyError as e:
                self._lost(e)
                return False
            if not got:
                self._drop()  # the holder's lock stays; ours would only idle
                return False
            return True

    def held(self) -> bool:
        """Whether the lease is still ours, asked of the database (a lock
        lost with its connection, e.g. across a database restart, reads
        False)."""
        with self._lock:
            if self.backend == "sqlite":
                return self._sqlite_held()
            if self._conn is None:
                return False
            if self._server_says_held():
                return True
            self._drop()
            return False

    def release(self) -> None:
        """Give the lease up so a standby takes over at once."""
        with self._lock:
            if self.backend == "sqlite":
                if self._fd is not None:
                    try:
                        fcntl.flock(self._fd, fcntl.LOCK_UN)
                    finally:
                        os.close(self._fd)
                        self._fd = None
                return
            if self._conn is not None:
                try:
                    if self.backend == "postgresql":
                        self._conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"),
                                           {"a": _PG_NAMESPACE, "b": self._key})
                    else:
                        self._conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": self._lock_name})
                except SQLAlchemyError:
                    pass  # a connection that is gone holds nothing
            self._drop()

    def close(self) -> None:
        self.release()
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- PostgreSQL and MariaDB ------------------------------------------------
    def _connect(self) -> None:
        if self._engine is None:
            args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
            if self.backend == "postgresql":
                # a dead peer is noticed in about a minute, not two hours
                args.update(keepalives=1, keepalives_idle=30, keepalives_interval=10,
                            keepalives_count=3)
            self._engine = create_engine(self.url, poolclass=NullPool, connect_args=args)
        self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _server_says_held(self) -> bool:
        assert self._conn is not None
        try:
            if self.backend == "postgresql":
                ok = self._conn.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :a AND objid = :b AND objsubid = 2"),
                    {"a": _PG_NAMESPACE, "b": self._key}).scalar()
            else:
                ok = self._conn.execute(text("SELECT IS_USED_LOCK(:n) = CONNECTION_ID()"),
                                        {"n": self._lock_name}).scalar()
            self.last_error = None
            return bool(ok)
        except SQLAlchemyError as e:
            self._lost(e)
            return False

    def _lost(self, error: Exception) -> None:
        self.last_error = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        log.debug("lease %s: %s", self.name, self.last_error)
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never back to a pool; closes the socket
                self._conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass
            self._conn = None

    # -- SQLite ------------------------------------------------------------------
    def _sqlite_acquire(self) -> bool:
        if self._path is None:
            return True  # an in-memory database has one process by definition
        if self._sqlite_held():
            return True
        self.release()
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            self.last_error = str(e)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        self.last_error = None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
        except OSError:
            pass
        return True

    def _sqlite_held(self) -> bool:
        if self._path is None:
            return True
        if self._fd is None:
            return False
        try:
            # the file replaced or removed: another process may lock the new one
            return os.fstat(self._fd).st_ino == os.stat(self._path).st_ino
        except OSError:
            return False

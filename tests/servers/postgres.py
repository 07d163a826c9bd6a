"""PostgreSQL: a private cluster per run, and a fresh database per test."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from .common import (HOST, _chown_tree, _has_user, _make_workdir, _run, _Server, _spawn, _stop, _wait_until,
                     free_port, require)
from .mariadb import _create_mariadb_database



# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    """Newest ``/usr/lib/postgresql/N/bin`` with a server binary (Debian layout)."""
    candidates = []
    for path in Path("/usr/lib/postgresql").glob("*/bin/postgres"):
        try:
            candidates.append((int(path.parent.parent.name), path.parent))
        except ValueError:
            continue
    return max(candidates)[1] if candidates else None


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster with trust auth for user ``postgres``.

    ``fsync``/``synchronous_commit``/``full_page_writes`` are off: durability
    is worthless for test data and costs most of the time of a commit.
    """

    def __init__(self, bindir: Path | None = None, settings: dict[str, str] | None = None) -> None:
        self.bindir = bindir or _postgres_bindir()
        #: more ``-c name=value`` settings, after (so over) the defaults below;
        #: a crash test wants ``synchronous_commit=on``, or a commit the
        #: client saw succeed may be lost with the server
        self.settings = dict(settings or {})
        self.port = 0  # chosen by start()
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def available(cls) -> bool:
        return _postgres_bindir() is not None and (
            os.geteuid() != 0 or _has_user("postgres")
        )

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"

    def start(self) -> None:
        if self.bindir is None:
            raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.workdir = _make_workdir("postgres")
        data = self.workdir / "data"
        _chown_tree(self.workdir, "postgres")
        _run(
            [
                self.bindir / "initdb",
                "-D", data,
                "-A", "trust",
                "-U", "postgres",
                "-E", "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            cwd=self.workdir,
            user="postgres",
        )
        self.port = free_port()
        self._launch()

    def _launch(self) -> None:
        """Start the server on the cluster in ``workdir`` (made by start())."""
        assert self.workdir is not None and self.bindir is not None
        data = self.workdir / "data"
        log = self.workdir / "postgres.log"
        self._proc = _spawn(
            [
                self.bindir / "postgres",
                "-D", data,
                "-p", str(self.port),
                "-k", self.workdir,
                "-c", f"listen_addresses={HOST}",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=200",
                *[arg for k, v in self.settings.items() for arg in ("-c", f"{k}={v}")],
            ],
            log=log,
            cwd=self.workdir,
            user="postgres",
        )
        _wait_until(self._accepts_queries, "PostgreSQL", proc=self._proc, log=log)

    def _accepts_queries(self) -> bool:
        try:
            with psycopg.connect(
                host=HOST, port=self.port, user="postgres", dbname="postgres", connect_timeout=2
            ) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def pause(self, sig: int = signal.SIGINT) -> None:
        """Stop the server but keep its data, as an outage would: clients'
        connections break. ``signal.SIGKILL`` is a crash instead of a fast
        shutdown."""
        _stop(self._proc, sig)
        self._proc = None

    def resume(self) -> None:
        """Start the paused server again on the same port and data."""
        self._launch()

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for the
        # clients (pooled SQLAlchemy connections) to go away as SIGTERM does.
        _stop(self._proc, signal.SIGINT)
        self._proc = None


def create_database(url: str, name: str) -> str:
    """Create (or re-create, empty) database ``name`` on ``url``'s server.

    ``url`` is a PostgreSQL (``postgresql+psycopg://``) or MariaDB/MySQL
    (``mysql+pymysql://``, ``mariadb+pymysql://``) URL. Returns the
    SQLAlchemy URL of the new database. Tests each get their own database so
    they never see each other's rows.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        _create_mariadb_database(parsed, name)
        return parsed.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=True,
    ) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL server for the whole session (database ``postgres``).

    Use :func:`create_database` or the ``postgres_db`` fixture for a private
    database per test.
    """
    require("PostgreSQL", PostgresServer.available(), "apt-get install postgresql")
    with PostgresServer() as server:
        yield server.url


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """URL of a fresh, empty database for this test only."""
    return create_database(postgres_url, f"test_{secrets.token_hex(6)}")


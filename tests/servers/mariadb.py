"""MariaDB, as Toolforge's ToolsDB is: utf8mb4, a private server per run."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .common import (HOST, _chown_tree, _has_user, _make_workdir, _run, _Server, _spawn, _stop,
                     _wait_until, free_port, require)

MARIADBD = "/usr/sbin/mariadbd"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"


# ---------------------------------------------------------------------------
# MariaDB (as on Toolforge's ToolsDB: utf8mb4)
# ---------------------------------------------------------------------------


class MariaDBServer(_Server):
    """A throwaway MariaDB server; ``root`` connects over TCP without a password.

    ``mariadb-install-db --auth-root-authentication-method=normal`` creates
    ``root@127.0.0.1`` with an empty password, so the grant tables stay on
    (as on ToolsDB) and no ``--skip-grant-tables`` is needed. The server
    speaks utf8mb4 with ``utf8mb4_unicode_ci``, ToolsDB's character set.
    ``--no-defaults`` keeps ``/etc/mysql`` (Debian's service config, its
    socket and datadir) out of it. Durability is traded for speed as for
    PostgreSQL: no doublewrite, no log flush per commit, no binary log.
    """

    def __init__(self) -> None:
        self.port = 0  # chosen by start()
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0  # install-db + start, for the curious

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if not (os.path.exists(MARIADBD) and os.path.exists(MARIADB_INSTALL_DB)):
            return False, "apt-get install --no-install-recommends mariadb-server"
        if os.geteuid() == 0 and not _has_user("mysql"):
            return False, "no 'mysql' system user to run mariadbd as"
        try:
            import pymysql  # noqa: F401
        except ImportError:
            return False, "pip install PyMySQL (requirements.txt)"
        return True, ""

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server, no database selected."""
        return f"mysql+pymysql://root@{HOST}:{self.port}/"

    def start(self) -> None:
        began = time.monotonic()
        self.workdir = _make_workdir("mariadb")
        data = self.workdir / "data"
        log = self.workdir / "mariadb.log"
        _chown_tree(self.workdir, "mysql")
        _run(
            [
                MARIADB_INSTALL_DB,
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                "--skip-log-bin",
            ],
            cwd=self.workdir,
            user="mysql",
        )
        self.port = free_port()
        self._proc = _spawn(
            [
                MARIADBD,
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self.workdir / 'mariadb.sock'}",
                f"--pid-file={self.workdir / 'mariadb.pid'}",
                f"--port={self.port}",
                f"--bind-address={HOST}",
                "--skip-name-resolve",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--max-connections=300",
            ],
            log=log,
            cwd=self.workdir,
            user="mysql",
        )
        _wait_until(self._accepts_queries, "MariaDB", proc=self._proc, log=log)
        self.startup_seconds = time.monotonic() - began

    def _accepts_queries(self) -> bool:
        import pymysql

        try:
            conn = pymysql.connect(host=HOST, port=self.port, user="root", connect_timeout=2)
        except pymysql.err.OperationalError:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True
        finally:
            conn.close()

    def stop(self) -> None:
        # SIGTERM is mariadbd's normal shutdown; it closes client
        # connections itself, so pooled SQLAlchemy connections do not hold
        # it up.
        _stop(self._proc, signal.SIGTERM)
        self._proc = None


def _create_mariadb_database(parsed: Any, name: str) -> None:
    import pymysql

    ident = "`" + name.replace("`", "``") + "`"
    conn = pymysql.connect(
        host=parsed.host,
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password or "",
        autocommit=True,
        charset="utf8mb4",
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {ident}")
            cur.execute(
                f"CREATE DATABASE {ident} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
    finally:
        conn.close()


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """URL of a MariaDB server for the whole session, no database selected.

    Use :func:`create_database` for a private database per test.
    """
    ok, why = MariaDBServer.available()
    require("MariaDB", ok, why)
    with MariaDBServer() as server:
        yield server.url


"""Real servers for the tests: PostgreSQL, MariaDB, MediaWiki, InspIRCd (+ Anope).

The tests talk to the real programs, not to fakes, so that what they check
is what the bot meets in production: the Action API's real answers, real
IRC registration, real SASL. Every server here

* listens on 127.0.0.1 only, on a free port chosen at run time, so parallel
  runs and other engineers' servers on the same machine never collide;
* lives in a fresh ``tempfile.mkdtemp()`` directory (not pytest's
  ``tmp_path``: that is 0700 root, and PostgreSQL, MariaDB and Anope run as
  their own users);
* runs in its own process group and is stopped by PID (the whole group), also
  when its setup fails halfway and, through ``atexit``, when the test run dies
  without tearing its fixtures down.

Each server is a context manager class and a session-scoped pytest fixture.
``tests/conftest.py`` does ``from realservers import *`` to register the
fixtures (``__all__`` lists them). A missing program skips the test, or fails
it when ``CI=true`` (see :func:`require`); ``.ci/install`` installs them all.
"""

from __future__ import annotations

import atexit
import base64
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import irc.client
import irc.connection
import jaraco.stream.buffer
import psycopg
import pytest
import requests
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = [
    "IrcPerson",
    "IrcServer",
    "ircd_libera",
    "MariaDBServer",
    "MediaWikiServer",
    "PostgresServer",
    "create_database",
    "free_port",
    "ircd",
    "ircd_services",
    "mariadb_url",
    "mediawiki",
    "postgres_db",
    "postgres_url",
    "require",
]

HOST = "127.0.0.1"

MEDIAWIKI_SOURCE = Path("/usr/share/mediawiki")
INSPIRCD = "/usr/sbin/inspircd"
ANOPE = "/usr/sbin/anope"
ANOPE_CONF = Path("/etc/anope")
ANOPE_MODULES = Path("/usr/lib/anope")
ANOPE_LOCALE = Path("/usr/share/anope/locale")
MARIADBD = "/usr/sbin/mariadbd"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"

#: How long a server may take to come up before the fixture gives up.
START_TIMEOUT = 60.0


# ---------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------


def require(name: str, ok: bool, why: str) -> None:
    """Skip (or, under ``CI=true``, fail) the current test unless ``ok``.

    On a developer's machine a missing server is a reason to skip; in CI it
    means ``.ci/install`` is broken, and a skip would hide that behind a
    green run.
    """
    if ok:
        return
    message = f"{name} is not available: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    The kernel picks it (bind to port 0), so two test runs on one machine do
    not fight over a fixed number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    """The end of a log file, for error messages that explain a failed start."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


T = TypeVar("T")


def _wait_until(
    probe: Callable[[], T | None],
    what: str,
    *,
    timeout: float = START_TIMEOUT,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until it returns something truthy.

    Fails early, with the log's tail, when ``proc`` has died: waiting out the
    timeout for a server that already crashed only makes the run slower.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{what}: process exited with {proc.returncode}\n"
                + (_tail(log) if log else "")
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{what}: not ready after {timeout:.0f} s\n" + (_tail(log) if log else "")
            )
        time.sleep(interval)


def _user_ids(user: str | None) -> tuple[int, int] | None:
    """(uid, gid) to run a server as, or None to run it as ourselves.

    PostgreSQL refuses to run as root and Anope should not, so as root we
    switch to their Debian system users; as anyone else we stay who we are.
    """
    if user is None or os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _chown_tree(path: Path, user: str | None) -> None:
    ids = _user_ids(user)
    if ids is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, *ids)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), *ids)


# ---------------------------------------------------------------------------
# Processes: started in their own group, stopped by PID, never leaked
# ---------------------------------------------------------------------------

_live_lock = threading.Lock()
_live_procs: set[subprocess.Popen[bytes]] = set()
_live_dirs: set[Path] = set()


def _spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    cwd: Path,
    user: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in a new session (so its PID is its process group id).

    Output goes to ``log`` so a failed start can be explained.
    """
    ids = _user_ids(user)
    extra: dict[str, Any] = {}
    if ids is not None:
        extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [os.fspath(a) for a in argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            **extra,
        )
    with _live_lock:
        _live_procs.add(proc)
    return proc


def _run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    user: str | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 120.0,
) -> str:
    """Run a setup command to completion; raise with its output if it fails."""
    ids = _user_ids(user)
    extra: dict[str, Any] = {}
    if ids is not None:
        extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
    done = subprocess.run(
        [os.fspath(a) for a in argv],
        cwd=cwd,
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        timeout=timeout,
        check=False,
        **extra,
    )
    output = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{output}")
    return output


def _stop(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Stop a process group started by :func:`_spawn`: ``sig``, then SIGKILL.

    The final SIGKILL to the group also catches children that outlived their
    parent (PHP's server workers, for instance).
    """
    if proc is None:
        return
    try:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    finally:
        with _live_lock:
            _live_procs.discard(proc)


def _make_workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"otrshelp-{prefix}-"))
    with _live_lock:
        _live_dirs.add(path)
    return path


def _remove_workdir(path: Path | None) -> None:
    if path is None:
        return
    shutil.rmtree(path, ignore_errors=True)
    with _live_lock:
        _live_dirs.discard(path)


@atexit.register
def _reap_everything() -> None:
    """Last line of defence: nothing this module started outlives Python."""
    with _live_lock:
        procs = list(_live_procs)
        dirs = list(_live_dirs)
    for proc in procs:
        _stop(proc, signal.SIGKILL, timeout=5)
    for path in dirs:
        _remove_workdir(path)


class _Server:
    """Context-manager plumbing shared by the servers.

    ``__enter__`` calls :meth:`start`; if that raises halfway, whatever was
    already running is stopped and the work directory removed before the
    error propagates. ``__exit__`` does the same after a normal run.
    """

    workdir: Path | None = None

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        """Stop the server and delete its files."""
        try:
            self.stop()
        finally:
            _remove_workdir(self.workdir)
            self.workdir = None

    def __enter__(self: _S) -> _S:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_S = TypeVar("_S", bound=_Server)


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
        log = self.workdir / "postgres.log"
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


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


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


# ---------------------------------------------------------------------------
# MediaWiki
# ---------------------------------------------------------------------------

_WIKI_SETTINGS = """
# ---- added by tests/realservers.py: a private test wiki on {host} ----
$wgServer = "http://{host}:{port}";
$wgCanonicalServer = $wgServer;
$wgEnableUploads = false;
$wgEnableEmail = false;
$wgEmailAuthentication = false;
# Tests edit, create accounts and log in as fast as they can.
$wgRateLimits = [];
$wgAccountCreationThrottle = 0;
$wgPasswordAttemptThrottle = false;
$wgGroupPermissions['*']['noratelimit'] = true;
$wgGroupPermissions['*']['createaccount'] = true;
$wgGroupPermissions['*']['edit'] = true;
$wgGroupPermissions['user']['edit'] = true;
$wgGroupPermissions['user']['move'] = true;
$wgAutoConfirmAge = 0;
$wgAutoConfirmCount = 0;
# Run no jobs inside requests: every request is fast and every answer final.
$wgJobRunRate = 0;
$wgShowExceptionDetails = true;
"""


class MediaWikiServer(_Server):
    """MediaWiki 1.39 (Debian) on SQLite, served by ``php -S``.

    Edits and moves go through the real Action API, logged in as the given
    user (each user keeps a ``requests`` session), so every revision is
    attributed to that user. That takes about 50 ms an edit against about
    250 ms for ``maintenance/edit.php``, which boots MediaWiki each time.

    The code is not copied: the work directory holds copies of the small
    entry points (``api.php``, ``index.php``...) and symlinks to the
    read-only directories of ``/usr/share/mediawiki``; ``MW_INSTALL_PATH``
    points MediaWiki at the work directory, so it loads our
    ``LocalSettings.php``. That saves copying 280 MB per wiki.
    """

    def __init__(self, source: Path = MEDIAWIKI_SOURCE, workers: int = 4) -> None:
        self.source = source
        self.workers = workers
        self.port = 0  # chosen by start()
        self.root: Path | None = None
        self.admin_user = "Admin"
        self.admin_password = secrets.token_urlsafe(16)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._passwords: dict[str, str] = {}
        self._sessions: dict[str, tuple[requests.Session, str]] = {}

    @classmethod
    def available(cls) -> bool:
        return (MEDIAWIKI_SOURCE / "api.php").exists() and shutil.which("php") is not None

    @property
    def url(self) -> str:
        """Base URL, also ``$wgServer``."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api.php"

    @property
    def index_url(self) -> str:
        return f"{self.url}/index.php"

    def _env(self) -> dict[str, str]:
        assert self.root is not None
        return {
            **os.environ,
            "MW_INSTALL_PATH": str(self.root),
            "PHP_CLI_SERVER_WORKERS": str(self.workers),
        }

    def _lay_out(self, root: Path) -> None:
        """Entry-point files copied, directories linked (see the class doc)."""
        root.mkdir()
        for entry in self.source.iterdir():
            if entry.name == "LocalSettings.php":
                continue  # Debian's symlink to /var/lib/mediawiki; we write our own
            target = root / entry.name
            if entry.is_dir():
                target.symlink_to(entry.resolve(), target_is_directory=True)
            else:
                shutil.copy2(entry, target)

    def start(self) -> None:
        self.workdir = _make_workdir("mediawiki")
        self.root = self.workdir / "w"
        data = self.workdir / "data"
        data.mkdir()
        self._lay_out(self.root)
        self.port = free_port()
        _run(
            [
                "php", "maintenance/install.php",
                "--dbtype", "sqlite",
                "--dbpath", data,
                "--server", self.url,
                "--scriptpath", "",
                "--confpath", self.root,
                "--pass", self.admin_password,
                "Meta Test", self.admin_user,
            ],
            cwd=self.root,
            env=self._env(),
        )
        with open(self.root / "LocalSettings.php", "a", encoding="utf-8") as settings:
            settings.write(_WIKI_SETTINGS.format(host=HOST, port=self.port))
        self._passwords[self.admin_user] = self.admin_password
        log = self.workdir / "php-server.log"
        self._proc = _spawn(
            ["php", "-S", f"{HOST}:{self.port}", "-t", self.root],
            log=log,
            cwd=self.root,
            env=self._env(),
        )
        # The first request also fills the localisation cache.
        _wait_until(self._answers, "MediaWiki", proc=self._proc, log=log)

    def _answers(self) -> bool:
        try:
            reply = requests.get(
                self.api_url,
                params={"action": "query", "meta": "siteinfo", "format": "json"},
                timeout=10,
            )
            return reply.status_code == 200 and "query" in reply.json()
        except (requests.RequestException, ValueError):
            return False

    def stop(self) -> None:
        _stop(self._proc)
        self._proc = None
        with self._lock:
            for session, _token in self._sessions.values():
                session.close()
            self._sessions.clear()

    # -- reading ----------------------------------------------------------

    def api(self, **params: Any) -> dict[str, Any]:
        """GET the Action API with ``format=json&formatversion=2``; the decoded reply.

        Errors are returned, not raised, so tests can look at them.
        """
        reply = requests.get(
            self.api_url,
            params={"format": "json", "formatversion": "2", **params},
            timeout=30,
        )
        reply.raise_for_status()
        return reply.json()

    def _post(self, session: requests.Session, **params: Any) -> dict[str, Any]:
        reply = session.post(
            self.api_url, data={"format": "json", "formatversion": "2", **params}, timeout=30
        )
        reply.raise_for_status()
        return reply.json()

    # -- users ------------------------------------------------------------

    def create_user(self, name: str, password: str | None = None) -> str:
        """Make sure account ``name`` exists with a known password; return the password.

        Idempotent. A new account is created through the API; an existing
        one we do not know the password of gets a new password from
        ``maintenance/createAndPromote.php --force``.
        """
        with self._lock:
            known = self._passwords.get(name)
            if known is not None and password in (None, known):
                return known
            password = password or secrets.token_urlsafe(16)
            session = requests.Session()
            try:
                token = self._get_token(session, "createaccount")
                reply = self._post(
                    session,
                    action="createaccount",
                    username=name,
                    password=password,
                    retype=password,
                    createtoken=token,
                    createreturnurl=self.url + "/",
                )
            finally:
                session.close()
            outcome = reply.get("createaccount", {})
            if outcome.get("status") != "PASS":
                if outcome.get("messagecode") != "userexists":
                    raise RuntimeError(f"cannot create wiki user {name!r}: {reply}")
                assert self.root is not None
                _run(
                    ["php", "maintenance/createAndPromote.php", "--force", name, password],
                    cwd=self.root,
                    env=self._env(),
                )
            self._passwords[name] = password
            old = self._sessions.pop(name, None)
            if old is not None:
                old[0].close()
            return password

    def _get_token(self, session: requests.Session, kind: str) -> str:
        reply = session.get(
            self.api_url,
            params={
                "action": "query",
                "meta": "tokens",
                "type": kind,
                "format": "json",
                "formatversion": "2",
            },
            timeout=30,
        )
        reply.raise_for_status()
        return str(reply.json()["query"]["tokens"][f"{kind}token"])

    def _session(self, user: str, fresh: bool = False) -> tuple[requests.Session, str]:
        """A logged-in session for ``user`` and its CSRF token (cached)."""
        password = self.create_user(user)
        with self._lock:
            cached = self._sessions.pop(user, None) if fresh else self._sessions.get(user)
            if cached is not None and not fresh:
                return cached
            if cached is not None:
                cached[0].close()
            session = requests.Session()
            reply = self._post(
                session,
                action="clientlogin",
                username=user,
                password=password,
                logintoken=self._get_token(session, "login"),
                loginreturnurl=self.url + "/",
            )
            if reply.get("clientlogin", {}).get("status") != "PASS":
                session.close()
                raise RuntimeError(f"cannot log in to the wiki as {user!r}: {reply}")
            entry = (session, self._get_token(session, "csrf"))
            self._sessions[user] = entry
            return entry

    def _write(self, user: str, **params: Any) -> dict[str, Any]:
        """POST a write action as ``user``; log in again once if the session went stale."""
        for attempt in (1, 2):
            session, token = self._session(user, fresh=attempt == 2)
            reply = self._post(session, token=token, assertuser=user, **params)
            code = reply.get("error", {}).get("code")
            if code not in ("badtoken", "assertuserfailed", "assertnameduserfailed"):
                break
        if "error" in reply:
            raise RuntimeError(f"wiki {params.get('action')} as {user!r} failed: {reply['error']}")
        return reply

    # -- writing ----------------------------------------------------------

    def edit(self, title: str, text: str, user: str, summary: str = "") -> int:
        """Save ``text`` as page ``title``, as ``user`` (created if needed); the revision id.

        A save that changes nothing makes no revision; then the page's
        current revision id is returned.
        """
        reply = self._write(user, action="edit", title=title, text=text, summary=summary)
        result = reply["edit"]
        if result.get("result") != "Success":
            raise RuntimeError(f"edit of {title!r} as {user!r} failed: {reply}")
        if "newrevid" in result:
            return int(result["newrevid"])
        info = self.api(action="query", prop="info", titles=title)
        return int(info["query"]["pages"][0]["lastrevid"])

    def move(self, old: str, new: str, user: str, reason: str = "") -> None:
        """Move page ``old`` to ``new`` as ``user``, leaving a redirect behind."""
        self._write(user, action="move", **{"from": old}, to=new, reason=reason)


@pytest.fixture(scope="session")
def mediawiki() -> Iterator[MediaWikiServer]:
    """A MediaWiki for the whole session. Tests use their own page titles."""
    require(
        "MediaWiki",
        MediaWikiServer.available(),
        "apt-get install --no-install-recommends mediawiki php-sqlite3 php-cli",
    )
    with MediaWikiServer() as wiki:
        yield wiki


# ---------------------------------------------------------------------------
# IRC: InspIRCd 3, optionally with Anope 2 services
# ---------------------------------------------------------------------------

_INSPIRCD_CONF = """\
<server name="{server_name}" description="OTRSHelp test server" network="{network}" id="0AA">
<admin name="Test" nick="Test" email="test@example.org">
<path configdir="{workdir}" datadir="{workdir}" logdir="{workdir}" runtimedir="{workdir}">
<bind address="{host}" port="{port}" type="clients">
<bind address="{host}" port="{link_port}" type="servers">
{connect}
<pid file="{workdir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{workdir}/inspircd.log">
<dns timeout="1">
<files motd="{workdir}/motd.txt">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes" splitwhois="no">
<security hideserver="" userstats="Pu" flatlinks="no" hidesplits="no" hideulines="no" hidebans="no" maxtargets="20">
<performance clonesonconnect="no" quietbursts="yes" softlimit="1024" somaxconn="128">
<whowas groupsize="10" maxgroups="100000" maxkeep="3d">
<module name="cap">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_capnotify">
<module name="ircv3_servertime">
<module name="services_account">
<module name="sasl">
<module name="spanningtree">
<module name="servprotect">
<module name="hidechans">
<module name="chghost">
<module name="chgident">
<module name="chgname">
<module name="svshold">
<module name="sajoin">
<module name="sapart">
<module name="sanick">
<module name="topiclock">
<module name="mlock">
{extra_modules}<sasl target="{services_name}" requiressl="no">
<link name="{services_name}" ipaddr="{host}" port="{link_port}" allowmask="127.0.0.0/8"
      sendpass="{link_password}" recvpass="{link_password}">
<uline server="{services_name}" silent="yes">
"""


# Lenient: no flood control at all, for tests that must send many lines
# quickly and are not about flooding (each such test says why it uses it).
_CONNECT_LENIENT = """<connect name="main" allow="*" timeout="60" pingfreq="120" threshold="100000"
         hardsendq="1048576" softsendq="65536" recvq="65536"
         localmax="100000" globalmax="100000" limit="100000" maxchans="100"
         maxconnwarn="off" resolvehostnames="no" useident="no"
         fakelag="no" commandrate="100000" uniqueusername="no">"""

# Strict: InspIRCd's own defaults for a <connect> class (fakelag on,
# commandrate 1000 = one command a second after a burst of threshold 10,
# recvq 8192, sendq as shipped), as Libera-like networks keep them. Only the
# per-host connection limits are raised: every test client is 127.0.0.x.
_CONNECT_STRICT = """<connect name="main" allow="*" timeout="60" pingfreq="120"
         threshold="10" commandrate="1000" fakelag="yes" recvq="8192"
         softsendq="8192" hardsendq="1048576"
         localmax="1000" globalmax="1000" limit="5000" maxchans="20"
         maxconnwarn="off" resolvehostnames="no" useident="no" uniqueusername="no">"""

# IRCv3 as on Libera: echo-message gives a receipt for each line the server
# took; msgid and labeled-response come with it.
_STRICT_MODULES = """<module name="monitor">
<module name="ircv3_echomessage">
<module name="ircv3_msgid">
<module name="ircv3_batch">
<module name="ircv3_labeledresponse">
"""


def _patch(text: str, pattern: str, replacement: str, *, count: int = 1) -> str:
    """``re.sub`` that insists on matching: Anope's sample config must not drift silently."""
    new, n = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if n != count:
        raise RuntimeError(f"Anope config: {pattern!r} matched {n} times, expected {count}")
    return new


class IrcServer(_Server):
    """InspIRCd 3 on a plain-text client port, optionally with Anope services.

    With ``services=True``, NickServ accounts and SASL PLAIN work, and
    ``account-tag``/``account-notify``/WHOIS 330 report accounts. No
    ``echo-message`` or ``labeled-response``: with them every reply waits
    about 40 ms. There is no flood control or connection limit for 127.0.0.1.

    :meth:`stop` and :meth:`start` take the network down and bring it back
    on the same ports with the same accounts, for "server gone" tests.
    Registering a connection takes about 1 s (InspIRCd finishes
    registrations on its once-a-second tick).
    """

    host = HOST

    def __init__(
        self,
        services: bool = False,
        *,
        server_name: str = "irc.test",
        network: str = "TestNet",
        services_name: str = "services.test",
        strict: bool = False,
    ) -> None:
        self.services = services
        self.strict = strict
        self.server_name = server_name
        self.network = network
        self.services_name = services_name
        self.port = 0  # chosen by start()
        self.link_port = 0
        self._link_password = secrets.token_hex(12)
        self._ircd: subprocess.Popen[bytes] | None = None
        self._anope: subprocess.Popen[bytes] | None = None

    @classmethod
    def available(cls, services: bool = False) -> bool:
        ok = os.access(INSPIRCD, os.X_OK)
        if services:
            ok = ok and os.access(ANOPE, os.X_OK) and (ANOPE_CONF / "services.conf").exists()
        return ok

    @property
    def anope_dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "anope"

    def _configure(self) -> None:
        """First start: work directory, ports and config files."""
        self.workdir = _make_workdir("ircd")
        # Anope runs as `irc` and must reach its own subdirectory.
        os.chmod(self.workdir, 0o755)
        self.port = free_port()
        self.link_port = free_port()
        (self.workdir / "motd.txt").write_text("OTRSHelp test server\n")
        (self.workdir / "inspircd.conf").write_text(
            _INSPIRCD_CONF.format(
                host=HOST,
                port=self.port,
                link_port=self.link_port,
                workdir=self.workdir,
                server_name=self.server_name,
                network=self.network,
                services_name=self.services_name,
                link_password=self._link_password,
                connect=_CONNECT_STRICT if self.strict else _CONNECT_LENIENT,
                extra_modules=_STRICT_MODULES if self.strict else "",
            )
        )
        if self.services:
            self._configure_anope()

    def _configure_anope(self) -> None:
        conf = self.anope_dir / "conf"
        shutil.copytree(ANOPE_CONF, conf)
        for sub in ("db/backups", "db/modules", "logs"):
            (self.anope_dir / sub).mkdir(parents=True)

        services = (conf / "services.conf").read_text()
        services = _patch(services, r'^(\s*port\s*=\s*)7000\s*$', rf"\g<1>{self.link_port}")
        services = _patch(
            services, r'^(\s*password\s*=\s*)"mypassword"', rf'\g<1>"{self._link_password}"'
        )
        services = _patch(
            services,
            r'^(\s*name\s*=\s*)"services\.example\.com"',
            rf'\g<1>"{self.services_name}"',
        )
        # The host of NickServ & co. (the "services.host" define).
        services = _patch(
            services,
            r'^(\s*value\s*=\s*)"services\.example\.com"',
            rf'\g<1>"{self.services_name}"',
        )
        services = _patch(services, r'^(\s*pid\s*=\s*)".*"', rf'\g<1>"{self.anope_dir}/anope.pid"')
        services = _patch(services, r'^(\s*motd\s*=\s*)".*"', rf'\g<1>"{conf}/services.motd"')
        # InspIRCd's casemapping; with Anope's "ascii" default the link fails.
        services = _patch(services, r'^(\s*casemap\s*=\s*)"ascii"', r'\g<1>"rfc1459"')
        services = _patch(services, r"^(\s*usemail\s*=\s*)yes", r"\g<1>no")
        # Reconnect quickly if the uplink goes away while Anope runs.
        services = _patch(services, r"^(\s*retrywait\s*=\s*)\S+", r"\g<1>2s")
        (conf / "services.conf").write_text(services)

        nickserv = (conf / "nickserv.conf").read_text()
        nickserv = _patch(nickserv, r"^(\s*forceemail\s*=\s*)yes", r"\g<1>no")
        nickserv = _patch(nickserv, r"^(\s*regdelay\s*=\s*)\S+", r"\g<1>0s")
        # No killprotect: a test may use a registered nick without identifying.
        nickserv = _patch(nickserv, r'^(\s*defaults\s*=\s*)"killprotect ', r'\g<1>"')
        nickserv = _patch(nickserv, r"^(\s*maxlogins\s*=\s*)\d+", r"\g<1>0")
        (conf / "nickserv.conf").write_text(nickserv)

        operserv = (conf / "operserv.conf").read_text()
        # os_session kills the 4th client from one host: every test client is 127.0.0.1.
        operserv = _patch(operserv, r'^module(\s*\{\s*name\s*=\s*"os_session")', r"#module\1")
        (conf / "operserv.conf").write_text(operserv)

        _chown_tree(self.anope_dir, "irc")
        os.chmod(self.anope_dir, 0o700)

    def start(self) -> None:
        """Start InspIRCd (and Anope); on a restart, on the same ports as before."""
        if self.workdir is None:
            self._configure()
        assert self.workdir is not None
        log = self.workdir / "inspircd.out"
        try:
            self._ircd = _spawn(
                [INSPIRCD, "--config", self.workdir / "inspircd.conf", "--nofork", "--runasroot"],
                log=log,
                cwd=self.workdir,
            )
            port = self.port
            _wait_until(lambda: _port_open(port), "InspIRCd", proc=self._ircd, log=log)
            if self.services:
                self._start_anope()
        except BaseException:
            self.stop()  # a restart that fails halfway leaves nothing running either
            raise

    def _anope_log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in sorted((self.anope_dir / "logs").glob("services.log*"))
        )

    def _start_anope(self) -> None:
        # Only a "done syncing" written by this run counts, not one from before a restart.
        seen = self._anope_log().count("done syncing")
        out = self.anope_dir / "anope.out"
        self._anope = _spawn(
            [
                ANOPE,
                "--nofork",
                f"--confdir={self.anope_dir / 'conf'}",
                f"--dbdir={self.anope_dir / 'db'}",
                f"--logdir={self.anope_dir / 'logs'}",
                f"--modulesdir={ANOPE_MODULES}",
                f"--localedir={ANOPE_LOCALE}",
            ],
            log=out,
            cwd=self.anope_dir,
            user="irc",
        )
        _wait_until(
            lambda: self._anope_log().count("done syncing") > seen,
            "Anope",
            proc=self._anope,
            log=out,
        )

    def stop(self) -> None:
        """Stop services and server; :meth:`start` brings them back on the same ports."""
        try:
            _stop(self._anope)  # SIGTERM: Anope saves its database on the way out
        finally:
            self._anope = None
            _stop(self._ircd)
            self._ircd = None

    @property
    def running(self) -> bool:
        return self._ircd is not None and self._ircd.poll() is None

    def register_account(
        self, nick: str, password: str, email: str = "test@example.org", timeout: float = 20
    ) -> None:
        """Register NickServ account ``nick`` (needs ``services=True``).

        Connects a throwaway client under that nick, sends ``REGISTER`` and
        waits for NickServ's confirmation.
        """
        if not self.services:
            raise RuntimeError("register_account needs IrcServer(services=True)")
        with IrcPerson(self.host, self.port, nick) as person:
            mark = len(person.messages)
            person.say("NickServ", f"REGISTER {password} {email}")
            _kind, _source, _target, text = person.wait_for(
                lambda m: m[1] == "NickServ" and m[0] in ("privnotice", "privmsg"),
                timeout,
                since=mark,
            )
            # Anope 2.0: "Nickname \x02NICK\x02 registered."
            plain = re.sub(r"\x03\d{0,2}(?:,\d{1,2})?|[\x02\x0f\x16\x1d\x1f]", "", text)
            if not re.match(rf"Nickname {re.escape(nick)} registered\b", plain, re.IGNORECASE):
                raise RuntimeError(f"NickServ did not register {nick!r}: {plain!r}")


@pytest.fixture(scope="session")
def ircd() -> Iterator[IrcServer]:
    """An InspIRCd without services for the whole session (fast to start)."""
    require("InspIRCd", IrcServer.available(), "apt-get install inspircd")
    with IrcServer() as server:
        yield server


@pytest.fixture(scope="session")
def ircd_services() -> Iterator[IrcServer]:
    """An InspIRCd linked with Anope (accounts, SASL) for the whole session."""
    require(
        "InspIRCd + Anope",
        IrcServer.available(services=True),
        "apt-get install inspircd; apt-get install --no-install-recommends anope",
    )
    with IrcServer(services=True) as server:
        yield server


@pytest.fixture(scope="session")
def ircd_libera() -> Iterator[IrcServer]:
    """InspIRCd + Anope as strict as Libera: default flood limits (fakelag,
    commandrate, recvq), account-tag, echo-message. For the tests that are
    about what a real network does to the bot."""
    require(
        "InspIRCd + Anope",
        IrcServer.available(services=True),
        "apt-get install inspircd; apt-get install --no-install-recommends anope",
    )
    with IrcServer(services=True, strict=True, server_name="strict.test",
                   services_name="services.strict.test") as server:
        yield server


# ---------------------------------------------------------------------------
# A person on IRC
# ---------------------------------------------------------------------------

Message = tuple[str, str, str, str]
"""(kind, source nick, target, text); kind is privmsg, pubmsg, privnotice or pubnotice."""

_MESSAGE_KINDS = {"privmsg", "pubmsg", "privnotice", "pubnotice"}


class IrcPerson:
    """Someone in the channel: a jaraco ``irc.client`` connection on its own thread.

    The constructor returns once the server has welcomed the client (and,
    with ``sasl=(account, password)``, once SASL succeeded; a failed SASL
    raises). Everything received is kept: chat in :attr:`messages`, every
    event (numerics, joins, tags) in :attr:`events`. All methods may be
    called from any thread.
    """

    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        sasl: tuple[str, str] | None = None,
        *,
        caps: Sequence[str] = (),
        timeout: float = 20.0,
        username: str | None = None,
        source: str | None = None,
    ) -> None:
        self.nick_requested = nick
        self._sasl = sasl
        self._wanted_caps = set(caps) | ({"sasl"} if sasl else set())
        self.caps: set[str] = set()
        self._offered: set[str] = set()
        self._sasl_error: str | None = None
        self._cond = threading.Condition()
        self._messages: list[Message] = []
        self._events: list[irc.client.Event] = []
        self._closing = threading.Event()

        self.reactor = irc.client.Reactor()
        self.reactor.add_global_handler("all_events", self._on_event, -100)
        if self._wanted_caps:
            self.reactor.add_global_handler("cap", self._on_cap, -50)
            self.reactor.add_global_handler("authenticate", self._on_authenticate, -50)
            for kind in ("saslsuccess", "saslfail", "saslaborted", "sasltoolong", "saslalready"):
                self.reactor.add_global_handler(kind, self._on_sasl_done, -50)
        self.connection = self.reactor.server()
        # Wiki text is hostile; never let a stray byte kill the reader.
        self.connection.buffer_class = jaraco.stream.buffer.LenientDecodingLineBuffer

        # ``source`` (127.0.0.2, ...) makes the client come from another host
        plain = irc.connection.Factory(bind_address=(source, 0) if source else None)

        def connect_factory(address: tuple[str, int]) -> socket.socket:
            sock = plain(address)
            if self._wanted_caps:
                # Before NICK/USER, so the server holds registration for CAP.
                sock.sendall(b"CAP LS 302\r\n")
            return sock

        with self.reactor.mutex:
            self.connection.connect(host, port, nick, username=username,
                                    connect_factory=connect_factory)
        self._thread = threading.Thread(
            target=self._loop, name=f"IrcPerson-{nick}", daemon=True
        )
        self._thread.start()
        try:
            welcome = self.wait_for_event(
                lambda e: e.type in ("welcome", "error", "disconnect", "nicknameinuse"),
                timeout,
            )
            if welcome.type != "welcome":
                raise RuntimeError(f"{nick} could not connect: {welcome.type} {welcome.arguments}")
            if self._sasl_error:
                raise RuntimeError(f"SASL login of {nick} failed: {self._sasl_error}")
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.reactor.process_once(0.05)
            except (OSError, ValueError):
                # The reactor lists its sockets, drops its lock, then selects:
                # a socket closed in between (by close() or the server going
                # away) makes select() fail. The next round no longer has it.
                time.sleep(0.01)

    def _on_event(self, connection: irc.client.ServerConnection, event: irc.client.Event) -> None:
        if event.type == "all_raw_messages":
            return  # every line also arrives parsed, as its own event
        with self._cond:
            self._events.append(event)
            if event.type in _MESSAGE_KINDS:
                source = event.source.nick if event.source else ""
                self._messages.append((event.type, source, event.target, event.arguments[0]))
            self._cond.notify_all()

    def _on_cap(self, connection: irc.client.ServerConnection, event: irc.client.Event) -> None:
        sub, *rest = event.arguments
        if sub == "LS":
            more = len(rest) > 1 and rest[0] == "*"
            offered = rest[-1] if rest else ""
            self._offered.update(c.split("=", 1)[0] for c in offered.split())
            if more:
                return
            wanted = sorted(self._wanted_caps & self._offered)
            if self._sasl and "sasl" not in wanted:
                self._sasl_error = "server offers no SASL"
            if wanted:
                connection.send_raw("CAP REQ :" + " ".join(wanted))
            else:
                connection.cap("END")
        elif sub == "ACK":
            acked = set((rest[-1] if rest else "").split())
            self.caps |= acked
            if "sasl" in acked and self._sasl:
                connection.send_raw("AUTHENTICATE PLAIN")
            else:
                connection.cap("END")
        elif sub == "NAK":
            if self._sasl:
                self._sasl_error = "server refused the sasl capability"
            connection.cap("END")

    def _on_authenticate(
        self, connection: irc.client.ServerConnection, event: irc.client.Event
    ) -> None:
        if event.target == "+" and self._sasl:
            account, password = self._sasl
            blob = f"{account}\0{account}\0{password}".encode()
            connection.send_raw("AUTHENTICATE " + base64.b64encode(blob).decode())

    def _on_sasl_done(
        self, connection: irc.client.ServerConnection, event: irc.client.Event
    ) -> None:
        if event.type != "saslsuccess":
            self._sasl_error = f"{event.type}: {' '.join(event.arguments)}"
        connection.cap("END")

    # -- looking ----------------------------------------------------------

    @property
    def nick(self) -> str:
        return str(self.connection.get_nickname())

    @property
    def messages(self) -> list[Message]:
        """A snapshot of all chat received: (kind, source nick, target, text)."""
        with self._cond:
            return list(self._messages)

    @property
    def events(self) -> list[irc.client.Event]:
        """A snapshot of every event received (jaraco ``Event``: type, source, target, arguments, tags)."""
        with self._cond:
            return list(self._events)

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 10.0, *, since: int = 0
    ) -> Message:
        """The first message that ``predicate`` accepts, already received or yet to come.

        ``since`` skips the first messages (pass ``len(person.messages)`` to
        wait for a new one). Raises ``TimeoutError`` listing what arrived.
        """
        return self._wait(self._messages, predicate, timeout, since, "message")

    def wait_for_event(
        self,
        predicate: Callable[[irc.client.Event], bool],
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> irc.client.Event:
        """Like :meth:`wait_for`, over :attr:`events`."""
        return self._wait(self._events, predicate, timeout, since, "event")

    def _wait(
        self,
        items: list[T],
        predicate: Callable[[T], bool],
        timeout: float,
        since: int,
        what: str,
    ) -> T:
        deadline = time.monotonic() + timeout
        checked = since
        with self._cond:
            while True:
                for item in items[checked:]:
                    if predicate(item):
                        return item
                checked = max(checked, len(items))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.nick_requested}: no matching {what} within {timeout} s;"
                        f" last ones: {items[-20:]!r}"
                    )
                self._cond.wait(remaining)

    # -- doing ------------------------------------------------------------

    def send_raw(self, line: str) -> None:
        with self.reactor.mutex:
            self.connection.send_raw(line)

    def say(self, target: str, text: str) -> None:
        """PRIVMSG ``target``."""
        with self.reactor.mutex:
            self.connection.privmsg(target, text)

    def notice(self, target: str, text: str) -> None:
        with self.reactor.mutex:
            self.connection.notice(target, text)

    def join(self, channel: str, timeout: float = 10.0) -> None:
        """Join ``channel`` and wait until the server confirms it (or refuses)."""
        mark = len(self.events)
        with self.reactor.mutex:
            self.connection.join(channel)
        refusals = {"bannedfromchan", "inviteonlychan", "channelisfull", "badchannelkey"}

        def answered(event: irc.client.Event) -> bool:
            if event.type in refusals:
                return True
            return (
                event.type == "join"
                and event.source is not None
                and event.source.nick == self.nick
                and str(event.target).lower() == channel.lower()
            )

        event = self.wait_for_event(answered, timeout, since=mark)
        if event.type != "join":
            raise RuntimeError(f"{self.nick} cannot join {channel}: {event.type} {event.arguments}")

    def whois_account(self, nick: str, timeout: float = 10.0) -> str | None:
        """The services account ``nick`` is logged in to (WHOIS 330), or None."""
        mark = len(self.events)
        with self.reactor.mutex:
            self.connection.whois(nick)
        low = nick.lower()

        def done(event: irc.client.Event) -> bool:
            return event.type == "endofwhois" and event.arguments[0].lower() == low

        self.wait_for_event(done, timeout, since=mark)
        for event in self.events[mark:]:
            if event.type == "whoisaccount" and event.arguments[0].lower() == low:
                return str(event.arguments[1])
        return None

    @property
    def connected(self) -> bool:
        return bool(self.connection.is_connected())

    def close(self, message: str = "bye") -> None:
        """QUIT and stop the thread. Safe to call twice."""
        if self._closing.is_set():
            return
        try:
            with self.reactor.mutex:
                if self.connection.is_connected():
                    self.connection.quit(message)
                    self.connection.disconnect(message)
        except (irc.client.ServerNotConnectedError, OSError):
            pass
        self._closing.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)

    def __enter__(self) -> IrcPerson:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

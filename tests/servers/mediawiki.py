"""MediaWiki on PHP's built-in server with SQLite: a private wiki with real
users, edits, moves and the Action API's real answers."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .common import HOST, _make_workdir, _run, _Server, _spawn, _stop, _wait_until, free_port, require

MEDIAWIKI_SOURCE = Path("/usr/share/mediawiki")


# ---------------------------------------------------------------------------
# MediaWiki
# ---------------------------------------------------------------------------

_WIKI_SETTINGS = """
# ---- added by tests/servers/mediawiki.py: a private test wiki on {host} ----
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


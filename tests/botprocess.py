"""The bot as a real process, started the way an operator starts it:
``python run_bot.py`` with its configuration in the environment.

Also a fault-injecting HTTP proxy for the wiki (500s, slow answers, maxlag)
and a local EventStreams endpoint that speaks Wikimedia's recentchange SSE
format. Everything listens on 127.0.0.1 and is stopped by PID.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from localhttp import QuietHandler, serve
from pathlib import Path
from typing import Callable

import requests

from pagebuilder import App, Page
from realservers import IrcPerson, IrcServer, MediaWikiServer

ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    """``python run_bot.py`` in its own process group, with a log file."""

    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env = {**os.environ, **env, "OTRSHELP_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        self.env.pop("CI", None)  # the bot does not care; keep its environment plain
        self.home = home
        self.log_path = home.parent / f"bot-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "BotProcess":
        self.home.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], cwd=str(ROOT),
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the whole process group by PID; SIGKILL by default, as a crash."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class FaultyProxy:
    """Forwards requests to the real wiki unless told to fail: ``mode`` is
    ``ok``, ``500``, ``slow`` (answers after ``slow_seconds``), ``maxlag``
    (the Action API's real maxlag error with Retry-After) or ``429``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "ok"
        self.slow_seconds = 3.0
        self.fail_after: int | None = None  # switch to 500s after this many good answers
        self.requests: list[tuple[str, str]] = []  # (mode, query) per request
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self):
                if proxy.fail_after is not None:
                    if proxy.fail_after <= 0:
                        proxy.mode = "500"
                    proxy.fail_after -= 1
                mode = proxy.mode
                proxy.requests.append((mode, self.path))
                if mode == "500":
                    return self._send(500, b"<html>Internal error</html>", "text/html")
                if mode == "429":
                    return self._send(429, b"Too many requests", "text/plain", {"Retry-After": "1"})
                if mode == "maxlag":
                    body = json.dumps({"error": {
                        "code": "maxlag", "info": "Waiting for 10.64.16.7: 7 seconds lagged.",
                        "host": "10.64.16.7", "lag": 7, "type": "db",
                        "docref": "See https://meta.wikimedia.org/w/api.php for API usage."},
                        "servedby": "mw1234"}).encode()
                    return self._send(200, body, "application/json; charset=utf-8",
                                      {"Retry-After": "1", "X-Database-Lag": "7"})
                if mode == "slow":
                    time.sleep(proxy.slow_seconds)
                path = self.path.split("/", 2)[-1] if self.path.count("/") > 1 else self.path.lstrip("/")
                url = f"{proxy.upstream}/{path}"
                r = requests.get(url, headers={"User-Agent": self.headers.get("User-Agent", "")},
                                 timeout=30)
                return self._send(r.status_code, r.content, r.headers.get("Content-Type", "application/json"))

            def _send(self, code, body, ctype, headers=None):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = serve(Handler)
        self.port = self.server.server_address[1]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api.php"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class StreamServer:
    """A local EventStreams endpoint: ``/v2/stream/recentchange`` as
    ``text/event-stream``, each event with an ``id:`` line (JSON array of
    topic/partition/offset, as Wikimedia sends) and ``event: message``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._events: list[tuple[str, str]] = []  # (id, data)
        self.connections: list[str | None] = []  # Last-Event-ID per connection
        self._closing = False
        self._generation = 0
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                last = self.headers.get("Last-Event-ID")
                server.connections.append(last)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                with server._cond:
                    ids = [i for i, _ in server._events]
                    sent = ids.index(last) + 1 if last in ids else len(server._events)
                generation = server._generation
                try:
                    self.wfile.write(b":ok\n\n")
                    self.wfile.flush()
                    while not server._closing and generation == server._generation:
                        with server._cond:
                            server._cond.wait_for(lambda: server._closing or len(server._events) > sent
                                                  or generation != server._generation, timeout=1.0)
                            pending = server._events[sent:]
                            sent = len(server._events)
                        for event_id, data in pending:
                            self.wfile.write(f"event: message\nid: {event_id}\ndata: {data}\n\n".encode())
                        self.wfile.write(b":\n\n")  # keep-alive comment
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return

        self.server = serve(Handler)
        self.port = self.server.server_address[1]
        self._offset = 1000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/stream/recentchange"

    def publish(self, event: dict) -> None:
        self._offset += 1
        event_id = json.dumps([{"topic": "eqiad.mediawiki.recentchange", "partition": 0,
                                "offset": self._offset}], separators=(",", ":"))
        with self._cond:
            self._events.append((event_id, json.dumps(event, separators=(",", ":"))))
            self._cond.notify_all()

    @property
    def last_id(self) -> str | None:
        with self._cond:
            return self._events[-1][0] if self._events else None

    def drop_connections(self) -> None:
        """End every open stream, as a load balancer or a network blip does."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def close(self) -> None:
        self._closing = True
        with self._cond:
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


def recentchange(wiki: str, title: str, user: str, revid: int, old: int, ns: int = 0) -> dict:
    """A recentchange event as EventStreams sends it (schema 1.0.1)."""
    now = int(time.time())
    server = "meta.wikimedia.org" if wiki == "metawiki" else f"{wiki}.example.org"
    return {
        "$schema": "/mediawiki/recentchange/1.0.1",
        "meta": {"uri": f"https://{server}/wiki/{title.replace(' ', '_')}",
                 "request_id": uuid.uuid4().hex, "id": str(uuid.uuid4()),
                 "dt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                 "domain": server, "stream": "mediawiki.recentchange",
                 "topic": "eqiad.mediawiki.recentchange", "partition": 0, "offset": revid},
        "id": revid * 10, "type": "edit", "namespace": ns, "title": title,
        "title_url": f"https://{server}/wiki/{title.replace(' ', '_')}",
        "comment": "", "timestamp": now, "user": user, "bot": False,
        "notify_url": f"https://{server}/w/index.php?diff={revid}&oldid={old}",
        "minor": False, "patrolled": False, "length": {"old": 100, "new": 120},
        "revision": {"old": old, "new": revid}, "server_url": f"https://{server}",
        "server_name": server, "server_script_path": "/w", "wiki": wiki, "parsedcomment": "",
    }


def missing_servers() -> str | None:
    """What a benchmark that runs the bot against MediaWiki and InspIRCd
    lacks on this machine, said as a line; None when both are installed."""
    missing = [name for name, ok in (("MediaWiki", MediaWikiServer.available()),
                                     ("InspIRCd", IrcServer.available())) if not ok]
    return f"{' and '.join(missing)} not installed (see .ci/install): cannot run" if missing else None


def wait_until(pred: Callable[[], bool], timeout: float, what: str, log: Callable[[], str] = lambda: "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n--- bot log ---\n{log()[-4000:]}")


def stored_revid(home: Path) -> int | None:
    """The last revision a bot with the default SQLite store in *home* has
    processed: what a test waits for instead of sleeping through a poll."""
    db = home / "data" / "otrshelp.sqlite3"
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT last_revid FROM page_state WHERE id = 1").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def unannounced(db_url: str) -> int | None:
    """Events in the bot's database (any SQLAlchemy URL) without their
    receipt yet; ``None`` while the database cannot be read."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events WHERE announced_at IS NULL")).scalar_one()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def now_min() -> datetime:
    """Now, to the minute: signatures carry no seconds."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


class Scene:
    """A volunteering page on a real wiki, a channel, the bot started by
    run_bot.py and one person watching. The page is created under its old
    name and moved, as happened on Meta, and the bot is told the old name."""

    def __init__(self, wiki, ircd, home: Path, *, api_url: str | None = None, stream_url: str = "",
                 poll: int = 1, extra_env: dict[str, str] | None = None, prefix: str = "vrt") -> None:
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.wiki = wiki
        self.channel = f"#{prefix}-{tag}"
        self.title = f"Volunteer Response Team/Volunteering {tag}"
        self.old_title = f"OTRS/Volunteering {tag}"
        t = now_min()
        self.page = Page([App("Alice Example", t), App("Bob", t)])
        wiki.edit(self.old_title, self.page.text(), "Page Creator", "create")
        wiki.move(self.old_title, self.title, "Page Creator")
        self.revid = wiki.api(action="query", prop="info", titles=self.title)["query"]["pages"][0]["lastrevid"]
        env = {
            "OTRSHELP_NICK": f"OTRSHelp{tag[:3]}",
            "OTRSHELP_IRC_SERVER": f"127.0.0.1:{ircd.port}",
            "OTRSHELP_IRC_TLS": "false",
            "OTRSHELP_CHANNELS": self.channel,
            "OTRSHELP_WIKI_API": api_url or wiki.api_url,
            "OTRSHELP_PAGE": self.old_title,
            "OTRSHELP_EVENTSTREAM": stream_url,
            "OTRSHELP_POLL_SECONDS": str(poll),
            "OTRSHELP_CONTACT": "otrshelp-tests@example.org",
            **(extra_env or {}),
        }
        self.nick = env["OTRSHELP_NICK"]
        self.home = home
        self.bot = BotProcess(env, home)
        self.person = IrcPerson("127.0.0.1", ircd.port, f"watcher{tag[:4]}")
        self.person.join(self.channel)

    def start_bot(self) -> None:
        """Start the bot; return once it has joined and read the page as it
        is (that first read announces nothing), so later edits are new."""
        mark = len(self.person.events)
        self.bot.start()
        self.person.wait_for_event(
            lambda e: e.type == "join" and e.source.nick == self.nick and e.target == self.channel,
            timeout=60, since=mark)
        self.wait_read()

    def stored_revid(self) -> int | None:
        """The last revision the bot has processed, from its SQLite file."""
        return stored_revid(self.home)

    def wait_read(self, revid: int | None = None, timeout: float = 60) -> None:
        """Until the bot has processed *revid* (default: the last edit)."""
        want = revid if revid is not None else self.revid
        wait_until(lambda: (self.stored_revid() or 0) >= want, timeout,
                   f"the bot to read revision {want}", self.bot.log)

    def lines(self) -> list[str]:
        return [text for kind, src, target, text in self.person.messages
                if src == self.nick and target == self.channel]

    def wait_line(self, needle: str, timeout: float = 30) -> str:
        wait_until(lambda: any(needle in l for l in self.lines()), timeout,
                   f"a line with {needle!r}; got {self.lines()}", self.bot.log)
        return next(l for l in self.lines() if needle in l)

    def edit(self, user: str, summary: str = "test edit") -> int:
        self.revid = self.wiki.edit(self.title, self.page.text(), user, summary)
        return self.revid

    def close(self) -> None:
        try:
            self.bot.kill(signal.SIGTERM)
        finally:
            self.person.close()

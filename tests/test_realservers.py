"""The real servers of ``realservers.py`` start, answer, and stop cleanly.

These are the foundations every integration test stands on, so each check
here is the smallest real use: a SQL query, two wiki edits by two users, a
move, two people talking on IRC, a SASL login, a server restart.
The fixtures come from ``tests/conftest.py`` (``from realservers import *``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from realservers import (
    IrcPerson,
    IrcServer,
    MediaWikiServer,
    _Server,
    _spawn,
    _stop,
    create_database,
    require,
)


def _people(server: IrcServer, *specs: dict) -> list[IrcPerson]:
    """Connect several people at once: each registration takes about a second."""
    with ThreadPoolExecutor(len(specs)) as pool:
        futures = [
            pool.submit(IrcPerson, server.host, server.port, **spec) for spec in specs
        ]
        return [f.result() for f in futures]


# -- plumbing ---------------------------------------------------------------


def test_require_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    require("anything", True, "present")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require("thing", False, "apt-get install thing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require("thing", False, "apt-get install thing")


def test_failed_setup_stops_what_it_started() -> None:
    """A start that breaks halfway leaves no process and no directory behind."""
    started: list[subprocess.Popen[bytes]] = []
    made: list[Path] = []

    class Broken(_Server):
        def start(self) -> None:
            self.workdir = Path(tempfile.mkdtemp(prefix="otrshelp-broken-"))
            made.append(self.workdir)
            started.append(
                _spawn(["sleep", "60"], log=self.workdir / "log", cwd=self.workdir)
            )
            raise RuntimeError("setup failed halfway")

        def stop(self) -> None:
            for proc in started:
                _stop(proc)

    broken = Broken()
    with pytest.raises(RuntimeError, match="halfway"):
        with broken:
            pass  # pragma: no cover - never reached
    assert started and started[0].poll() is not None
    assert broken.workdir is None and not made[0].exists()


# -- PostgreSQL ---------------------------------------------------------------


def test_postgres_answers_sqlalchemy(postgres_url: str) -> None:
    url = create_database(postgres_url, "realservers_check")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (name text)"))
            conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": "Ìch heiss Nat"})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM t")).scalar_one() == "Ìch heiss Nat"
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == (
                "realservers_check"
            )
    finally:
        engine.dispose()
    # Re-creating gives an empty database again: per-test isolation.
    engine = sa.create_engine(create_database(postgres_url, "realservers_check"))
    try:
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("t")
    finally:
        engine.dispose()


def test_postgres_db_is_private(postgres_db: str, postgres_url: str) -> None:
    assert postgres_db != postgres_url
    engine = sa.create_engine(postgres_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


# -- MediaWiki -------------------------------------------------------------------


def test_mediawiki_revisions_by_two_users(mediawiki: MediaWikiServer) -> None:
    title = "Realservers/Two editors"
    mediawiki.create_user("Ìch heiss Nat")
    mediawiki.create_user("Ìch heiss Nat")  # idempotent
    started = time.monotonic()
    first = mediawiki.edit(title, "first text", "Ìch heiss Nat", summary="one")
    second = mediawiki.edit(title, "second text", "MB-one", summary="two")
    assert second > first
    assert time.monotonic() - started < 10

    reply = mediawiki.api(
        action="query",
        prop="revisions",
        titles=title,
        rvprop="ids|user|comment|content",
        rvslots="main",
        rvlimit=10,
        rvdir="newer",
    )
    revisions = reply["query"]["pages"][0]["revisions"]
    assert [
        (r["revid"], r["user"], r["comment"], r["slots"]["main"]["content"]) for r in revisions
    ] == [
        (first, "Ìch heiss Nat", "one", "first text"),
        (second, "MB-one", "two", "second text"),
    ]
    assert mediawiki.api_url.startswith("http://127.0.0.1:")
    assert mediawiki.index_url.endswith("/index.php")


def test_mediawiki_move_leaves_redirect(mediawiki: MediaWikiServer) -> None:
    mediawiki.edit("Realservers/Old name", "content", "MB-one")
    mediawiki.move("Realservers/Old name", "Realservers/New name", "MB-one", reason="rename")

    reply = mediawiki.api(action="query", titles="Realservers/Old name", redirects=1, prop="info")
    assert reply["query"]["redirects"] == [
        {"from": "Realservers/Old name", "to": "Realservers/New name"}
    ]
    assert reply["query"]["pages"][0]["title"] == "Realservers/New name"


# -- IRC ---------------------------------------------------------------------------


def test_irc_people_see_each_other(ircd: IrcServer) -> None:
    alice, bob = _people(ircd, {"nick": "alice"}, {"nick": "bob"})
    try:
        alice.join("#realservers")
        bob.join("#realservers")
        alice.say("#realservers", "hello, wörld")
        assert bob.wait_for(lambda m: m[0] == "pubmsg") == (
            "pubmsg", "alice", "#realservers", "hello, wörld"
        )
        bob.say("alice", "psst")
        assert alice.wait_for(lambda m: m[0] == "privmsg") == ("privmsg", "bob", "alice", "psst")
    finally:
        alice.close()
        bob.close()


def test_services_sasl_login(ircd_services: IrcServer) -> None:
    ircd_services.register_account("Saslie", "s3cret-pass")
    saslie, observer = _people(
        ircd_services,
        {"nick": "saslie_bot", "sasl": ("Saslie", "s3cret-pass")},
        {"nick": "observer", "caps": ["account-tag"]},
    )
    try:
        assert "sasl" in saslie.caps and "account-tag" in observer.caps
        assert observer.whois_account("saslie_bot") == "Saslie"
        assert observer.whois_account("observer") is None
        saslie.join("#accounts")
        observer.join("#accounts")
        saslie.say("#accounts", "tagged")
        event = observer.wait_for_event(lambda e: e.type == "pubmsg")
        assert {"key": "account", "value": "Saslie"} in (event.tags or [])
    finally:
        saslie.close()
        observer.close()

    with pytest.raises(RuntimeError, match="SASL"):
        IrcPerson(ircd_services.host, ircd_services.port, "intruder", sasl=("Saslie", "wrong"))
    with pytest.raises(RuntimeError, match="did not register"):
        ircd_services.register_account("Saslie", "another-pass")


def test_irc_restart_on_same_port() -> None:
    """Stop and start bring the network back on its ports, accounts intact."""
    require("InspIRCd + Anope", IrcServer.available(services=True), "see .ci/install")
    with IrcServer(services=True) as server:
        port = server.port
        server.register_account("Comeback", "again-and-again")
        person = IrcPerson(server.host, port, "stayer")
        server.stop()
        person.wait_for_event(lambda e: e.type in ("disconnect", "error"))
        assert not server.running
        person.close()

        server.start()
        assert server.port == port
        with IrcPerson(server.host, port, "returner", sasl=("Comeback", "again-and-again")) as back:
            assert back.whois_account("returner") == "Comeback"


def test_no_server_outlives_its_context() -> None:
    require("InspIRCd", IrcServer.available(), "apt-get install inspircd")
    with IrcServer() as server:
        pid = server._ircd.pid if server._ircd else None
        workdir = server.workdir
    assert pid is not None and workdir is not None
    assert not workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)

"""The database goes away while people edit the page: the bot says so once,
loses nothing, and after the database is back and the bot is killed -9 and
restarted, nothing is announced twice."""
from __future__ import annotations

import signal
import time
import uuid

import pytest

from botprocess import Scene, now_min, unannounced, wait_until
from pagebuilder import sig
from realservers import PostgresServer, create_database, require


@pytest.fixture
def own_postgres():
    """A PostgreSQL of this test's own, to stop and start; commits are
    durable (synchronous_commit on) as on a real server."""
    require("PostgreSQL", PostgresServer.available(), "apt-get install postgresql")
    with PostgresServer(settings={"synchronous_commit": "on"}) as server:
        yield server


def test_a_database_outage_loses_and_repeats_nothing(mediawiki, ircd, own_postgres, tmp_path):
    db = create_database(own_postgres.url, f"outage_{uuid.uuid4().hex[:8]}")
    scene = Scene(mediawiki, ircd, tmp_path / "var", prefix="pg", extra_env={"OTRSHELP_DB": db})
    try:
        mark = len(scene.person.events)
        scene.bot.start()
        scene.person.wait_for_event(lambda e: e.type == "join" and e.source.nick == scene.nick,
                                    timeout=60, since=mark)
        wait_until(lambda: "is the active one" in scene.bot.log(), 60, "the bot to start", scene.bot.log)
        t = now_min()
        bob = scene.page.apps[1]
        bob.lines.append(f"*{{{{support}}}} Before. {sig('Supporter One', t)}")
        scene.edit("Supporter One")
        scene.wait_line("S\u200bupporter One supports")

        own_postgres.pause()
        bob.lines.append(f"*{{{{oppose}}}} During one. {sig('Opposer', t)}")
        scene.edit("Opposer")
        bob.lines.append(f"*{{{{q}}}} During two? {sig('Asker', t)}")
        scene.edit("Asker")
        wait_until(lambda: "the database is unavailable" in scene.bot.log(), 30,
                   "a line saying the database is unavailable", scene.bot.log)
        time.sleep(3)  # several more polls fail meanwhile: the line is not repeated
        log = scene.bot.log()
        assert log.count("the database is unavailable") == 1, log[-3000:]
        assert "Traceback" not in log
        own_postgres.resume()
        scene.wait_line("O\u200bpposer opposes", timeout=60)
        scene.wait_line("A\u200bsker asked", timeout=30)
        wait_until(lambda: "the database is back" in scene.bot.log(), 30, "one line saying it is back",
                   scene.bot.log)
        wait_until(lambda: unannounced(db) == 0, 30, "every event's receipt", scene.bot.log)

        scene.bot.kill(signal.SIGKILL)
        mark = len(scene.person.events)
        scene.bot.start()
        scene.person.wait_for_event(lambda e: e.type == "join" and e.source.nick == scene.nick,
                                    timeout=60, since=mark)
        time.sleep(6)
        lines = scene.lines()
        for needle in ("supports", "opposes", "asked"):
            assert sum(needle in l for l in lines) == 1, lines
        assert len(lines) == 3, lines
    finally:
        scene.close()

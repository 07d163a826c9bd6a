"""Exactly once through a server as strict as Libera (InspIRCd with its
default flood limits, echo-message): a huge edit is a few lines, the bot is
never disconnected for flooding, and the next edit is announced on time."""
from __future__ import annotations

import time

from botprocess import Scene, now_min
from pagebuilder import App, sig


def test_an_edit_adding_300_applications_is_a_few_lines_and_no_disconnect(mediawiki, ircd_libera, tmp_path):
    scene = Scene(mediawiki, ircd_libera, tmp_path / "var", prefix="strict")
    try:
        scene.start_bot()
        t = now_min()
        scene.page.apps += [App(f"Mass Applicant {i}", t) for i in range(300)]
        scene.edit("Mass Adder")
        last = scene.wait_line("more applications", timeout=60)
        assert "295 more applications: 295 new applications, in one edit" in last, last
        assert f"diff={scene.revid}" in last
        time.sleep(3)
        lines = scene.lines()
        assert len(lines) == 6, lines
        # a normal edit afterwards is announced promptly, once
        dave = scene.page.apps[0]
        dave.lines.append(f"*{{{{support}}}} Sure. {sig('Supporter One', t)}")
        start = time.monotonic()
        scene.edit("Supporter One")
        scene.wait_line("supports", timeout=30)
        assert time.monotonic() - start < 15
        time.sleep(3)
        assert len(scene.lines()) == 7, scene.lines()
        log = scene.bot.log()
        assert "RecvQ" not in log and "Excess Flood" not in log, log[-3000:]
        assert log.count("Connecting to") <= 1 or "Reconnecting" not in log
        db_unannounced = _unannounced(scene)
        assert db_unannounced == 0, "every event has its receipt"
    finally:
        scene.close()


def _unannounced(scene) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{scene.home / 'data' / 'otrshelp.sqlite3'}?mode=ro", uri=True) as c:
        return c.execute("SELECT count(*) FROM events WHERE announced_at IS NULL").fetchone()[0]


def test_a_blanking_and_its_revert_announce_nothing(mediawiki, ircd, tmp_path):
    """A vandal blanks the page (open and closed applications alike); an
    admin reverts a minute later. Nobody's application was archived."""
    from botprocess import now_min as _now
    from pagebuilder import App as _App

    scene = Scene(mediawiki, ircd, tmp_path / "var", prefix="blank")
    try:
        t = _now()
        for i in range(3):
            closed = _App(f"Closed Applicant {i}", t)
            closed.lines.append(f":{{{{not done}}}} Declined. {sig('VRT Admin', t)}")
            scene.page.apps.append(closed)
        scene.edit("VRT Admin")
        scene.start_bot()
        before = len(scene.lines())
        good = scene.page.text()
        scene.revid = scene.wiki.edit(scene.title, "lol", "Vandal", "blank")
        time.sleep(4)
        scene.revid = scene.wiki.edit(scene.title, good, "VRT Admin", "revert")
        time.sleep(5)
        assert scene.lines()[before:] == [], scene.lines()[before:]
        # the page still works afterwards
        scene.page.apps[0].lines.append(f"*{{{{support}}}} Fine. {sig('Supporter One', t)}")
        scene.edit("Supporter One")
        scene.wait_line("S\u200bupporter One supports")
    finally:
        scene.close()

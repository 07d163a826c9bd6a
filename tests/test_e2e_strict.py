"""Exactly once through a server as strict as Libera (InspIRCd with its
default flood limits, echo-message): a huge edit is a few lines, the bot is
never disconnected for flooding, and the next edit is announced on time."""
from __future__ import annotations

import time

from botprocess import Scene, now_min, wait_until
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
        scene.wait_read()
        scene.revid = scene.wiki.edit(scene.title, good, "VRT Admin", "revert")
        scene.wait_read()
        time.sleep(2)  # a line the revert wrongly caused would be on its way
        assert scene.lines()[before:] == [], scene.lines()[before:]
        # the page still works afterwards
        scene.page.apps[0].lines.append(f"*{{{{support}}}} Fine. {sig('Supporter One', t)}")
        scene.edit("Supporter One")
        scene.wait_line("S\u200bupporter One supports")
    finally:
        scene.close()


def test_the_server_dies_in_the_middle_of_a_burst(mediawiki, tmp_path):
    """Lines that reached the server (their echo came back) are not sent
    again after the reconnect; the rest are; nothing is lost."""
    import re

    from botprocess import now_min as _now
    from pagebuilder import App as _App
    from realservers import IrcPerson, IrcServer, require

    require("InspIRCd", IrcServer.available(), "apt-get install inspircd")
    with IrcServer(strict=True, server_name="dies.test") as server:
        scene = Scene(mediawiki, server, tmp_path / "var", prefix="dies")
        person2 = None
        try:
            scene.start_bot()
            t = _now()
            names = [f"Burst Applicant {i:02d}" for i in range(12)]
            scene.page.apps += [_App(n, t) for n in names]
            scene.edit("Mass Adder")
            wait_until(lambda: len(scene.lines()) >= 2, 60, "two lines of the burst", scene.bot.log)
            server.stop()
            before = scene.lines()
            server.start()
            person2 = IrcPerson("127.0.0.1", server.port, f"back{scene.tag[:4]}")
            person2.join(scene.channel)

            def after() -> list[str]:
                return [text for _k, src, target, text in person2.messages
                        if src == scene.nick and target == scene.channel]
            wait_until(lambda: any("more application" in l for l in after() + before), 120,
                       "the rest of the burst after the reconnect", scene.bot.log)
            time.sleep(4)
            seen_before = {n for n in names if any(n.replace("B", "B\u200b", 1) in l for l in before)}
            seen_after = {n for n in names if any(n.replace("B", "B\u200b", 1) in l for l in after())}
            assert len(before) < 6 and after(), "the server died in the middle of the burst"
            assert not seen_before & seen_after, (before, after())
            rest = sum(int(m.group(1)) for l in before + after()
                       for m in [re.search(r"(\d+) more applications?", l)] if m)
            assert len(seen_before) + len(seen_after) + rest == 12, (before, after())
            assert _unannounced(scene) == 0
        finally:
            if person2 is not None:
                person2.close()
            scene.close()


def test_ctrl_c_stops_the_bot_promptly_while_the_wiki_is_down(ircd, tmp_path):
    """With the wiki unreachable the poller is in its retry back-off; Ctrl-C
    (SIGINT) still ends the bot at once (the waits are on the stop event)."""
    import signal as _signal

    from botprocess import BotProcess
    from realservers import free_port

    bot = BotProcess({
        "OTRSHELP_NICK": "OTRSHelpStop", "OTRSHELP_IRC_SERVER": f"127.0.0.1:{ircd.port}",
        "OTRSHELP_IRC_TLS": "false", "OTRSHELP_CHANNELS": "#stop-test",
        "OTRSHELP_WIKI_API": f"http://127.0.0.1:{free_port()}/api.php",  # nobody listens
        "OTRSHELP_POLL_SECONDS": "1", "OTRSHELP_CONTACT": "otrshelp-tests@example.org",
    }, tmp_path / "var")
    bot.start()
    try:
        wait_until(lambda: "Join to #stop-test" in bot.log(), 60, "the bot to join", bot.log)
        time.sleep(3)  # well into the retry back-off
        start = time.monotonic()
        bot.kill(_signal.SIGINT)
        took = time.monotonic() - start
        print(f"stopped {took:.2f} s after SIGINT")
        assert took < 5, f"took {took:.1f} s to stop\n{bot.log()[-2000:]}"
    finally:
        bot.kill()

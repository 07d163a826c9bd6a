"""Two instances, one database: Toolforge starts a continuous job's new pod
before the old one stops, and an operator may keep a standby. Both bots sit
in the channel on one PostgreSQL; only one announces and answers. When it is
killed (-9) the other takes over and announces what was missed, once."""
from __future__ import annotations

import signal
import time
import uuid

from botprocess import BotProcess, Scene, now_min, wait_until
from pagebuilder import sig
from realservers import create_database


def test_a_standby_takes_over_when_the_active_bot_dies(mediawiki, ircd, postgres_url, tmp_path):
    db = create_database(postgres_url, f"twobots_{uuid.uuid4().hex[:8]}")
    scene = Scene(mediawiki, ircd, tmp_path / "one", prefix="two", extra_env={"OTRSHELP_DB": db})
    second_nick = scene.nick[:-3] + "two"
    second = BotProcess({**scene.bot.env, "OTRSHELP_NICK": second_nick}, tmp_path / "two")
    try:
        mark = len(scene.person.events)
        scene.bot.start()
        scene.person.wait_for_event(lambda e: e.type == "join" and e.source.nick == scene.nick,
                                    timeout=60, since=mark)
        wait_until(lambda: "is the active one" in scene.bot.log(), 60, "the first bot to be active",
                   scene.bot.log)
        second.start()
        scene.person.wait_for_event(lambda e: e.type == "join" and e.source.nick == second_nick,
                                    timeout=60, since=mark)
        wait_until(lambda: "standing by" in second.log(), 60, "the second bot to stand by", second.log)

        def lines() -> list[tuple[str, str]]:
            return [(src, text) for _k, src, target, text in scene.person.messages
                    if src in (scene.nick, second_nick) and target == scene.channel]

        t = now_min()
        bob = scene.page.apps[1]
        bob.lines.append(f"*{{{{support}}}} First. {sig('Supporter One', t)}")
        scene.edit("Supporter One")
        wait_until(lambda: any("S\u200bupporter One supports" in l for _s, l in lines()), 30,
                   f"the first vote: {lines()}", scene.bot.log)
        # a plain question in the channel gets one answer, not two
        scene.person.say(scene.channel, "!apply")
        wait_until(lambda: any("volunteers-vrt" in l for _s, l in lines()), 30, "the answer", scene.bot.log)

        scene.bot.kill(signal.SIGKILL)
        bob.lines.append(f"*{{{{oppose}}}} Second. {sig('Opposer', t)}")
        scene.edit("Opposer")
        wait_until(lambda: any("O\u200bpposer opposes" in l for _s, l in lines()), 30,
                   f"the standby to announce the second vote: {lines()}", second.log)
        time.sleep(3)
        got = lines()
        assert [s for s, l in got if "supports" in l] == [scene.nick], got
        assert [s for s, l in got if "opposes" in l] == [second_nick], got
        assert sum("volunteers-vrt" in l for _s, l in got) == 1, got
    finally:
        second.kill(signal.SIGTERM)
        scene.close()

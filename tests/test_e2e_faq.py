"""End to end in the channel: the bot started by run_bot.py on a real
InspIRCd, people asking in plain words (jaraco's irc). What they see is
asserted: each asker answered in their language, chatter does not cancel a
pending answer, a person's answer does. The bot waits answerDelay (8 s)."""
from __future__ import annotations

import time

import pytest

from botprocess import Scene, wait_until
from realservers import IrcPerson


@pytest.fixture
def scene(mediawiki, ircd, tmp_path):
    s = Scene(mediawiki, ircd, tmp_path / "var", prefix="faq")
    s.start_bot()
    people: list[IrcPerson] = []

    def person(nick: str) -> IrcPerson:
        p = IrcPerson("127.0.0.1", ircd.port, f"{nick}{s.tag[:3]}")
        p.join(s.channel)
        people.append(p)
        return p

    s.newcomer = person
    yield s
    for p in people:
        p.close()
    s.close()


def answers_to(scene, nick: str) -> list[str]:
    return [l for l in scene.lines() if l.startswith(f"{nick}: ")]


def test_each_asker_answered_in_their_language_and_chatter_does_not_cancel(scene):
    alice, bob, carl = scene.newcomer("alice"), scene.newcomer("bob"), scene.newcomer("carl")
    alice.say(scene.channel, "how do i apply?")
    wait_until(lambda: answers_to(scene, alice.nick_requested), 30, "an answer to alice", scene.bot.log)
    # someone who asks the same thing later is answered too
    bob.say(scene.channel, "how do i apply?")
    carl.say(scene.channel, "brb, coffee")   # unrelated chatter meanwhile
    wait_until(lambda: answers_to(scene, bob.nick_requested), 30, "an answer to bob", scene.bot.log)
    # German after English: answered in German
    carl.say(scene.channel, "wie bewerbe ich mich?")
    wait_until(lambda: answers_to(scene, carl.nick_requested), 30, "an answer to carl", scene.bot.log)
    (a,), (b,), (c,) = (answers_to(scene, n.nick_requested) for n in (alice, bob, carl))
    assert "volunteers-vrt@wikimedia.org" in a and a.split(": ", 1)[1] == b.split(": ", 1)[1]
    assert "Bewerbung" in c and "volunteers-vrt@wikimedia.org" in c
    assert "answering" in scene.bot.log()


def test_a_human_answer_cancels_the_pending_one(scene):
    fred, helper = scene.newcomer("fred"), scene.newcomer("helper")
    fred.say(scene.channel, "how long does it take until i hear back?")
    time.sleep(1)
    helper.say(scene.channel, f"{fred.nick_requested}: it takes a while, the admins look at your edits first")
    time.sleep(11)  # past the 8 s delay: an answer would have arrived
    assert answers_to(scene, fred.nick_requested) == []
    assert f"not answering {fred.nick_requested} on how-long" in scene.bot.log()

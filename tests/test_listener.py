"""When the bot may answer a plain question, and which wiki the stream names."""
from __future__ import annotations

import pytest

from OTRSHelp.eventstream import wiki_id
from OTRSHelp.faq import KnowledgeBase
from OTRSHelp.listener import ChannelMemory, Pending, addresses, looks_like_bot


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.mark.parametrize("nick,tags,bot", [
    ("wm-bot", None, True), ("SomeBot", None, True), ("sopel_bot_", None, True),
    ("ChanServ", None, True), ("newbie", {"bot": None}, True), ("newbie", {"draft/bot": None}, True),
    ("Robert", None, False), ("abbott", None, False), ("newbie", {"account": "x"}, False),
])
def test_bots_are_recognised(nick, tags, bot):
    assert looks_like_bot(nick, tags, ["wm-bot"]) is bot


@pytest.mark.parametrize("text,nick,yes", [
    ("newbie: add it at the bottom", "newbie", True), ("@newbie see the page", "newbie", True),
    ("ok Newbie, it's on meta", "newbie", True), ("newbies welcome", "newbie", False),
    ("brb, coffee", "newbie", False), ("[newbie] hi", "[newbie]", True), ("x[newbie]", "[newbie]", False),
    ("a: b", "a", True), ("ask NEWBIE|away", "newbie|away", True), ("newbie|away: hi", "newbie", False),
])
def test_addresses(text, nick, yes):
    assert addresses(text, nick) is yes


def _pending(m: ChannelMemory, asker="newbie", topic="apply", lang="en") -> int:
    return m.add_pending(Pending("libera", "#vrt", asker, topic, lang, 100.0))


def test_unrelated_chatter_does_not_cancel_a_pending_answer(kb):
    m = ChannelMemory()
    pid = _pending(m)
    assert m.heard("libera", "#vrt", "helper", "brb, coffee", kb.speaks_to) == []
    assert m.heard("libera", "#vrt", "other", "anyone watching the match tonight?", kb.speaks_to) == []
    assert m.take_pending(pid).cancelled is None


@pytest.mark.parametrize("line", [
    "newbie: add your section at the bottom of the page",
    "you apply at the bottom of the volunteering page and then email volunteers-vrt",
    "it's on https://meta.wikimedia.org/wiki/Volunteer_Response_Team/Volunteering",
])
def test_a_human_answer_cancels(kb, line):
    m = ChannelMemory()
    pid = _pending(m)
    cancelled = m.heard("libera", "#vrt", "helper", line, kb.speaks_to)
    assert [p.asker for p in cancelled] == ["newbie"]
    assert m.take_pending(pid).cancelled.startswith("helper")


def test_the_asker_and_other_channels_do_not_cancel(kb):
    m = ChannelMemory()
    pid = _pending(m)
    assert m.heard("libera", "#vrt", "NEWBIE", "newbie: how do i apply to vrt, anyone?", kb.speaks_to) == []
    assert m.heard("libera", "#other", "helper", "newbie: bottom of the page", kb.speaks_to) == []
    # another newcomer asking the same thing is not an answer
    assert m.heard("libera", "#vrt", "second", "how do i apply?", kb.speaks_to) == []
    assert m.take_pending(pid).cancelled is None
    assert m.take_pending(pid) is None


def test_cooldown_is_per_asker_topic_and_language():
    m = ChannelMemory()
    assert m.claim_answer("libera", "#vrt", "alice", "apply", "en", 0.0, cooldown=900)
    assert not m.claim_answer("libera", "#vrt", "Alice", "apply", "en", 60.0, cooldown=900)
    assert m.recently_answered("libera", "#vrt", "alice", "apply", "en", 60.0, cooldown=900)
    assert m.answered_ago("libera", "#vrt", "alice", "apply", "en", 60.0) == 60.0
    assert m.claim_answer("libera", "#vrt", "bob", "apply", "en", 60.0, cooldown=900)      # joined later
    assert m.claim_answer("libera", "#vrt", "alice", "apply", "de", 60.0, cooldown=900)    # in German
    assert m.claim_answer("libera", "#vrt", "alice", "how-long", "en", 60.0, cooldown=900)
    assert m.claim_answer("libera", "#other", "alice", "apply", "en", 60.0, cooldown=900)
    assert m.claim_answer("libera", "#vrt", "alice", "apply", "en", 901.0, cooldown=900)


def test_one_hint_per_person_per_cooldown():
    m = ChannelMemory()
    assert m.claim_hint("libera", "#vrt", "alice", 0.0, 900)
    assert not m.claim_hint("libera", "#vrt", "alice", 10.0, 900)
    assert m.claim_hint("libera", "#vrt", "bob", 10.0, 900)


@pytest.mark.parametrize("api,wiki", [
    ("https://meta.wikimedia.org/w/api.php", "metawiki"),
    ("https://de.wikipedia.org/w/api.php", "dewiki"),
    ("https://zh-min-nan.wikipedia.org/w/api.php", "zh_min_nanwiki"),
    ("https://en.wikisource.org/w/api.php", "enwikisource"),
    ("http://127.0.0.1:8080/api.php", "metawiki"),
])
def test_stream_wiki_ids(api, wiki):
    assert wiki_id(api) == wiki

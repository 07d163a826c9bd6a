"""When the bot may answer a plain question, and which wiki the stream names."""
from __future__ import annotations

import pytest

from OTRSHelp.eventstream import wiki_id
from OTRSHelp.listener import ChannelMemory, looks_like_bot


@pytest.mark.parametrize("nick,tags,bot", [
    ("wm-bot", None, True), ("SomeBot", None, True), ("sopel_bot_", None, True),
    ("ChanServ", None, True), ("newbie", {"bot": None}, True), ("newbie", {"draft/bot": None}, True),
    ("Robert", None, False), ("abbott", None, False), ("newbie", {"account": "x"}, False),
])
def test_bots_are_recognised(nick, tags, bot):
    assert looks_like_bot(nick, tags, ["wm-bot"]) is bot


def test_a_person_answering_meanwhile_keeps_the_bot_quiet():
    m = ChannelMemory()
    m.spoke("libera", "#vrt", "newbie", 100.0)
    assert not m.someone_else_spoke("libera", "#vrt", "newbie", 100.0)
    m.spoke("libera", "#VRT", "newbie", 101.0)  # the asker adds a line: still unanswered
    assert not m.someone_else_spoke("libera", "#vrt", "Newbie", 100.0)
    m.spoke("libera", "#vrt", "helper", 102.0)
    assert m.someone_else_spoke("libera", "#vrt", "newbie", 100.0)
    assert not m.someone_else_spoke("libera", "#other", "newbie", 100.0)


def test_the_same_answer_once_per_cooldown_and_channel():
    m = ChannelMemory()
    assert m.claim_answer("libera", "#vrt", "apply", 0.0, cooldown=900)
    assert m.recently_answered("libera", "#vrt", "apply", 10.0, cooldown=900)
    assert not m.claim_answer("libera", "#vrt", "apply", 10.0, cooldown=900)
    assert m.claim_answer("libera", "#vrt", "how-long", 10.0, cooldown=900)
    assert m.claim_answer("libera", "#other", "apply", 10.0, cooldown=900)
    assert m.claim_answer("libera", "#vrt", "apply", 901.0, cooldown=900)


@pytest.mark.parametrize("api,wiki", [
    ("https://meta.wikimedia.org/w/api.php", "metawiki"),
    ("https://de.wikipedia.org/w/api.php", "dewiki"),
    ("https://zh-min-nan.wikipedia.org/w/api.php", "zh_min_nanwiki"),
    ("https://en.wikisource.org/w/api.php", "enwikisource"),
    ("http://127.0.0.1:8080/api.php", "metawiki"),
])
def test_stream_wiki_ids(api, wiki):
    assert wiki_id(api) == wiki

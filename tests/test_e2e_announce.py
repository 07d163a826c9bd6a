"""End to end, all real processes: MediaWiki with the page, InspIRCd, the bot
started by run_bot.py, and a person in the channel (jaraco's irc).

What the person sees is what is asserted: each edit announced once, in
order, with the right names and link, across a SIGKILL, wiki faults and
with the EventStreams trigger.
"""
from __future__ import annotations

import signal
import time

import pytest

from botprocess import FaultyProxy, Scene, StreamServer, now_min, recentchange, unannounced, wait_until
from pagebuilder import App, sig
from realservers import IrcPerson

ZW = "\u200b"


@pytest.fixture
def scene(mediawiki, ircd, tmp_path):
    s = Scene(mediawiki, ircd, tmp_path / "var")
    yield s
    s.close()


def test_edits_are_announced_once_in_order(scene):
    scene.start_bot()  # the first poll reads the page as it is: nothing to announce
    assert scene.lines() == []
    t = now_min()
    dave = App("Dave Newcomer", t, queues="info-en, permissions-commons")
    scene.page.apps.append(dave)
    scene.edit("Dave Newcomer")
    scene.wait_line("New VRT application")
    dave.lines.append(f"*{{{{support}}}} Great help desk work. {sig('Supporter One', t)}")
    scene.edit("Supporter One")
    scene.wait_line("supports")
    dave.lines.append(f"*{{{{oppose}}}} Too new to copyright work. {sig('Opposer', t)}")
    scene.edit("Opposer")
    scene.wait_line("opposes")
    dave.lines.append(f"*{{{{q}}}} How many hours a week can you give? {sig('Asker', t)}")
    scene.edit("Asker")
    scene.wait_line("asked")
    dave.lines.append(f"**About five hours a week. {sig('Dave Newcomer', t)}")
    scene.edit("Dave Newcomer")
    scene.wait_line("replied")
    dave.lines.append(f":{{{{done}}}} Welcome aboard! {sig('VRT Admin', t)}")
    scene.edit("VRT Admin")
    scene.wait_line("approved")
    time.sleep(2)  # anything repeated would show up by now
    lines = scene.lines()
    assert len(lines) == 6, lines
    assert lines[0].startswith(f"New VRT application by D{ZW}ave Newcomer (info-en, permissions-commons; English)")
    assert f"S{ZW}upporter One supports the application of D{ZW}ave Newcomer" in lines[1]
    assert f"O{ZW}pposer opposes" in lines[2]
    assert f"A{ZW}sker asked D{ZW}ave Newcomer a question: \u201cHow many hours a week can you give?\u201d" in lines[3]
    assert f"D{ZW}ave Newcomer replied" in lines[4] and "About five hours a week." in lines[4]
    assert f"now approved (by V{ZW}RT Admin)" in lines[5]
    # links: the section for the application, the diff for a vote
    anchor = scene.title.replace(" ", "_")
    assert lines[0].endswith(f"title={anchor}#Dave_Newcomer") or f"{anchor}#Dave_Newcomer" in lines[0]
    assert "diff=" in lines[1]
    # nobody was pinged: names never appear whole
    for line in lines:
        assert "Dave Newcomer" not in line and "Supporter One" not in line


def test_sigkill_between_edits_repeats_nothing_and_misses_nothing(scene):
    scene.start_bot()
    t = now_min()
    scene.page.app("Bob").lines.append(f"*{{{{s}}}} Yes. {sig('Supporter One', t)}")
    scene.edit("Supporter One")
    scene.wait_line("supports")
    # between edits: the line's receipt is in (killed while a line is still
    # in flight, the bot sends it again rather than lose it)
    db = f"sqlite:///{scene.home / 'data' / 'otrshelp.sqlite3'}"
    wait_until(lambda: unannounced(db) == 0, 30, "the receipt of the line", scene.bot.log)
    scene.bot.kill(signal.SIGKILL)
    # two edits while the bot is dead
    scene.page.app("Bob").lines.append(f"*{{{{o}}}} No. {sig('Opposer', t)}")
    scene.edit("Opposer")
    scene.page.app("Alice Example").lines.append(f"*{{{{c}}}} Note the backlog. {sig('Commenter', t)}")
    scene.edit("Commenter")
    scene.start_bot()
    scene.wait_line("opposes")
    scene.wait_line("commented")
    time.sleep(3)
    lines = scene.lines()
    assert [l.split(":")[0][:40] for l in lines] and len(lines) == 3, lines
    assert sum("supports" in l for l in lines) == 1
    assert "opposes" in lines[1] and "commented" in lines[2]


def test_wiki_faults_cost_no_event_and_no_crash(mediawiki, ircd, tmp_path):
    proxy = FaultyProxy(mediawiki.url)
    s = Scene(mediawiki, ircd, tmp_path / "var", api_url=proxy.api_url,
              extra_env={"OTRSHELP_HTTP_TIMEOUT": "1"})
    try:
        s.start_bot()
        t = now_min()
        for i, mode in enumerate(["500", "maxlag", "slow", "429"]):
            proxy.mode = mode
            s.page.app("Bob").lines.append(f"*{{{{s}}}} Vote {i}. {sig(f'Voter {i}', t)}")
            s.edit(f"Voter {i}")
            met = len(proxy.requests)
            # the bot polls and meets the fault for a while (twice, at least)
            wait_until(lambda: sum(m == mode for m, _ in proxy.requests[met:]) >= 2, 30,
                       f"the bot to meet {mode}", s.bot.log)
            proxy.mode = "ok"
            s.wait_line(f"V{ZW}oter {i} supports")
            assert s.bot.alive
        time.sleep(2)
        lines = s.lines()
        assert len(lines) == 4, lines
        assert [f"V{ZW}oter {i}" in lines[i] for i in range(4)] == [True] * 4
        # the maxlag parameter was sent: it is what makes the API answer maxlag
        assert all("maxlag=5" in q for _, q in proxy.requests)
    finally:
        s.close()
        proxy.close()


def test_stream_trigger_announces_without_waiting_for_the_poll(mediawiki, ircd, tmp_path):
    stream = StreamServer()
    s = Scene(mediawiki, ircd, tmp_path / "var", stream_url=stream.url, poll=600)
    try:
        s.start_bot()
        wait_until(lambda: len(stream.connections) >= 1, 30, "the bot to open the stream", s.bot.log)
        t = now_min()
        # noise: other wikis and other pages, as the real stream carries
        stream.publish(recentchange("enwiki", s.title, "X", 5, 4))
        stream.publish(recentchange("metawiki", "Main Page", "Y", 6, 5))
        s.page.app("Alice Example").lines.append(f"*{{{{support}}}} Fast. {sig('Quick Voter', t)}")
        revid = s.edit("Quick Voter")
        started = time.monotonic()
        stream.publish(recentchange("metawiki", s.title, "Quick Voter", revid, revid - 1))
        s.wait_line(f"Q{ZW}uick Voter supports", timeout=20)
        assert time.monotonic() - started < 10, "the stream did not wake the poller"
        # the stream drops; the bot reconnects and resumes after the last event it saw
        seen = len(stream.connections)
        stream.drop_connections()
        wait_until(lambda: len(stream.connections) > seen, 30, "the bot to reconnect", s.bot.log)
        assert stream.connections[-1] == stream.last_id
        s.page.app("Bob").lines.append(f"*{{{{oppose}}}} Hmm. {sig('Second Voter', t)}")
        revid = s.edit("Second Voter")
        stream.publish(recentchange("metawiki", s.title, "Second Voter", revid, revid - 1))
        s.wait_line(f"S{ZW}econd Voter opposes", timeout=20)
        assert len(s.lines()) == 2
    finally:
        s.close()
        stream.close()


def test_irc_server_gone_for_a_while_loses_nothing(mediawiki, tmp_path):
    from realservers import IrcServer

    with IrcServer() as ircd:
        s = Scene(mediawiki, ircd, tmp_path / "var")
        try:
            s.start_bot()
            ircd.stop()  # everybody is disconnected
            s.person.close()
            t = now_min()
            s.page.app("Bob").lines.append(f"*{{{{support}}}} During the outage. {sig('Night Owl', t)}")
            s.edit("Night Owl")
            s.wait_read()  # the bot reads the edit while it cannot speak
            assert s.bot.alive
            ircd.start()
            s.person = IrcPerson("127.0.0.1", ircd.port, "watcher2")
            s.person.join(s.channel)
            s.wait_line(f"N{ZW}ight Owl supports", timeout=90)
            time.sleep(2)
            assert len(s.lines()) == 1, s.lines()
        finally:
            s.close()


def test_hostile_text_reaches_the_channel_harmless(scene):
    """A heading with a bidi override, a signature whose display text
    claims another name, control characters and a very long statement:
    one readable line, nothing that reorders or formats the channel."""
    scene.start_bot()
    t = now_min()
    evil = App("Evil Editor", t, heading="Evil Editor\u202e")
    evil.lines.append("*{{support}} \x02\x0304,1LOUD\x0f\x01ACTION pings everyone\x01 " + "spam " * 400
                      + f"[[User:Mallory Example|<span style='color:red'>VRT Admin</span>]] {stamp_of(t)}")
    scene.page.apps.append(evil)
    scene.edit("Mallory Example")
    scene.wait_line("New VRT application")
    scene.wait_line("supports")
    time.sleep(1)
    for line in scene.lines():
        assert len(line.encode("utf-8")) <= 400
        assert not any(ch in line for ch in "\u202e\x02\x03\x0f\x01\r\n")
        assert "diff=" in line or "#Evil_Editor" in line  # the link survives the cut
    vote = next(l for l in scene.lines() if "supports" in l)
    assert vote.startswith(f"M{ZW}allory Example supports the application of E{ZW}vil Editor")
    assert "VRT Admin" not in vote  # the signer, not the display text


def stamp_of(t):
    from pagebuilder import stamp

    return stamp(t)

#!/usr/bin/env python3
"""Does the running bot's memory stay flat over thousands of polls?

bench_soak.py drives the domain modules in one thread; this one runs the
bot as operators do (``run_bot.py``: Limnoria, its threads, the plugin),
against a real MediaWiki and InspIRCd on 127.0.0.1, and reads its
resident memory from /proc while it polls, reads edits and hears chat:
what issue 15 saw creep (+2.6 MiB an hour at a poll every 2 s) was the
running bot, not the in-process soak.

Time is compressed: the bot polls every ``--poll`` seconds (0.25 by
default, through the site conf) instead of 2-4: with the requests
themselves about 190 polls a minute, so an hour of the bench is 6 to 12
hours of polls. Every ``--edit-every`` seconds someone
votes on the 300-application page (the page keeps its size: the vote
replaces the oldest added one); every ``--chat-every`` seconds a person
with a new nick says a line in the channel (a question the FAQ answers,
or chatter), among ``--crowd`` people who sit there (the bot de-pings
all their nicks in each line, and the set changes with each new nick). Polls are counted from the wiki's own request log (each
poll starts with one ``prop=info`` request).

Printed every ``--every`` seconds: polls, edits, lines, chat, the bot's
RSS, and at the end the least-squares slope after warm-up in KiB per
1,000 polls. Run from the repository root:
``python bench/bench_botsoak.py --minutes 10``. Everything started is
stopped by PID.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_botmem import status  # noqa: E402
from bench_soak import CHAT, slope  # noqa: E402
from botprocess import Scene, missing_servers, now_min, wait_until  # noqa: E402
from pagebuilder import big_page, sig  # noqa: E402
from realservers import IrcPerson, IrcServer, MediaWikiServer  # noqa: E402


def polls_seen(wiki: MediaWikiServer) -> int:
    """Polls so far: ``prop=info`` requests in php -S's log (only the bot asks that)."""
    with open(wiki.workdir / "php-server.log", "rb") as f:
        return f.read().count(b"prop=info")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--poll", type=float, default=0.25, help="seconds between polls")
    ap.add_argument("--edit-every", type=float, default=6.0, help="seconds between edits")
    ap.add_argument("--chat-every", type=float, default=3.0, help="seconds between chat lines (0: none)")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between readings")
    ap.add_argument("--warmup", type=float, default=2.0, help="minutes before the baseline")
    ap.add_argument("--apps", type=int, default=300)
    ap.add_argument("--crowd", type=int, default=40,
                    help="people sitting in the channel (their nicks are de-pinged in every line)")
    args = ap.parse_args()
    missing = missing_servers()
    if missing:
        print(missing)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="otrshelp-bench-botsoak-")))
        site = tmp / "site.conf"
        site.write_text(f"supybot.plugins.OTRSHelp.pollActiveSeconds: {args.poll}\n"
                        f"supybot.plugins.OTRSHelp.pollIdleSeconds: {args.poll}\n"
                        "supybot.plugins.OTRSHelp.answerDelay: 1\n")
        print("starting MediaWiki and InspIRCd ...", flush=True)
        wiki = stack.enter_context(MediaWikiServer())
        ircd = stack.enter_context(IrcServer())
        scene = Scene(wiki, ircd, tmp / "var", poll=60, prefix="soak",
                      extra_env={"OTRSHELP_SITE_CONF": str(site)})
        stack.callback(scene.close)
        scene.page = big_page(args.apps, 3)
        scene.edit("Page Creator", f"{args.apps} applications")
        crowd = []
        for i in range(args.crowd):
            person = IrcPerson("127.0.0.1", ircd.port, f"sitter{i}")
            stack.callback(person.close)
            person.join(scene.channel)
            crowd.append(person)
        scene.start_bot()
        pid = scene.bot.proc.pid
        print(f"bot (pid {pid}) joined and read {args.apps} applications; polling every {args.poll} s, "
              f"an edit every {args.edit_every} s, a chat line every {args.chat_every or 'never'} s",
              flush=True)
        started = time.monotonic()
        next_edit = next_chat = next_mark = started
        edits = chat = 0
        base = None
        marks: list[tuple[int, int]] = []
        added: list[tuple[int, str]] = []
        while True:
            now = time.monotonic()
            elapsed = now - started
            if elapsed >= args.minutes * 60:
                break
            if now >= next_edit:
                next_edit += args.edit_every
                edits += 1
                app = scene.page.apps[(edits * 37) % len(scene.page.apps)]
                line = f"*{{{{support}}}} Yes ({edits}). {sig(f'Soak Voter {edits % 50}', now_min())}"
                app.lines.append(line)
                added.append((id(app), line))
                if len(added) > 100:  # the page keeps its size
                    old_app, old_line = added.pop(0)
                    for a in scene.page.apps:
                        if id(a) == old_app and old_line in a.lines:
                            a.lines.remove(old_line)
                scene.edit(f"Editor {edits % 7}", f"vote {edits}")
            if args.chat_every and now >= next_chat:
                next_chat += args.chat_every
                chat += 1
                scene.person.send_raw(f"NICK soaker{chat}")
                scene.person.say(scene.channel, CHAT[chat % len(CHAT)])
            if now >= next_mark:
                next_mark += args.every
                rss = status(pid)["VmRSS"]
                polls = polls_seen(wiki)
                if base is None and elapsed >= args.warmup * 60:
                    base = rss
                if base is not None:
                    marks.append((polls, rss))
                lines = len(scene.lines())
                since = "" if base is None else f" ({(rss - base) / 1024:+.2f} since warm-up)"
                print(f"{elapsed / 60:5.1f} min: polls {polls:>6}, edits {edits:>4}, lines {lines:>4}, "
                      f"chat {chat:>4}, RSS {rss / 1024:6.1f} MiB{since}, threads {status(pid)['Threads']}",
                      flush=True)
            time.sleep(max(0.0, min(next_edit, next_chat if args.chat_every else next_edit, next_mark)
                           - time.monotonic()))
        if not scene.bot.alive:
            print("the bot died:\n" + scene.bot.log()[-3000:])
            return 1
        wait_until(lambda: (scene.stored_revid() or 0) >= scene.revid, 60,
                   f"the bot to read revision {scene.revid}", scene.bot.log)
        if len(marks) >= 2:
            (p0, r0), (p1, r1) = marks[0], marks[-1]
            print(f"RSS after warm-up: {r0 / 1024:.1f} -> {r1 / 1024:.1f} MiB over {p1 - p0} polls, "
                  f"{edits} edits, {chat} chat lines; slope {slope(marks):+.1f} KiB per 1,000 polls",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

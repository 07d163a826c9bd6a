#!/usr/bin/env python3
"""Resident memory of the running bot, and what holds it.

Issue 14's goal: the bot from ``run_bot.py`` following a page of 300
applications stays within 60 MiB resident (Limnoria alone is 30-46 MiB).
A real MediaWiki and InspIRCd (tests/realservers.py) on 127.0.0.1; the
bot is started as an operator starts it (tests/botprocess.BotProcess),
polling every 2 s, stream off. Its VmRSS and VmHWM (peak) are read from
/proc/PID/status: when it has joined, after it read the page, and after
some edits it announced.

Then where the memory goes: a fresh interpreter per step imports one more
layer (Limnoria, requests, SQLAlchemy, mwparserfromhell, the plugin's
domain modules) and reports its VmRSS, so an import that does not pay for
itself shows.

Run from the repository root: ``python bench/bench_botmem.py`` (about a
minute; ``--edits N``, ``--apps N``). Everything started is stopped by PID.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from botprocess import Scene, missing_servers, now_min, wait_until  # noqa: E402
from pagebuilder import big_page, sig  # noqa: E402
from realservers import IrcServer, MediaWikiServer  # noqa: E402

# Each step imports everything of the steps before it, then its own.
IMPORT_STEPS = [
    ("python", ""),
    ("+ Limnoria (supybot core, drivers, irclib)",
     "import supybot.world, supybot.conf, supybot.irclib, supybot.drivers, supybot.callbacks, "
     "supybot.schedule, supybot.ircdb"),
    ("+ requests", "import requests"),
    ("+ SQLAlchemy ORM", "import sqlalchemy, sqlalchemy.orm"),
    ("+ mwparserfromhell", "import mwparserfromhell"),
    ("+ OTRSHelp domain modules",
     "import OTRSHelp.store, OTRSHelp.tracker, OTRSHelp.watcher, OTRSHelp.faq, OTRSHelp.admin, "
     "OTRSHelp.listener, OTRSHelp.announce, OTRSHelp.eventstream, OTRSHelp.profile"),
]


def status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, threads of a process, in KiB (threads as a count)."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def show(what: str, pid: int) -> dict[str, int]:
    s = status(pid)
    print(f"  {what:<40} RSS {s['VmRSS'] / 1024:6.1f} MiB, peak {s['VmHWM'] / 1024:6.1f} MiB, "
          f"threads {s['Threads']}", flush=True)
    return s


def import_costs() -> None:
    print("what the imports cost (fresh interpreter per step):", flush=True)
    code = []
    prev = None
    for name, stmt in IMPORT_STEPS:
        if stmt:
            code.append(stmt)
        script = ("import sys; sys.path.insert(0, %r)\n" % ROOT + "\n".join(code)
                  + "\nimport gc; gc.collect()\nprint(open('/proc/self/status').read())")
        text = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              cwd=ROOT, check=True).stdout
        rss = next(int(l.split()[1]) for l in text.splitlines() if l.startswith("VmRSS:"))
        delta = "" if prev is None else f" ({(rss - prev) / 1024:+.1f})"
        print(f"  {name:<45} {rss / 1024:6.1f} MiB{delta}", flush=True)
        prev = rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apps", type=int, default=300)
    ap.add_argument("--comments", type=int, default=10, help="comments per application")
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--every", type=int, default=10, help="read the bot's memory every N edits")
    ap.add_argument("--settle", type=float, default=20.0,
                    help="seconds of idle polling before the last reading")
    ap.add_argument("--no-imports", action="store_true", help="skip the import breakdown")
    args = ap.parse_args()
    missing = missing_servers()
    if missing:
        print(missing)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="otrshelp-bench-mem-")))
        print("starting MediaWiki and InspIRCd ...", flush=True)
        wiki = stack.enter_context(MediaWikiServer())
        ircd = stack.enter_context(IrcServer())
        scene = Scene(wiki, ircd, tmp / "var", poll=2, prefix="mem")
        stack.callback(scene.close)
        scene.page = big_page(args.apps, args.comments)
        scene.edit("Page Creator", "300 applications")
        size = len(scene.page.text().encode())
        print(f"page: {args.apps} applications, {args.apps * args.comments} comments, "
              f"{size / 1024:.0f} KiB; bot polls every 2 s, stream off", flush=True)
        started = time.monotonic()
        mark = len(scene.person.events)
        scene.bot.start()
        pid = scene.bot.proc.pid
        scene.person.wait_for_event(
            lambda e: e.type == "join" and e.source.nick == scene.nick and e.target == scene.channel,
            timeout=60, since=mark)
        joined = status(pid)  # the poller may have begun: the peak says how far
        wait_until(lambda: (scene.stored_revid() or 0) >= scene.revid, 60,
                   f"the bot to read revision {scene.revid}", scene.bot.log)
        print(f"bot (pid {pid}) joined and read the page in {time.monotonic() - started:.0f} s:", flush=True)
        print(f"  {'when it joined the channel':<40} RSS {joined['VmRSS'] / 1024:6.1f} MiB, "
              f"peak {joined['VmHWM'] / 1024:6.1f} MiB", flush=True)
        first = show("after the first read", pid)
        for i in range(args.edits):
            voter = f"Memory Voter {i}"
            app = scene.page.apps[(i * 37) % len(scene.page.apps)]
            app.lines.append(f"*{{{{support}}}} Yes ({i}). {sig(voter, now_min())}")
            scene.edit(f"Editor {i % 5}", f"vote {i}")
            scene.wait_line(f"emory Voter {i} ", timeout=60)  # names are de-pinged after 1 letter
            wait_until(lambda: (scene.stored_revid() or 0) >= scene.revid, 60,
                       f"the bot to read revision {scene.revid}", scene.bot.log)
            if (i + 1) % args.every == 0 and i + 1 < args.edits:
                show(f"after {i + 1} edits", pid)
        show(f"after {args.edits} edits", pid)
        time.sleep(args.settle)
        last = show(f"after {args.settle:.0f} s more of idle polls", pid)
        print(f"resident after the edits: {last['VmRSS'] / 1024:.1f} MiB "
              f"({(last['VmRSS'] - first['VmRSS']) / 1024:+.1f} since the first read); "
              f"goal <= 60 MiB", flush=True)
    if not args.no_imports:
        import_costs()
    return 0


if __name__ == "__main__":
    sys.exit(main())

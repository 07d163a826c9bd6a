#!/usr/bin/env python3
"""Parse and track a large volunteering page; print times and peak memory.

The page has 300 applications and 5,000 comments (about 1 MB of wikitext),
more than the real page has ever held. Three figures matter:
  parse        parse_page on the whole page
  first track  the first revision stored (seeding the database)
  next track   a revision that adds one comment: what every edit costs
Goal on the project's 2-core machine: parse + next track under 0.3 s,
peak memory under 150 MB. The parser caches sections, so "next track"
re-parses only the section that changed.
"""
from __future__ import annotations

import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from OTRSHelp.parser import parse_page, section_cache_clear  # noqa: E402
from OTRSHelp.store import Store  # noqa: E402
from OTRSHelp.tracker import Tracker  # noqa: E402

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
KINDS = ["{{support}}", "{{s}}", "'''Support'''", "{{oppose}}", "{{comment}}", "{{q}}", "", "{{neutral}}"]


def stamp(t: datetime) -> str:
    return f"{t:%H:%M}, {t.day} {t:%B %Y} (UTC)"


def sig(user: str, t: datetime) -> str:
    return (f"<span style=\"color:#060\">[[User:{user}|{user}]]</span> "
            f"([[User talk:{user}|talk]]) {stamp(t)}")


def make_page(apps: int = 300, comments: int = 5000) -> str:
    per = comments // apps
    extra = comments - per * apps
    out = ["== Volunteering ==\nLead text.\n<pre>\n== ~~~ ==\n*'''Languages:'''\n</pre>\n"]
    n = 0
    for i in range(apps):
        t = T0 + timedelta(hours=i)
        name = f"Applicant {i}"
        out.append(f"== {name} ==\n*'''Languages you can reply in:''' English, German\n"
                   f"*'''Queue(s) you would like access to:''' info-en, permissions-commons\n"
                   f"*'''Most active user talk page(s):''' [[:en:User talk:{name}]]\n"
                   f"*'''Why do you want to help?''' " + "I have helped at the help desk for years. " * 6
                   + sig(name, t) + "\n")
        for j in range(per + (1 if i < extra else 0)):
            n += 1
            kind = KINDS[n % len(KINDS)]
            depth = "**" if kind == "" else "*"
            ct = t + timedelta(minutes=j + 1)
            out.append(f"{depth}{kind} A considered comment about this application, with some detail "
                       f"about their work on [[:en:Wikipedia:Help desk]]. {sig(f'Voter {n % 997}', ct)}\n")
    return "".join(out)


class Rev:
    def __init__(self, revid, timestamp, user, text):
        self.revid, self.timestamp, self.user, self.text = revid, timestamp, user, text


def main() -> None:
    page = make_page()
    print(f"page: {len(page.encode()) / 1e6:.2f} MB")
    gc.collect()
    t = time.perf_counter()
    apps = parse_page(page)
    parse_s = time.perf_counter() - t
    print(f"parse (cold): {parse_s:.3f} s, {len(apps)} applications, "
          f"{sum(len(a.comments) for a in apps)} comments")
    t = time.perf_counter()
    parse_page(page.replace("== Applicant 7 ==", "== applicant 7 =="))
    print(f"parse (warm, one section changed): {time.perf_counter() - t:.3f} s")
    section_cache_clear()  # measure a cold parse, not the cache
    tracemalloc.start()
    parse_page(page)
    _, parse_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"parse: peak {parse_peak / 2**20:.1f} MiB allocated by Python (tracemalloc)")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.sqlite3")
        tracker = Tracker(store)
        t = time.perf_counter()
        tracker.process(Rev(1, T0 + timedelta(days=30), "Someone", page))
        first = time.perf_counter() - t
        print(f"first track (seed, parse included): {first:.3f} s")
        page2 = page.replace("== Applicant 150 ==", "== Applicant 150 ==", 1) + (
            f"*{{{{support}}}} One more. {sig('Late Voter', T0 + timedelta(days=31))}\n")
        t = time.perf_counter()
        r = tracker.process(Rev(2, T0 + timedelta(days=31), "Late Voter", page2))
        nxt = time.perf_counter() - t
        assert len(r.events) == 1, r.events
        print(f"next track (one new comment, parse included): {nxt:.3f} s")
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {rss:.0f} MiB")
    print(f"goal: parse + track < 0.3 s -> {'met' if nxt < 0.3 else 'NOT met'} ({nxt:.3f} s); "
          f"peak < 150 MB -> {'met' if rss < 150 else 'NOT met'}")


if __name__ == "__main__":
    main()

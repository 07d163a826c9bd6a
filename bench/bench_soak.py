#!/usr/bin/env python3
"""Does memory stay flat over months of polls and edits?

Drives the watcher, tracker, store (SQLite file) and announcer in-process
through N polls and M edits of a 300-application page (and, at each poll,
one chat line from a new person through the FAQ's channel path; that person
joins a channel of 150, whose nicks the announcements de-ping), against recorded
MediaWiki behaviour: a requests transport adapter answers the Action API
calls the bot makes (prop=info, the history listing, action=compare with
MediaWiki's diff table, texts by revision id) from an in-memory history,
so nothing but this process spends CPU.

Two passes, because tracemalloc slows every allocation and holds a
traceback per block: the first measures resident memory alone (every
1,000 polls: RSS, the bot's cache sizes, the SQLite files, glibc's count of
the C heap in use and free-but-kept; at the end the least-squares slope
after warm-up); the second, in a child process, runs
the same polls under tracemalloc and prints the top growers since warm-up
at each checkpoint (snapshots only there).

Run from the repository root: ``python bench/bench_soak.py`` (10,000 polls,
1,000 edits, a few minutes); ``--polls``/``--edits`` for a shorter run,
``--no-tracemalloc`` for the first pass alone, ``--glibc-default`` to
leave out what OTRSHelp/heap.py does (and see why it is there),
``--section-cache N,CHARS``
to try other bounds of parser.py's section cache (``sweep``: the change
recommended for it, see ``sweep_section_cache``).
"""
from __future__ import annotations

import argparse
import ctypes
import difflib
import gc
import hashlib
import html
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import requests  # noqa: E402
from requests.adapters import BaseAdapter  # noqa: E402

from pagebuilder import App, Page, at, sig  # noqa: E402

from OTRSHelp.announce import DEFAULT_FORMATS, Links, lines_for  # noqa: E402
from OTRSHelp.faq import KnowledgeBase  # noqa: E402
from OTRSHelp.heap import steady_large_blocks  # noqa: E402
from OTRSHelp.listener import ChannelMemory  # noqa: E402
from OTRSHelp.store import Store  # noqa: E402
from OTRSHelp.tracker import Tracker  # noqa: E402
from OTRSHelp.watcher import Watcher  # noqa: E402
from OTRSHelp.wikiclient import WikiClient  # noqa: E402

CHAT = ["how do I apply to the VRT?", "is there an age limit?", "lol brb coffee",
        "wie lange dauert die Bewerbung?", "hoe solliciteer ik?", "thanks, that helped",
        "i applied 2 weeks ago, nobody answered", "which queues are there?"]

API = "http://wiki.invalid/w/api.php"
TITLE = "Volunteer Response Team/Volunteering"
PAGEID = 4242


def mw_diff(old: str, new: str) -> str:
    """A diff table as MediaWiki 1.39 renders it (two lines of context)."""
    a, b = old.split("\n"), new.split("\n")
    rows = []

    def cell(kind: str, side: str, text: str) -> str:
        inner = "<br/>" if text == "" else f"<div>{html.escape(text)}</div>"
        return f'<td class="diff-marker"></td><td class="diff-{kind} diff-side-{side}">{inner}</td>'

    # An edit changes a few adjacent lines: match the common head and tail
    # first, so difflib only sees the middle (whole-page difflib costs 0.3 s
    # an edit and would be most of the soak's time).
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    mid = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail], autojunk=False)
    ops = [("equal", 0, head, 0, head)] if head else []
    ops += [(t, i1 + head, i2 + head, j1 + head, j2 + head) for t, i1, i2, j1, j2 in mid.get_opcodes()
            if not (t == "equal" and i1 == i2)]
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    matcher.get_opcodes = lambda: ops  # get_grouped_opcodes reads these
    for group in matcher.get_grouped_opcodes(2):
        i1, j1 = group[0][1], group[0][3]
        rows.append(f'<tr><td colspan="2" class="diff-lineno" id="mw-diff-left-l{i1 + 1}">Line {i1 + 1}:</td>'
                    f'\n<td colspan="2" class="diff-lineno">Line {j1 + 1}:</td></tr>')
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for x in a[i1:i2]:
                    rows.append(f"<tr>{cell('context', 'deleted', x)}{cell('context', 'added', x)}</tr>")
                continue
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                left = (cell("deletedline", "deleted", olds[k]) if k < len(olds)
                        else '<td colspan="2" class="diff-side-deleted"></td>')
                right = (cell("addedline", "added", news[k]) if k < len(news)
                         else '<td colspan="2" class="diff-side-added"></td>')
                rows.append(f"<tr>{left}{right}</tr>")
    return "\n".join(rows) + "\n"


class RecordedWiki(BaseAdapter):
    """The Action API answers the bot's client needs, from memory."""

    def __init__(self) -> None:
        super().__init__()
        # The last KEPT revisions only: a history that grew with the soak
        # would be this script's memory counted as the bot's (about 0.7 KiB
        # an edit: the creeping figure of the first soaks with edits).
        self.revs: dict[int, dict] = {}
        self.last_revid = 0
        self.t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    KEPT = 50

    def save(self, text: str, user: str) -> None:
        text = text.rstrip()
        self.last_revid = revid = self.last_revid + 1
        self.revs[revid] = {"revid": revid, "parentid": revid - 1, "user": user,
                            "timestamp": (self.t0 + timedelta(minutes=revid)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "comment": "", "size": len(text.encode()),
                            "sha1": hashlib.sha1(text.encode()).hexdigest(), "text": text}
        self.revs.pop(revid - self.KEPT, None)
        if revid - 3 in self.revs:  # texts of the last three revisions only
            self.revs[revid - 3]["text"] = None

    def send(self, request, **kwargs):
        q = {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}
        body = self.answer(q)
        r = requests.Response()
        r.status_code = 200
        r._content = json.dumps(body).encode()
        r.headers["Content-Type"] = "application/json"
        r.url = request.url
        r.request = request
        return r

    def close(self) -> None:
        pass

    def page(self, **extra) -> dict:
        return {"query": {"pages": [{"pageid": PAGEID, "ns": 0, "title": TITLE, **extra}]}}

    def answer(self, q: dict) -> dict:
        last = self.revs[self.last_revid]
        if q.get("action") == "compare":
            a, b = self.revs[int(q["fromrev"])], self.revs[int(q["torev"])]
            return {"compare": {"body": mw_diff(a["text"], b["text"])}}
        if q.get("prop") == "info":
            return self.page(lastrevid=last["revid"], length=last["size"])
        if "revids" in q:
            wanted = {int(x) for x in q["revids"].split("|")}
            return self.page(revisions=[{"revid": r["revid"], "slots": {"main": {"content": r["text"]}}}
                                        for r in self.revs.values() if r["revid"] in wanted])
        if "rvstartid" in q:
            start = int(q["rvstartid"])
            return self.page(revisions=[{k: v for k, v in r.items() if k != "text"}
                                        for r in self.revs.values() if r["revid"] >= start])
        r = last
        return self.page(revisions=[{"revid": r["revid"], "parentid": r["parentid"], "user": r["user"],
                                     "timestamp": r["timestamp"], "comment": "",
                                     "slots": {"main": {"content": r["text"]}}}])


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cache_sizes() -> str:
    """Entries in each cache of the bot, to see which one is still filling."""
    from OTRSHelp import markup, parser, signatures
    sec = parser.section_cache_info()
    return (f"sections {sec.currsize}/{sec.maxsize} ({parser._SECTIONS._chars / 1e6:.1f} M chars), "
            f"trees {markup._tree.cache_info().currsize}, "
            f"template calls {markup.template_call.cache_info().currsize}, "
            f"user links {signatures.user_from_link_target.cache_info().currsize}")


def _sqlite_memory() -> Callable[[], int]:
    """SQLite's own heap (page caches, statements): not Python objects, so
    tracemalloc never sees it."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")  # the library _sqlite3 is linked with
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return lambda: int(lib.sqlite3_memory_used())
    except OSError:
        return lambda: -1


sqlite_memory = _sqlite_memory()


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def _malloc_stats() -> Callable[[], str]:
    """glibc's own count of the C heap: what is in use (a leak below Python
    shows here) apart from what is free but kept (fragmentation shows here)."""
    try:
        lib = ctypes.CDLL("libc.so.6")
        lib.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return lambda: "malloc n/a"

    def stats() -> str:
        m = lib.mallinfo2()
        return (f"malloc in use {(m.uordblks + m.hblkhd) / 1024:.0f} KiB, "
                f"free in heap {m.fordblks / 1024:.0f} KiB (top {m.keepcost / 1024:.0f} KiB)")
    return stats


malloc_stats = _malloc_stats()


def sweep_section_cache() -> None:
    """The change this benchmark recommends for parser.py, tried from
    outside: after each page is parsed, the section cache keeps only the
    sections that page had (the next revision shares all but the edited
    ones), whatever the page's size; the entry and character bounds stay
    as a ceiling for a vandal's page."""
    from OTRSHelp import parser, tracker

    class Swept(parser._SectionCache):
        def __init__(self) -> None:
            super().__init__()
            self.used: set[tuple] = set()

        def parse(self, applicant, via_link, anchor, heading, body):  # type: ignore[override]
            with self._lock:
                self.used.add((applicant, via_link, anchor, heading, body))
            return super().parse(applicant, via_link, anchor, heading, body)

        def page_done(self) -> None:
            with self._lock:
                for key in [k for k in self._data if k not in self.used]:
                    del self._data[key]
                    self._chars -= len(key[4])
                self.used = set()

    cache = Swept()
    parser._SECTIONS = cache
    parse_page = tracker.parse_page

    def parse_and_sweep(text: str):
        try:
            return parse_page(text)
        finally:
            cache.page_done()

    tracker.parse_page = parse_and_sweep


def slope(marks: list[tuple[int, int]]) -> float:
    """Least-squares slope of RSS in KiB per 1,000 polls: one noisy
    checkpoint does not decide it, as it would with first-to-last."""
    n = len(marks)
    mx = sum(x for x, _ in marks) / n
    my = sum(y for _, y in marks) / n
    var = sum((x - mx) ** 2 for x, _ in marks)
    return 1000 * sum((x - mx) * (y - my) for x, y in marks) / var if var else 0.0


# This script's own lines stay in: the recorded history is bounded, and a
# string made here (a nick, a chat line) that the bot keeps is the bot's growth.
_NOT_THE_BOT = [tracemalloc.Filter(False, tracemalloc.__file__)]


def top_growers(snap0: tracemalloc.Snapshot, count: int = 8) -> list[str]:
    """The allocation sites that grew most since ``snap0`` (the bot's code
    and libraries, and what it keeps of this script's)."""
    snap = tracemalloc.take_snapshot().filter_traces(_NOT_THE_BOT)
    stats = sorted(snap.compare_to(snap0.filter_traces(_NOT_THE_BOT), "lineno"),
                   key=lambda st: st.size_diff, reverse=True)
    total = sum(st.size_diff for st in stats)
    out = [f"    traced Python memory since warm-up: {total / 1024:+.1f} KiB; top growers:"]
    for stat in stats[:count]:
        frame = stat.traceback[0]
        name = frame.filename
        name = os.path.relpath(name, ROOT) if name.startswith(ROOT) else "/".join(Path(name).parts[-2:])
        out.append(f"    {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+7d} blocks  {name}:{frame.lineno}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--polls", type=int, default=10_000)
    ap.add_argument("--edits", type=int, default=1_000)
    ap.add_argument("--apps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=2_000, help="polls before the baseline")
    ap.add_argument("--glibc-default", action="store_true",
                    help="leave malloc's mmap threshold dynamic (what the bot did before heap.py)")
    ap.add_argument("--no-tracemalloc", action="store_true", help="skip the second pass")
    ap.add_argument("--trace", action="store_true", help="be the second pass (tracemalloc)")
    ap.add_argument("--section-cache", metavar="N,CHARS|sweep",
                    help="bounds for parser.py's section cache (default: its own), or 'sweep': "
                         "keep only the sections of the last page parsed")
    args = ap.parse_args()
    every = max(1, args.polls // max(1, args.edits))
    if not args.glibc_default:
        steady_large_blocks()  # as the plugin does when it loads
    if args.section_cache == "sweep":
        sweep_section_cache()
    elif args.section_cache:
        from OTRSHelp import parser
        n, _, chars = args.section_cache.partition(",")
        parser._SECTIONS.maxsize = int(n)
        if chars:
            parser._SECTIONS.maxchars = int(chars)

    wiki = RecordedWiki()
    # The page keeps its size, so what grows is the bot, not the data: each
    # application has 3 votes and 3 comments; an edit adds a comment and
    # takes out the oldest of that application; every 50th edit archives
    # the oldest application and opens a new one like it.
    def new_app(name: str, minute: int) -> App:
        app = App(name, at(minute))
        for c in range(3):
            app.lines.append(f"*{{{{support}}}} Helpful. {sig(f'Voter {c}', at(minute + 1 + c))}")
        for c in range(3):
            app.lines.append(f"*{{{{comment}}}} Seen at the help desk. {sig(f'Editor {c}', at(minute + 4 + c))}")
        return app

    page = Page([new_app(f"Applicant {i:03d}", i * 10) for i in range(args.apps)])
    wiki.save(page.text(), "Creator")
    session = requests.Session()
    session.mount("http://", wiki)

    with tempfile.TemporaryDirectory(prefix="otrshelp-soak-") as tmp:
        db = Path(tmp) / "soak.sqlite3"
        store = Store(f"sqlite:///{db}")
        client = WikiClient(API, contact="otrshelp-bench@example.org", session=session)
        watcher = Watcher(client, Tracker(store), store, TITLE, API)
        links = Links.from_api(API, TITLE)
        print(f"{'tracemalloc pass' if args.trace else 'RSS pass'}: {args.polls} polls, {args.edits} edits "
              f"(one every {every} polls), {args.apps} applications, warm-up {args.warmup} polls", flush=True)
        base_rss = None
        snap0 = None
        marks: list[tuple[int, int]] = []
        edits = lines = questions = 0
        kb = KnowledgeBase.load()
        memory = ChannelMemory()
        # who is in the channel: 150 people, each chat line from someone who
        # just joined in place of the one there longest (the excerpts of
        # announcements must not ping any of them)
        channel = [f"regular{i}" for i in range(150)]
        if args.trace:
            # traced from the start: an entry that replaces one made before
            # tracing began would otherwise count as growth
            tracemalloc.start(1)
        started = time.monotonic()
        for n in range(1, args.polls + 1):
            if n % every == 0 and edits < args.edits:
                edits += 1
                app = page.apps[(edits * 37) % len(page.apps)]
                if edits % 50 == 0:  # the page's life: new applications, old ones archived
                    page.apps.append(new_app(f"Newcomer {edits}", 5000 + edits * 10))
                    page.apps.pop(0)
                else:
                    app.lines.append(f"*{{{{comment}}}} Note {edits}. {sig(f'Editor {edits % 40}', at(90000 + edits))}")
                    del app.lines[3]
                wiki.save(page.text(), f"Editor {edits % 40}")
            # chat in the channel meanwhile: a question or a chatter line a
            # poll, from ever new people, through the bot's channel path
            line = CHAT[n % len(CHAT)]
            asker = f"newcomer{n}"
            channel[n % len(channel)] = asker
            memory.heard("libera", "#vrt", asker, line, kb.speaks_to)
            decision = kb.decide(line, False)
            if decision.match is not None:
                memory.claim_answer("libera", "#vrt", asker, decision.match.topic,
                                    decision.match.lang, float(n), 900.0)
                questions += 1
            result = watcher.poll()
            if result.error:
                print("poll error:", result.error)
                return 1
            pending = store.unannounced()
            if pending:
                for _line, ids in lines_for(pending, links, DEFAULT_FORMATS, burst=6, nicks=tuple(channel)):
                    store.mark_announced(ids)
                    lines += 1
            if n == args.warmup:
                gc.collect()
                base_rss = rss_kib()
                if args.trace:
                    snap0 = tracemalloc.take_snapshot()
            if n % 1000 == 0:
                gc.collect()
                rss = rss_kib()
                wal = Path(str(db) + "-wal")
                since = "" if base_rss is None else f" ({(rss - base_rss) / 1024:+.2f} since warm-up)"
                print(f"poll {n:>6}: edits {edits:>5}, lines {lines:>5}, questions {questions:>5}, RSS {rss / 1024:6.1f} MiB{since}, "
                      f"db {db.stat().st_size / 1024:.0f} KiB, wal {wal.stat().st_size / 1024 if wal.exists() else 0:.0f} KiB, "
                      f"{time.monotonic() - started:.0f} s", flush=True)
                print(f"    caches: {cache_sizes()}; Python blocks {sys.getallocatedblocks():,}, "
                      f"SQLite heap {sqlite_memory() / 1024:.0f} KiB; {malloc_stats()}", flush=True)
                if base_rss is not None:
                    marks.append((n, rss))
                if snap0 is not None and n > args.warmup:
                    print("\n".join(top_growers(snap0)), flush=True)
        store.close()
    if not args.trace and len(marks) >= 2:
        (n0, r0), (n1, r1) = marks[0], marks[-1]
        print(f"RSS after warm-up: {r0 / 1024:.1f} -> {r1 / 1024:.1f} MiB over {n1 - n0} polls "
              f"({(n1 - n0) // every} edits); slope {slope(marks):+.1f} KiB per 1,000 polls; "
              f"texts {watcher.texts.stats}", flush=True)
    if not args.trace and not args.no_tracemalloc:
        cmd = [sys.executable, os.path.abspath(__file__), "--trace", "--polls", str(args.polls),
               "--edits", str(args.edits), "--apps", str(args.apps), "--warmup", str(args.warmup)]
        if args.section_cache:
            cmd += ["--section-cache", args.section_cache]
        if args.glibc_default:
            cmd.append("--glibc-default")
        return subprocess.call(cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What following the page costs the wiki, and how fast an edit is seen.

A real MediaWiki (tests/realservers.py) holds a page of 300 applications
(about 10 comments each). Between it and the bot's wiki client sits a
counting proxy that also gzips answers when the client accepts it, as
Wikimedia does (the test wiki itself does not compress): every figure is
bytes on the wire, both ways, headers included.

Prints, figures only:
  * an idle poll: requests and bytes both ways;
  * bytes per edit for kinds of edit (a vote, a question, a new
    application, two edits between two polls), against one whole-text
    fetch of the page (what each revision cost before, twice per edit);
  * edit -> seen: seconds from the edit's API answer until a poller
    thread paced like the bot's has the event (in-process, no IRC: the
    bot's line follows within Limnoria's send tick), for fixed intervals
    and the default adaptive pacing;
  * CPU seconds of polling per idle hour and resident memory of this
    process after reading the page (Limnoria adds 30-46 MiB);
  * bytes a day per mode (idle polls from pacing.Pacing.polls_per_day
    plus edits), next to the stream's 3-4 GB a day.

Run from the repository root: ``python bench/bench_cost.py`` (about three
minutes; ``--quick`` for fewer samples).
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import requests  # noqa: E402

from pagebuilder import App, at, big_page, sig  # noqa: E402
from realservers import MediaWikiServer  # noqa: E402

from OTRSHelp.pacing import Pacing  # noqa: E402
from OTRSHelp.store import Store  # noqa: E402
from OTRSHelp.tracker import Tracker  # noqa: E402
from OTRSHelp.watcher import Watcher  # noqa: E402
from OTRSHelp.wikiclient import WikiClient  # noqa: E402

RSS_FEED_READ = 12_000  # bytes, RSS plugin's feed read of the page history (issue 14)


class CountingProxy:
    """Forwards GETs to the wiki; gzips the answer when asked to; counts
    the bytes of each exchange as they cross the socket."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.sent = 0       # client -> proxy: request line + headers
        self.received = 0   # proxy -> client: status + headers + body
        self.requests = 0
        self.gzipped = 0
        self._lock = threading.Lock()
        proxy = self
        upstream_session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                head = self.requestline + "\r\n" + str(self.headers)
                r = upstream_session.get(proxy.upstream + self.path, headers={
                    "User-Agent": self.headers.get("User-Agent", ""),
                    "Accept-Encoding": "identity"}, timeout=60)
                body = r.content
                enc = "gzip" in (self.headers.get("Accept-Encoding") or "")
                if enc:
                    body = gzip.compress(body, 6)
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
                # the headers Wikimedia's API answers always carry, roughly
                for k in ("Cache-Control", "Vary", "X-Content-Type-Options", "X-Frame-Options",
                          "Content-Disposition", "Date"):
                    if k in r.headers:
                        self.send_header(k, r.headers[k])
                if enc:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                status = f"HTTP/1.1 {r.status_code} OK\r\n"
                out_head = len(status) + sum(len(f"{k}: {v}\r\n") for k, v in r.headers.items()
                                             if k in ("Content-Type", "Cache-Control", "Vary",
                                                      "X-Content-Type-Options", "X-Frame-Options",
                                                      "Content-Disposition", "Date"))
                out_head += len("Content-Length: \r\n\r\n") + len(str(len(body))) + (26 if enc else 0)
                out_head += len("Server: \r\n") + len(self.version_string())
                with proxy._lock:
                    proxy.requests += 1
                    proxy.gzipped += int(enc)
                    proxy.sent += len(head.encode())
                    proxy.received += out_head + len(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api.php"

    def total(self) -> int:
        return self.sent + self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Poller:
    """The plugin's poller loop (plugin._poll_loop) without IRC: poll,
    then wait as the pacing says; records when each event was seen."""

    def __init__(self, watcher: Watcher, pacing: Pacing) -> None:
        self.watcher, self.pacing = watcher, pacing
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.seen: dict[str, float] = {}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.wake.clear()
            r = self.watcher.poll()
            now = time.monotonic()
            for e in r.events:
                self.seen.setdefault(e.actor or "", now)
            if r.revisions:
                self.pacing.changed()
            self.wake.wait(self.pacing.interval())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apps", type=int, default=300)
    ap.add_argument("--comments", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not MediaWikiServer.available():
        print("MediaWiki is not installed (see .ci/install): cannot run")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(args.seed)
    n_lat = 4 if args.quick else 8
    out: dict[str, object] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="otrshelp-bench-cost-")))
        wiki = stack.enter_context(MediaWikiServer())
        proxy = CountingProxy(wiki.url)
        stack.callback(proxy.close)
        title = f"Volunteer Response Team/Volunteering {uuid.uuid4().hex[:6]}"
        page = big_page(args.apps, args.comments)
        wiki.edit(title, page.text(), "Creator")
        print(f"page: {args.apps} applications, {len(page.text().encode()) / 1024:.0f} KiB of wikitext",
              flush=True)
        store = Store(f"sqlite:///{tmp}/cost.sqlite3")
        stack.callback(store.close)
        client = WikiClient(proxy.api_url, contact="otrshelp-bench@example.org")
        watcher = Watcher(client, Tracker(store), store, title, proxy.api_url)
        rss0 = rss_mib()
        seed = watcher.poll()
        assert seed.error is None, seed.error
        out["rss_after_seed"] = rss_mib()
        out["rss_before"] = rss0

        # idle poll
        n = 20
        before = proxy.total(), proxy.requests
        for _ in range(n):
            assert not watcher.poll().revisions
        out["idle_bytes"] = (proxy.total() - before[0]) / n
        out["idle_requests"] = (proxy.requests - before[1]) / n
        out["gzipped"] = proxy.gzipped == proxy.requests

        # one whole text, as each revision cost before (twice per edit)
        b = proxy.total()
        client.revision_texts([seed.page.lastrevid])
        out["whole_bytes"] = proxy.total() - b

        # bytes per edit, by kind
        kinds: list[tuple[str, float, int]] = []

        def measure(name: str, edits) -> None:
            for user, change in edits:
                change()
                wiki.edit(title, page.text(), user)
            b, r = proxy.total(), proxy.requests
            res = watcher.poll()
            assert res.error is None and res.revisions == len(edits), res
            kinds.append((name, (proxy.total() - b) / len(edits), proxy.requests - r))

        for i in range(3 if args.quick else 6):
            app = page.apps[rng.randrange(len(page.apps))]
            measure("a vote", [(f"Voter x{i}", lambda a=app, i=i: a.lines.append(
                f"*{{{{support}}}} Yes. {sig(f'Voter x{i}', at(5000 + i))}"))])
        app = page.apps[7]
        measure("a question", [("Asker", lambda: app.lines.append(
            f"*{{{{q}}}} How many hours a week can you give? {sig('Asker', at(6000))}"))])
        measure("a new application", [("Newcomer", lambda: page.apps.append(App("Newcomer", at(6001))))])
        measure("two edits between polls", [
            ("Voter y1", lambda: page.apps[3].lines.append(f"*{{{{oppose}}}} No. {sig('Voter y1', at(6002))}")),
            ("Voter y2", lambda: page.apps[9].lines.append(f"*{{{{neutral}}}} Hm. {sig('Voter y2', at(6003))}"))])
        out["kinds"] = kinds
        out["fetch_stats"] = watcher.texts.stats
        out["rss_after_edits"] = rss_mib()

        # CPU per idle poll (this process: client + store), scaled per hour
        c0, t0 = time.thread_time(), time.monotonic()
        polls = 0
        while time.monotonic() - t0 < (5 if args.quick else 15):
            watcher.poll()
            polls += 1
        out["cpu_per_poll"] = (time.thread_time() - c0) / polls  # the poller's thread only

        # edit -> seen, per interval (the adaptive pacing is 2 s for ten
        # minutes after an edit, 4 s otherwise, longer only after hours)
        lat: dict[float, list[float]] = {}
        probe = WikiClient(wiki.api_url, contact="otrshelp-bench@example.org")
        pageid = watcher.page.pageid
        for every in (2.0, 4.0, 10.0):
            pacing = Pacing(active=every, normal=every, longest=every)
            poller = Poller(watcher, pacing)
            poller.thread.start()
            samples = []
            for i in range(n_lat):
                time.sleep(rng.uniform(0.3, every + 0.3))  # a random phase of the timer
                t_start = time.monotonic()
                voter = f"Lat {every:g} {i}"
                page.apps[(i * 37) % len(page.apps)].lines.append(
                    f"*{{{{support}}}} Sure. {sig(voter, at(7000 + i))}")
                # The clock starts when the revision is committed: php -S
                # answers a save of a 600 KB page seconds later (it parses
                # it for the links tables), and the bot may see the edit
                # before that answer. A probe asks every 50 ms.
                before_rev = probe.page_info(pageid).lastrevid
                editing = threading.Thread(target=wiki.edit, args=(title, page.text(), voter))
                editing.start()
                saved = None
                while saved is None and time.monotonic() < t_start + 120:
                    if probe.page_info(pageid).lastrevid != before_rev:
                        saved = time.monotonic()
                    else:
                        time.sleep(0.05)
                editing.join()
                deadline = saved + 60
                while voter not in poller.seen and time.monotonic() < deadline:
                    time.sleep(0.02)
                if voter in poller.seen:
                    samples.append(poller.seen[voter] - saved)
            poller.stop.set()
            poller.wake.set()
            poller.thread.join(10)
            lat[every] = samples
            print(f"  poll every {every:g} s: " + ", ".join(f"{x:.2f}" for x in samples), flush=True)
        out["lat"] = lat
        client.close()

    # ------------------------------------------------------------------ report
    idle = out["idle_bytes"]
    kinds = out["kinds"]
    per_edit = statistics.median(k[1] for k in kinds)
    print()
    print(f"idle poll: {out['idle_requests']:.0f} request, {idle:.0f} B both ways "
          f"(gzip on every answer: {out['gzipped']})")
    print(f"one whole page text: {out['whole_bytes'] / 1024:.0f} kB on the wire "
          f"(before: twice that per edit, ~{2 * out['whole_bytes'] / 1024:.0f} kB)")
    print(f"{'edit':<28} {'bytes/edit':>11} {'requests':>9}  (RSS feed read ~{RSS_FEED_READ / 1000:.0f} kB; goal <= 3x)")
    for name, b, r in kinds:
        print(f"{name:<28} {b:>9.0f} B {r:>9}")
    print(f"median bytes per edit: {per_edit:.0f} B = {per_edit / RSS_FEED_READ:.2f}x the RSS feed read")
    print(f"texts: {out['fetch_stats']}")
    print(f"CPU per idle poll: {out['cpu_per_poll'] * 1000:.2f} ms")
    print(f"resident memory of this process: {out['rss_before']:.0f} MiB before the page, "
          f"{out['rss_after_seed']:.0f} MiB after reading it, {out['rss_after_edits']:.0f} MiB after the edits")
    print()
    print(f"{'mode':<36} {'edit -> seen median / max':>26} {'bytes/day (20 edits)':>22} {'CPU s/idle h':>13}")
    def measured(every: float) -> str:
        xs = out["lat"].get(every) or []
        return f"{statistics.median(xs):.2f} / {max(xs):.2f} s" if xs else "no samples"

    work = statistics.median(x - 0 for xs in out["lat"].values() for x in xs) if out["lat"] else 0
    modes = [
        ("poll 60 s (before)", f"~30 s (computed)", Pacing(active=60, normal=60, longest=60)),
        ("poll 10 s", measured(10.0), Pacing(active=10, normal=10, longest=10)),
        ("poll 4 s", measured(4.0), Pacing(active=4, normal=4, longest=4)),
        ("poll 2 s", measured(2.0), Pacing(active=2, normal=2, longest=2)),
        ("adaptive (default): active 2 s", measured(2.0), None),
        ("  idle 4 s, quiet > 6 h up to 60 s", measured(4.0) + " (4 s)", Pacing()),
    ]
    for label, latency, pacing in modes:
        if pacing is None:
            print(f"{label:<36} {latency:>26}")
            continue
        polls = pacing.polls_per_day(20)
        day = polls * idle + 20 * per_edit
        cpu_h = 3600 / pacing.interval(pacing.last_change + 3600) * out["cpu_per_poll"]
        print(f"{label:<36} {latency:>26} {day / 1e6:>19.1f} MB {cpu_h:>13.1f}")
    del work
    print(f"{'stream on (poll 60 s as a safety net)':<36} {'~1-2 s (bench_announce)':>26} "
          f"{'3,000-4,000 MB':>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

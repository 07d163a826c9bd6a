"""Benchmark the FAQ matcher: how long does one channel line cost?

Every line said in #wikimedia-vrtconnect goes through
``KnowledgeBase.match_chat``, so it must stay cheap as the knowledge base
grows.  This builds a knowledge base of 200 topics (the real ones from
OTRSHelp/data/faq.json plus generated ones whose triggers reuse VRT vocabulary, so
they compete for the same words), then times match_chat over the labelled
chat lines many times and prints mean and p99 per line against the goal.

Run: python bench/bench_faq.py [--topics 200] [--rounds 60]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from OTRSHelp.faq import KnowledgeBase  # noqa: E402

GOAL_MS = 2.0

# Words the generated topics draw from: real VRT vocabulary (to load the same
# index buckets the real lines hit) plus filler that never occurs in chat.
_DOMAIN = ("vrt otrs queue queues ticket tickets apply application email volunteer agent "
           "permissions copyright info-en commons wiki meta page admin access language "
           "bewerben bewerbung warteschlange aanmelden wachtrij vrijwilliger").split()
_FILLER = [f"zq{i}x" for i in range(400)]


def build(n_topics: int, seed: int = 7) -> KnowledgeBase:
    """The real knowledge base padded with generated topics up to n_topics."""
    data = json.loads((ROOT / "OTRSHelp" / "data" / "faq.json").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    link = "https://meta.wikimedia.org/wiki/Volunteer_Response_Team"
    i = 0
    while len(data["topics"]) < n_topics:
        i += 1
        words = [rng.choice(_FILLER) for _ in range(3)]
        dom = rng.sample(_DOMAIN, 2)
        triggers = [f"{words[0]}^3", f"{words[1]} {dom[0]}^4", f"{dom[1]} + {words[2]}^3",
                    f"how {words[0]}^2", f"{dom[0]} {dom[1]}^1"]
        data["topics"].append({
            "id": f"generated-{i:03d}",
            "aliases": [f"gen-{i:03d}"],
            "sources": [link],
            "answers": {lang: f"Generated answer {i} ({lang})." for lang in ("en", "de", "nl")},
            "triggers": {"en": triggers, "de": [f"wie {words[1]}^2"], "nl": [f"hoe {words[2]}^2"]},
            "require": [[words[0], words[1], words[2]]],
        })
    return KnowledgeBase.from_dict(data, origin="bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    kb = build(args.topics)
    load_ms = (time.perf_counter() - t0) * 1000
    lines = [x["line"] for x in json.loads(
        (ROOT / "tests" / "faq_labelled.json").read_text(encoding="utf-8"))["lines"]]

    for line in lines:  # warm up
        kb.match_chat(line)
    samples: list[float] = []
    answered = 0
    clock = time.perf_counter_ns
    for _ in range(args.rounds):
        for line in lines:
            start = clock()
            m = kb.match_chat(line)
            samples.append((clock() - start) / 1e6)
            answered += m is not None
    samples.sort()
    mean = statistics.fmean(samples)
    p50 = samples[len(samples) // 2]
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    worst = samples[-1]

    print(f"knowledge base: {len(kb.topics())} topics ({args.topics} requested), "
          f"built in {load_ms:.1f} ms")
    print(f"match_chat: {len(samples)} calls ({len(lines)} labelled lines x {args.rounds} rounds), "
          f"{answered / args.rounds:.0f} lines answered per round")
    print(f"per line: mean {mean:.3f} ms, p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {worst:.3f} ms")
    verdict = "OK" if p99 < GOAL_MS else "OVER GOAL"
    print(f"goal: < {GOAL_MS:.1f} ms per line (p99) -> {verdict}")
    return 0 if p99 < GOAL_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())

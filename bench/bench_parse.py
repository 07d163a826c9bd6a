#!/usr/bin/env python3
"""Parse time against page size for hostile wikitext; and what `scan` costs.

A vandal (or a careless paste) can save a page full of unclosed brackets,
links, templates, comments or tildes. The poller is a single thread: a
parse that grows with the square of the page would stall every
announcement. Goal: every case grows linearly, and any page up to 2 MB
parses in under 2 s. Each row prints the time per size and the ratio of
the time at the largest size to the time at the smallest, scaled by the
ratio of the sizes: near 1 is linear, near the size ratio (32 here) is
quadratic.

    python bench/bench_parse.py            # every case, 64 KB .. 2 MB
    python bench/bench_parse.py extlink    # the cases whose name contains "extlink"
    python bench/bench_parse.py --scan     # only the `scan` timing

The `scan` figure is `run_bot.py scan --wikitext` on the 2020 fixture in a
new interpreter, minus a bare interpreter's start (goal < 0.3 s):
mwparserfromhell is imported only when a piece of text needs it, which
an ordinary page never does.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from OTRSHelp.parser import parse_page, section_cache_clear  # noqa: E402

SIG = "[[User:Voter|Voter]] ([[User talk:Voter|talk]]) 10:00, 2 May 2023 (UTC)"
HEAD = ("== How do I volunteer? ==\nRead the page.\n"
        "== Applicant ==\n*'''Languages:''' English\n*'''Queues:''' info-en\n"
        "I would like to help. [[User:Applicant|Applicant]] 09:00, 1 May 2023 (UTC)\n")


def in_comment(unit: str):
    """*unit* repeated inside one signed comment of an application."""
    def make(size: int) -> str:
        return HEAD + "*{{support}} " + unit * (size // len(unit)) + " " + SIG + "\n"
    return make


def as_lines(unit: str):
    """*unit* repeated, one per line, below an application."""
    def make(size: int) -> str:
        return HEAD + (unit + "\n") * (size // (len(unit) + 1))
    return make


def whole_page(unit: str):
    """*unit* repeated as the whole page."""
    def make(size: int) -> str:
        return unit * (size // len(unit))
    return make


def field_spaces(size: int) -> str:
    return HEAD + "*'''Why" + " " * size + "x\n"


def nested_templates(size: int) -> str:
    n = size // 8
    return HEAD + "*{{ping|" + "{{a|" * n + "Applicant" + "}}" * n + " why? " + SIG + "\n"


def big_tree(size: int) -> str:
    """Text that makes the renderer ask mwparserfromhell about all of it."""
    unit = "''a''{{x}}''b'' {{small|{{u|A}}}} [[a|{{b}}]] <s>x<s>y</s></s> "
    return HEAD + "*{{support}} " + unit * (size // len(unit)) + SIG + "\n"


CASES = {
    "extlink-open": in_comment("[http://"),
    "extlink-title-open": in_comment("[http://x a "),
    "link-open": in_comment("[["),
    "userlink-open": in_comment("[[User:a|"),
    "userlink-colons": in_comment("[[User:a:a:a:a:a:a:a:a:a:a:a:a:a:a:a!]]"),
    "template-open": in_comment("{{"),
    "ping-open": in_comment("{{ping|"),
    "template-nested": nested_templates,
    "comment-open": whole_page("<!--x"),
    "comment-pairs": in_comment("<!-- a --> <pre>"),
    "tags-open": in_comment("<s><del><b><span "),
    "bold-open": in_comment("'''a "),
    "quotes": in_comment("''''"),
    "tildes": in_comment("~"),
    "signatures": as_lines("*~~~~ 10:00, 2 May 2023 (UTC) (UTC)"),
    "utc-only": in_comment("(UTC)"),
    "field-spaces": field_spaces,
    "parens": in_comment("("),
    "same-heading-sections": whole_page("== Same ==\n[[User:Same|Same]] 10:00, 2 May 2023 (UTC)\n"),
    "empty-sections": whole_page("==\n"),
    "many-sections": lambda size: "".join(
        f"== User{i} ==\n*{{{{s}}}} [[User:V{i}|V]] 10:00, 2 May 2023 (UTC)\n" for i in range(size // 60)),
    "big-tree": big_tree,
    "busy-lines": as_lines("*{{support}} [[User:V|V]] 10:00, 2 May 2023 (UTC)"),
}
SIZES = [64_000, 128_000, 256_000, 512_000, 1_024_000, 2_048_000]
GIVE_UP = 10.0  # seconds: a case this slow is not run at larger sizes


def timed(text: str) -> float:
    section_cache_clear()
    started = time.perf_counter()
    parse_page(text)
    return time.perf_counter() - started


def bench_cases(selected: list[str]) -> None:
    print(f"{'case':24}" + "".join(f"{s // 1000:>8} KB" for s in SIZES) + "   growth")
    worst = 0.0
    for name, make in CASES.items():
        if selected and not any(s in name for s in selected):
            continue
        times: list[float] = []
        for size in SIZES:
            if times and times[-1] > GIVE_UP:
                break
            times.append(timed(make(size)))
        cells = "".join(f"{t:>10.3f} s"[:-1] + "s" for t in times)
        growth = (times[-1] / max(times[0], 1e-6)) / (SIZES[len(times) - 1] / SIZES[0]) if len(times) > 1 else 0
        worst = max(worst, times[-1] if len(times) == len(SIZES) else float("inf"))
        print(f"{name:24}{cells}{'':{10 * (len(SIZES) - len(times))}}   {growth:.2f}", flush=True)
    print(f"slowest 2 MB parse: {worst:.2f} s (goal < 2 s)")


def bench_scan(runs: int = 15) -> None:
    """The fastest of *runs* interleaved starts of each: on a shared machine
    the minimum is the figure that other processes disturb least."""
    fixture = os.path.join(ROOT, "tests", "fixtures", "volunteering-2020.wiki")
    cmds = {"bare": [sys.executable, "-c", "pass"],
            "scan": [sys.executable, os.path.join(ROOT, "run_bot.py"), "scan", "--wikitext", fixture, "--json"]}
    best = {k: float("inf") for k in cmds}
    for _ in range(runs):
        for k, argv in cmds.items():
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            best[k] = min(best[k], time.perf_counter() - started)
    print(f"scan --json of the 2020 page: {best['scan']:.3f} s in all, interpreter start "
          f"{best['bare']:.3f} s, own work {best['scan'] - best['bare']:.3f} s "
          f"(goal < 0.3 s; fastest of {runs})")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if "--scan" in args:
        bench_scan()
    else:
        bench_cases(args)
        bench_scan()


if __name__ == "__main__":
    main()

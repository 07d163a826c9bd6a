#!/usr/bin/env python3
"""Lines the bot sends per second against a strict server's limit.

A server as strict as Libera (tests/realservers.py ``IrcServer(strict=True)``:
InspIRCd's default fakelag, commandrate 1000 = one command a second after a
burst of about ten, recvq 8192, echo-message) and a real MediaWiki; the bot
started by run_bot.py. Two loads:

  edit   one edit adding 300 applications (what once sent 300 lines and got
         the bot disconnected four times)
  chat   five people asking 40 questions in 10 s, each addressed to the bot
         (every one wants an answer)

Prints, for each: lines the channel got, their rate (lines/s over the whole
run and the fastest 5-line window), and whether the bot was disconnected
(RecvQ exceeded / Excess Flood in its log). Figures, not pass/fail. Run from
the repository root: ``python bench/bench_flood.py`` (about two minutes).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from botprocess import Scene, now_min, wait_until  # noqa: E402
from pagebuilder import App  # noqa: E402
from realservers import IrcPerson, IrcServer, MediaWikiServer  # noqa: E402

QUESTIONS = ["how do I apply?", "is there an age limit?", "what queues are there?",
             "how long does it take?", "do I need to sign an NDA?", "what is OTRS?",
             "can I apply if I only speak German?", "who are the VRTS admins?"]


def rates(times: list[float]) -> tuple[float, float]:
    if len(times) < 2:
        return 0.0, 0.0
    overall = (len(times) - 1) / (times[-1] - times[0])
    window = min((times[i + 4] - times[i] for i in range(len(times) - 4)), default=0.0)
    return overall, (4 / window if window else 0.0)


def received(person: IrcPerson, nick: str, since: int) -> list[float]:
    return [e_time for e_time, src in person.arrivals[since:] if src == nick]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, MediaWikiServer() as wiki, \
            IrcServer(strict=True, server_name="bench.test") as ircd:
        scene = Scene(wiki, ircd, Path(tmp) / "var", prefix="flood")
        arrivals: list[tuple[float, str]] = []
        scene.person.arrivals = arrivals  # type: ignore[attr-defined]
        original = scene.person._on_event

        def stamp(connection, event):  # type: ignore[no-untyped-def]
            if event.type == "pubmsg":
                arrivals.append((time.monotonic(), event.source.nick))
            original(connection, event)

        scene.person.reactor.remove_global_handler("all_events", original)
        scene.person.reactor.add_global_handler("all_events", stamp, -100)
        try:
            scene.start_bot()
            print("limit: InspIRCd default <connect>: 1 command/s after a burst of ~10; "
                  "recvq 8192 bytes")
            mark = len(arrivals)
            t = now_min()
            scene.page.apps += [App(f"Mass Applicant {i}", t) for i in range(300)]
            scene.edit("Mass Adder")
            wait_until(lambda: any("more application" in l for l in scene.lines()), 120, "the burst")
            time.sleep(3)
            times = received(scene.person, scene.nick, mark)
            overall, peak = rates(times)
            print(f"edit adding 300 applications: {len(times)} lines, {overall:.2f} lines/s overall, "
                  f"{peak:.2f} lines/s fastest 5")

            people = [IrcPerson("127.0.0.1", ircd.port, f"asker{i}{scene.tag[:3]}", source=f"127.0.0.{10 + i}")
                      for i in range(5)]
            for p in people:
                p.join(scene.channel)
            mark = len(arrivals)
            start = time.monotonic()
            for n in range(40):
                who = people[n % 5]
                who.say(scene.channel, f"{scene.nick}: {QUESTIONS[n % len(QUESTIONS)]}")
                time.sleep(max(0.0, start + (n + 1) * 0.25 - time.monotonic()))
            time.sleep(30)
            times = received(scene.person, scene.nick, mark)
            overall, peak = rates(times)
            print(f"40 questions in 10 s from 5 people: {len(times)} answers, {overall:.2f} lines/s "
                  f"overall, {peak:.2f} lines/s fastest 5")
            for p in people:
                p.close()
            log = scene.bot.log()
            dropped = log.count("RecvQ") + log.count("Excess Flood")
            print(f"disconnected for flooding: {dropped} time(s); bot alive: {scene.bot.alive}")
        finally:
            scene.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

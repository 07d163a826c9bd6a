"""How long to wait before the next poll of the page.

Why not a fixed interval: with the stream off, an edit waits half the poll
interval on average before the bot sees it. Polling every few seconds all
day gives the stream's latency at a fraction of its traffic (an idle poll
is one request of well under 1 KB; the stream is several GB a day), and
people's edits come in bursts: a new application draws votes and questions
within minutes. So the interval is short while the page is active, a little
longer otherwise, and grows only after hours without an edit (nights,
holidays), up to ``longest``.

Plain Python, no I/O: the poller asks ``interval(now)`` and reports
``changed(now)`` when a poll found a new revision.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Pacing"]


@dataclass
class Pacing:
    """``active`` seconds between polls for ``active_for`` seconds after a
    change, then ``normal``; after ``quiet_after`` seconds without a change
    the interval doubles every ``quiet_doubling`` seconds up to
    ``longest``. ``longest`` also caps the other two, so a bot configured
    to poll every second does. Times are ``time.monotonic()`` seconds."""

    active: float = 2.0
    normal: float = 4.0
    longest: float = 60.0
    active_for: float = 600.0
    quiet_after: float = 6 * 3600.0
    quiet_doubling: float = 3600.0
    last_change: float = field(default_factory=time.monotonic)

    def changed(self, now: float | None = None) -> None:
        """A poll found a new revision (or the stream saw an edit)."""
        self.last_change = time.monotonic() if now is None else now

    def interval(self, now: float | None = None) -> float:
        """Seconds from this poll to the next."""
        now = time.monotonic() if now is None else now
        idle = max(0.0, now - self.last_change)
        longest = max(0.1, self.longest)
        if idle < self.active_for:
            return min(self.active, longest)
        if idle < self.quiet_after:
            return min(self.normal, longest)
        doublings = (idle - self.quiet_after) / max(1.0, self.quiet_doubling)
        return min(longest, self.normal * 2 ** min(doublings, 32.0))

    def polls_per_day(self, edits_per_day: float) -> float:
        """About how many polls a day with ``edits_per_day`` edits spread
        evenly (for the README's cost table)."""
        day = 86400.0
        if edits_per_day <= 0:
            gap = day
        else:
            gap = day / edits_per_day
        polls, t = 0.0, 0.0
        step_now = 0.0
        while t < gap:
            step_now = self.interval(self.last_change + t)
            t += step_now
            polls += 1
        return polls * (day / gap)

"""Poll pacing: short while the page is active, longer when quiet for hours."""
from __future__ import annotations

from OTRSHelp.pacing import Pacing

HOUR = 3600.0


def test_short_after_an_edit_then_normal_then_growing_to_the_longest():
    p = Pacing(active=2, normal=4, longest=60, active_for=600, quiet_after=6 * HOUR,
               quiet_doubling=HOUR, last_change=0.0)
    assert p.interval(0) == 2 and p.interval(599) == 2
    assert p.interval(601) == 4 and p.interval(6 * HOUR - 1) == 4
    assert p.interval(7 * HOUR) == 8 and p.interval(8 * HOUR) == 16
    assert p.interval(30 * HOUR) == 60 and p.interval(1e9) == 60  # never beyond


def test_an_edit_makes_it_short_again():
    p = Pacing(last_change=0.0)
    assert p.interval(10 * HOUR) > p.active
    p.changed(10 * HOUR)
    assert p.interval(10 * HOUR + 1) == p.active


def test_longest_caps_everything():
    """A bot told to poll every second (tests, sandbox) does."""
    p = Pacing(active=2, normal=4, longest=1, last_change=0.0)
    assert {p.interval(t) for t in (0, 1000, 10 * HOUR)} == {1}


def test_polls_a_day_stay_within_the_traffic_budget():
    """With 25 MB a day to spend and an idle poll under 700 bytes both ways,
    about 36,000 polls a day are affordable; the default pacing stays below
    for a page with up to 60 edits a day."""
    p = Pacing(last_change=0.0)
    assert p.polls_per_day(0) < 10_000
    assert p.polls_per_day(60) < 36_000
    assert p.polls_per_day(5) < p.polls_per_day(60)

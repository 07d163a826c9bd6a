"""The page's model: event details read from every database ever written,
and the vote rules the tracker and the admin views share."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from OTRSHelp.announce import Links, format_event
from OTRSHelp.model import (EVENT_KINDS, ArchivedDetail, Comment, Event, OpenedDetail, RemarkDetail,
                            StatusDetail, VoteDetail, current_votes, detail_from_json, event_kind,
                            unanswered_questions)

T = datetime(2020, 1, 22, 14, 53, tzinfo=timezone.utc)
LINKS = Links.from_api("https://meta.wikimedia.org/w/api.php", "Volunteer Response Team/Volunteering")

# The detail JSON as the tracker wrote it before the model had types (the
# dict literals of tracker.py then, None values left out).
STORED = [
    ("opened", {"queues": ["info-en", "permissions-commons"], "languages": ["English"],
                "excerpt": "I would like to help."}),
    ("vote", {"vote": "oppose", "excerpt": "Too new.", "depth": 1, "unsigned": False}),
    ("comment", {"excerpt": "Nice.", "depth": 2, "unsigned": True}),
    ("question", {"excerpt": "How many hours?", "depth": 1, "unsigned": False}),
    ("reply", {"excerpt": "About five.", "depth": 2, "unsigned": False}),
    ("status", {"status": "approved", "previous": "open"}),
    ("archived", {"status": "withdrawn"}),
]


@pytest.mark.parametrize("kind,stored", STORED, ids=[k for k, _ in STORED])
def test_stored_detail_reads_and_writes_back_the_same_json(kind: str, stored: dict) -> None:
    detail = detail_from_json(kind, stored)
    assert detail.to_json() == stored


def test_every_event_kind_has_its_detail_type() -> None:
    assert {type(detail_from_json(k, {})) for k in EVENT_KINDS} == {
        OpenedDetail, VoteDetail, RemarkDetail, StatusDetail, ArchivedDetail}


def test_a_row_with_missing_or_foreign_keys_still_announces() -> None:
    """An empty or odd stored detail (a row from an older version, a
    hand-edited database) gives a line with neutral words, not an error."""
    for kind in EVENT_KINDS:
        e = Event(kind, "MB-one", "Vermont", T, 5, "MB-one",
                  detail_from_json(kind, {"nosuch": 1, "vote": "support", "queues": None}))
        line = format_event(e, LINKS)
        assert "M\u200bB-one" in line and "$" not in line


def test_vote_detail_is_what_the_announcement_says() -> None:
    e = Event("vote", "MB-one", "Vermont", T, 5, "MB-one", VoteDetail(excerpt="Sure.", vote="oppose"))
    assert "opposes the application of" in format_event(e, LINKS)


def c(signer: str | None, minutes: int, kind: str, *, struck: bool = False, status: str | None = None,
      depth: int = 1) -> Comment:
    return Comment(signer=signer, time=T + timedelta(minutes=minutes), kind=kind, depth=depth,
                   excerpt="", status=status, struck_vote=struck)


def test_latest_unstruck_vote_counts_once() -> None:
    comments = [c("Ann", 5, "support"), c("Ann", 1, "oppose"), c("Bo", 2, "oppose"),
                c("Bo", 9, "support", struck=True), c("Cy", 3, "neutral"), c(None, 4, "support")]
    assert current_votes(comments) == {"support": ["Ann"], "oppose": ["Bo"], "neutral": ["Cy"]}


def test_open_questions_end_with_the_applicants_later_word_or_a_decision() -> None:
    q = c("Asker", 1, "question")
    assert unanswered_questions("Dave", [q], "open") == [q]
    assert unanswered_questions("Dave", [q, c("Dave", 2, "comment")], "open") == []
    assert unanswered_questions("Dave", [q], "approved") == []
    assert unanswered_questions("Dave", [q], "on hold") == [q]


def test_which_comment_makes_which_event() -> None:
    assert event_kind(c("Ann", 1, "support"), "Dave") == "vote"
    assert event_kind(c("Ann", 1, "support", struck=True), "Dave") is None
    assert event_kind(c("Ann", 1, "status", status="approved"), "Dave") is None
    assert event_kind(c("Dave", 1, "reply", depth=2), "Dave") == "reply"
    assert event_kind(c("Ann", 1, "reply", depth=2), "Dave") == "comment"
    assert event_kind(c("Ann", 1, "question"), "Dave") == "question"

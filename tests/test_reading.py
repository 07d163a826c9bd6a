"""The page as people actually type it, and what admins are then told.

The 2020 fixtures ``volunteering-2020-prose-bold.wiki`` and
``volunteering-2020-prose-plain.wiki`` rebuild the four 2020 applications of
``shared/seed`` (the page as rendered text) as wikitext: free prose, no
field lines, the same words. They differ only in how the votes are typed:
``'''Support'''`` in one, a plain ``Support`` in the other -- the rendered
page cannot tell them apart, so neither may the bot. The expected values
below were written from reading the seed before running the parser.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from OTRSHelp.names import normalize_username, username_key
from OTRSHelp.parser import parse_page

FIXTURES = Path(__file__).parent / "fixtures"
STYLES = ["volunteering-2020-prose-bold.wiki", "volunteering-2020-prose-plain.wiki"]


def utc(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)


def read(name: str) -> dict:
    apps = parse_page((FIXTURES / name).read_text(encoding="utf-8"))
    return {a.applicant: a for a in apps}


# Read from the seed: who signed a leading "Support", what the statement
# names, who wrote last, what is still asked.
SEED_2020 = {
    "Masumrezarock100": dict(
        opened=utc(2020, 1, 19, 11, 32), support=["GreenMeansGo"], oppose=[], neutral=[],
        queues=["permissions-commons"], questions=1, open_questions=0, comments=7,
        last=(utc(2020, 1, 23, 22, 6), "AntiCompositeNumber")),
    "MB-one": dict(
        opened=utc(2020, 1, 20, 18, 43), support=["Masumrezarock100", "GreenMeansGo"], oppose=[],
        neutral=[], queues=[], questions=0, open_questions=0, comments=4,
        last=(utc(2020, 1, 22, 14, 28), "GreenMeansGo")),
    "LakesideMiners": dict(
        opened=utc(2020, 1, 22, 2, 1), support=["Operator873", "Masumrezarock100", "GreenMeansGo"],
        oppose=[], neutral=[], queues=[], questions=0, open_questions=0, comments=5,
        last=(utc(2020, 1, 22, 15, 41), "LakesideMiners")),
    "Hispano76": dict(
        opened=utc(2020, 1, 23, 1, 3), support=[], oppose=[], neutral=[], queues=[],
        questions=0, open_questions=0, comments=0,
        last=(utc(2020, 1, 23, 1, 3), "Hispano76")),
}


@pytest.mark.parametrize("name", STYLES)
def test_2020_prose_applicants_in_page_order(name):
    assert list(read(name)) == list(SEED_2020)


@pytest.mark.parametrize("name", STYLES)
@pytest.mark.parametrize("applicant", list(SEED_2020))
def test_2020_prose_reads_as_the_seed_says(name, applicant):
    a = read(name)[applicant]
    want = SEED_2020[applicant]
    got = dict(opened=a.opened, support=a.support, oppose=a.oppose, neutral=a.neutral,
               queues=a.queues, questions=len(a.questions), open_questions=len(a.open_questions()),
               comments=len(a.comments), last=a.last_activity)
    assert got == want
    assert a.status == "open"


def test_bold_and_plain_votes_read_the_same():
    bold, plain = read(STYLES[0]), read(STYLES[1])
    assert {k: a.to_json() for k, a in bold.items()} == {k: a.to_json() for k, a in plain.items()}


def test_plain_vote_excerpt_leaves_out_the_vote_word():
    a = read(STYLES[1])["MB-one"]
    assert a.comments[0].excerpt.startswith("Obvious need.")


def test_statement_that_says_support_mid_sentence_is_not_a_vote():
    # MB-one: "...rely on another OTRS volunteer to support me."
    a = read(STYLES[1])["MB-one"]
    assert "to support me" in a.statement and "MB-one" not in a.support


def test_lead_naming_queues_is_not_an_application():
    assert all("info-de" not in a.queues for a in read(STYLES[1]).values())


# ---------------------------------------------------------------------------
# Plain vote words
# ---------------------------------------------------------------------------

HEAD = ("== Dave Newcomer ==\nI would like to help with info-en. "
        "[[User:Dave Newcomer|Dave Newcomer]] 10:00, 1 May 2023 (UTC)\n")


def one(body: str):
    apps = parse_page(HEAD + body)
    assert len(apps) == 1
    return apps[0]


def sig(user: str, minute: int = 0, hour: int = 11) -> str:
    return f"[[User:{user}|{user}]] {hour:02d}:{minute:02d}, 2 May 2023 (UTC)"


@pytest.mark.parametrize("line, kind", [
    ("Support Obvious need.", "support"),
    ("support per above", "support"),
    ("Strong support. Great help desk work.", "support"),
    ("Weak oppose - account too new", "oppose"),
    ("Oppose: not enough copyright experience", "oppose"),
    ("Neutral, no opinion yet", "neutral"),
    ("''Support'' in italics", "support"),
    ("I support the idea of more volunteers", "comment"),
    ("Supporting this was easy for me", "comment"),
    ("Support's easy to give, but where are the edits?", "comment"),
    ("Supportive of the request", "comment"),
])
def test_a_leading_plain_vote_word_is_a_vote(line, kind):
    a = one(f"*{line} {sig('Voter')}\n")
    assert a.comments[0].kind == kind
    assert a.support == (["Voter"] if kind == "support" else [])


def test_a_struck_plain_vote_does_not_count():
    a = one(f"*<s>Support</s> changed my mind after the answers. {sig('Voter')}\n")
    assert (a.support, a.comments[0].struck_vote) == ([], True)


def test_plain_vote_at_the_start_of_an_unindented_line_starts_a_new_contribution():
    a = one(f"Looks fine to me. {sig('Alice')}\nSupport Has potential. {sig('Bob', 5)}\n")
    assert (a.support, [c.signer for c in a.comments]) == (["Bob"], ["Alice", "Bob"])


# ---------------------------------------------------------------------------
# Queues in prose
# ---------------------------------------------------------------------------

def statement(text: str, fields: str = "") -> list[str]:
    page = (f"== Dave Newcomer ==\n{fields}{text} "
            "[[User:Dave Newcomer|Dave Newcomer]] 10:00, 1 May 2023 (UTC)\n")
    return parse_page(page)[0].queues


@pytest.mark.parametrize("text, queues", [
    ("I want to answer emails to permissions-commons@wikimedia.org.", ["permissions-commons"]),
    ("Mails to permissions-commons(at)wikimedia.org are my thing", ["permissions-commons"]),
    ("I could help in info-en and Info-NL.", ["info-en", "info-nl"]),
    ("I would like to help in the German info queue and the Commons permissions queue.",
     ["info-de", "permissions-commons"]),
    ("Access to the info queue in Dutch, please.", ["info-nl"]),
    ("photosubmission, and info@wikimedia.org", ["photosubmission", "info-en"]),
    ("I care about the quality of information on Wikipedia and Creative Commons.", []),
    ("I have read the infobox documentation.", []),
])
def test_queues_named_in_the_statement(text, queues):
    assert statement(text) == queues


def test_the_queues_field_line_wins_over_the_statement():
    fields = "*'''Queue(s) you would like access to:''' info-de\n"
    assert statement("I also read permissions-commons@wikimedia.org mail.", fields) == ["info-de"]


def test_an_empty_queues_field_line_leaves_the_statement_to_say():
    fields = "*'''Queue(s) you would like access to:'''\n"
    assert statement("I would help in info-en.", fields) == ["info-en"]


def test_queues_in_other_peoples_comments_are_not_the_applicants():
    a = one(f"*{{{{support}}}} would be great on permissions-commons. {sig('Voter')}\n")
    assert a.queues == ["info-en"]


# ---------------------------------------------------------------------------
# Open questions
# ---------------------------------------------------------------------------

Q = "*{{q}} How many hours a week can you give? " + sig("Asker", 0) + "\n"


def open_count(body: str) -> int:
    return len(one(body).open_questions())


def test_question_without_reply_is_open():
    assert open_count(Q) == 1


def test_applicants_reply_under_the_question_answers_it():
    assert open_count(Q + "*:About five hours. " + sig("Dave Newcomer", 5) + "\n") == 0


def test_applicants_reply_signed_in_the_same_minute_answers_it():
    # minute resolution: "after" by time alone would miss it
    assert open_count(Q + "*:About five hours. " + sig("Dave Newcomer", 0) + "\n") == 0


def test_someone_elses_reply_under_the_question_answers_it():
    assert open_count(Q + "*:He said five hours on IRC. " + sig("Helper", 5) + "\n") == 0


def test_the_askers_own_follow_up_does_not_answer_it():
    assert open_count(Q + "*:Roughly, I mean. " + sig("Asker", 5) + "\n") == 1


def test_a_vote_below_the_question_does_not_answer_it():
    assert open_count(Q + "*:{{support}} anyway " + sig("Voter", 5) + "\n") == 1


def test_a_reply_to_something_else_does_not_answer_it():
    body = Q + "*{{support}} good candidate " + sig("Voter", 5) + "\n*:Thanks! " + sig("Helper", 9) + "\n"
    assert open_count(body) == 1


def test_no_question_is_open_on_a_closed_application():
    a = one(Q + "*{{done}} approved " + sig("VRT Admin", 30, 12) + "\n")
    assert (a.status, len(a.questions), a.open_questions()) == ("approved", 1, [])


def test_a_question_stays_open_on_hold():
    a = one(Q + "*{{on hold}} waiting for the answer " + sig("VRT Admin", 30, 12) + "\n")
    assert (a.status, len(a.open_questions())) == ("on hold", 1)


def test_scan_json_counts_questions_asked_not_open():
    a = one(Q + "*:About five hours. " + sig("Dave Newcomer", 5) + "\n")
    assert a.to_json()["questions"] == 1


# ---------------------------------------------------------------------------
# Last activity
# ---------------------------------------------------------------------------

def test_last_activity_tie_in_the_same_minute_goes_to_the_later_on_the_page():
    a = one(f"*{{{{support}}}} yes {sig('First', 7)}\n*{{{{support}}}} me too {sig('Second', 7)}\n")
    assert a.last_activity == (datetime(2023, 5, 2, 11, 7, tzinfo=timezone.utc), "Second")


def test_last_activity_is_the_latest_time_not_the_last_on_the_page():
    a = one(f"*{{{{support}}}} yes {sig('Later', 9)}\n*{{{{support}}}} me too {sig('Earlier', 7)}\n")
    assert a.last_activity[1] == "Later"


# ---------------------------------------------------------------------------
# Names as people paste them
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "D\u200bave Newcomer",          # copied from an announcement
    "Dave\u200c Newcomer",
    "\ufeffDave Newcomer\u2060",
    "Dave\u200d_Newcomer",
    "\u200edave newcomer\u200f",
])
def test_invisible_characters_in_a_typed_name_are_ignored(typed):
    assert normalize_username(typed) in ("Dave Newcomer", "Dave newcomer")
    assert username_key(typed) == username_key("Dave Newcomer")


def test_scan_table_shows_questions_asked_and_still_open():
    import run_bot

    a = one(Q + "*:About five hours. " + sig("Dave Newcomer", 5) + "\n"
            + "*{{q}} And which queues? " + sig("Asker", 9) + "\n")
    row = run_bot._table([a]).splitlines()[2]
    assert " 2 (1) " in row and "info-en" in row

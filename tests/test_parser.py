"""The volunteering page as the bot reads it.

Fixtures in ``tests/fixtures`` are wikitext written the way people write
the page: the 2009 ``OTRS/Volunteering`` era (user-link headings, bold
votes), the 2020 page (the shared sample and a richer copy built from the
seed), today's ``Volunteer Response Team/Volunteering``, a page of tricky
variants, a page that is not the volunteering page and a malformed one.
Expected values below were written from reading the fixtures, not from the
parser's output.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pytest

from OTRSHelp import markup, parser
from OTRSHelp.parser import STATUSES, Application, Comment, iso, parse_page, parse_timestamp

FIXTURES = Path(__file__).parent / "fixtures"


@lru_cache(maxsize=None)
def page(name: str) -> tuple[Application, ...]:
    text = (FIXTURES / name).read_text(encoding="utf-8", errors="surrogateescape")
    return tuple(parse_page(text))


def app(name: str, applicant: str, nth: int = 0) -> Application:
    found = [a for a in page(name) if a.applicant == applicant]
    assert len(found) > nth, f"{applicant} not found in {name}"
    return found[nth]


def utc(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)


def thread(a: Application) -> list[tuple[str, int, str | None]]:
    return [(c.kind, c.depth, c.signer) for c in a.comments]


SAMPLE = "volunteering-2020-sample.wiki"
Y2009 = "volunteering-2009.wiki"
Y2020 = "volunteering-2020.wiki"
TODAY = "volunteering-today.wiki"
VARIANTS = "variants.wiki"


# ---------------------------------------------------------------------------
# The shared 2020 sample: every application, as scan --json shows it
# ---------------------------------------------------------------------------

SAMPLE_JSON = [
    {
        "applicant": "Masumrezarock100", "status": "declined",
        "opened": "2020-01-19T11:32:00Z", "closed": "2020-02-02T09:15:00Z",
        "closed_by": "ExampleAdmin",
        "queues": ["permissions-commons", "photosubmission"], "languages": ["English", "Bengali"],
        "support": ["GreenMeansGo"], "oppose": [], "neutral": [],
        "questions": 1, "comments": 6,
        "last_activity": "2020-02-02T09:15:00Z", "last_by": "ExampleAdmin",
        "anchor": "Masumrezarock100",
    },
    {
        "applicant": "MB-one", "status": "approved",
        "opened": "2020-01-14T08:12:00Z", "closed": "2020-01-20T18:44:00Z",
        "closed_by": "ExampleAdmin",
        "queues": ["info-de", "permissions-de"], "languages": ["German (native)", "English"],
        "support": ["ExampleSupporter"], "oppose": [], "neutral": [],
        "questions": 1, "comments": 4,
        "last_activity": "2020-01-20T18:44:00Z", "last_by": "ExampleAdmin",
        "anchor": "MB-one",
    },
    {
        "applicant": "LakesideMiners", "status": "on hold",
        "opened": "2020-01-24T02:17:00Z", "closed": "2020-01-28T12:00:00Z",
        "closed_by": "ExampleAdmin",
        "queues": ["info-en"], "languages": ["English"],
        "support": ["Vermont", "Operator873"], "oppose": ["ExampleOpposer"], "neutral": [],
        "questions": 0, "comments": 5,
        "last_activity": "2020-01-28T12:00:00Z", "last_by": "ExampleAdmin",
        "anchor": "LakesideMiners",
    },
    {
        "applicant": "Hispano76", "status": "withdrawn",
        "opened": "2020-01-26T23:48:00Z", "closed": "2020-02-03T10:03:00Z",
        "closed_by": "Hispano76",
        "queues": ["info-es", "permisos-es"], "languages": ["Spanish (native)", "English (intermediate)"],
        "support": [], "oppose": [], "neutral": [],
        "questions": 0, "comments": 3,
        "last_activity": "2020-02-03T10:03:00Z", "last_by": "Hispano76",
        "anchor": "Hispano76",
    },
    {
        "applicant": "ExampleNewbie", "status": "open",
        "opened": "2020-02-04T04:05:00Z", "closed": None, "closed_by": None,
        "queues": ["info-pt"], "languages": ["English", "Portuguese"],
        "support": [], "oppose": [], "neutral": [],
        "questions": 0, "comments": 1,
        "last_activity": "2020-02-04T05:00:00Z", "last_by": "ExampleOpposer",
        "anchor": "ExampleNewbie",
    },
]


def test_sample_applicants_in_page_order():
    assert [a.applicant for a in page(SAMPLE)] == [
        "Masumrezarock100", "MB-one", "LakesideMiners", "Hispano76", "ExampleNewbie"]


@pytest.mark.parametrize("expected", SAMPLE_JSON, ids=lambda e: e["applicant"])
def test_sample_application_as_scan_json_shows_it(expected):
    assert app(SAMPLE, expected["applicant"]).to_json() == expected


@pytest.mark.parametrize("applicant, expected", [
    ("Masumrezarock100", [("comment", 1, "NatAlsace"), ("support", 1, "GreenMeansGo"),
                          ("question", 1, "AntiCompositeNumber"), ("reply", 2, "Masumrezarock100"),
                          ("reply", 3, "AntiCompositeNumber"), ("status", 1, "ExampleAdmin")]),
    # IPv6 signers as MediaWiki writes them (OTRSHelp.names): 2001:db8::7 is 2001:DB8:0:0:0:0:0:7
    ("MB-one", [("support", 1, "ExampleSupporter"), ("question", 1, "2001:DB8:0:0:0:0:0:7"),
                ("reply", 2, "MB-one"), ("status", 1, "ExampleAdmin")]),
    ("LakesideMiners", [("support", 1, "Vermont"), ("support", 1, "Operator873"),
                        ("oppose", 1, "ExampleOpposer"), ("reply", 2, "Vermont"),
                        ("status", 1, "ExampleAdmin")]),
    ("Hispano76", [("comment", 1, "ExampleCommenter"), ("reply", 2, "Hispano76"),
                   ("status", 1, "Hispano76")]),
    ("ExampleNewbie", [("oppose", 1, "ExampleOpposer")]),
])
def test_sample_comment_kinds_depths_and_signers(applicant, expected):
    assert thread(app(SAMPLE, applicant)) == expected


def test_sample_unsigned_template_opens_the_application_for_its_user():
    a = app(SAMPLE, "ExampleNewbie")
    assert (a.opened, a.opened_by) == (utc(2020, 2, 4, 4, 5), "ExampleNewbie")


def test_sample_struck_oppose_is_kept_as_a_struck_vote():
    assert [(c.kind, c.struck_vote) for c in app(SAMPLE, "ExampleNewbie").comments] == [("oppose", True)]


@pytest.mark.parametrize("applicant, opened_by", [
    ("Masumrezarock100", "Masumrezarock100"), ("MB-one", "MB-one"),
    ("LakesideMiners", "LakesideMiners"), ("Hispano76", "Hispano76"),
])
def test_sample_opened_by_the_applicant(applicant, opened_by):
    assert app(SAMPLE, applicant).opened_by == opened_by


def test_sample_talk_page_links_are_kept_as_written():
    assert app(SAMPLE, "MB-one").talk_pages == [":de:Benutzer Diskussion:MB-one"]


# ---------------------------------------------------------------------------
# 2009: ====[[User:X|X]]==== headings, bold votes, prose closures
# ---------------------------------------------------------------------------

def test_2009_applicants_in_page_order():
    assert [a.applicant for a in page(Y2009)] == [
        "Quillfeather", "Marsh Harrier", "Juniper Vale", "Wren", "Stonechat"]


def test_2009_anchors_follow_the_rendered_heading():
    # [[User:Marsh Harrier|]] shows "Marsh Harrier" (pipe trick); [[User:Stonechat]] shows the title
    assert [a.anchor for a in page(Y2009)] == [
        "Quillfeather", "Marsh_Harrier", "Juniper_Vale", "Wren", "User:Stonechat"]


def test_2009_example_in_the_copy_template_is_not_an_application():
    assert "Example" not in [a.applicant for a in page(Y2009)]


@pytest.mark.parametrize("applicant, status, closed, closed_by", [
    ("Quillfeather", "approved", utc(2009, 2, 12, 20, 15), "Brightwater"),  # '''Done'''
    ("Marsh Harrier", "open", None, None),
    ("Juniper Vale", "declined", utc(2009, 2, 27, 19, 0), "Brightwater"),  # '''Not done'''
    ("Wren", "approved", utc(2009, 3, 5, 22, 10), "Brightwater"),  # '''Approved'''.
    ("Stonechat", "open", None, None),
])
def test_2009_status_and_closure(applicant, status, closed, closed_by):
    a = app(Y2009, applicant)
    assert (a.status, a.closed, a.closed_by) == (status, closed, closed_by)


@pytest.mark.parametrize("applicant, support, oppose, neutral", [
    ("Quillfeather", ["Tallgrass", "Oakmoss"], [], []),  # '''Support''', '''Weak support'''
    ("Marsh Harrier", ["Tallgrass", "Oakmoss"], [], ["Fenwick"]),  # Fenwick moved from oppose
    ("Juniper Vale", [], ["Fenwick"], ["Oakmoss"]),
    ("Wren", ["Tallgrass"], [], []),  # '''Strong support'''
    ("Stonechat", [], [], []),
])
def test_2009_bold_votes(applicant, support, oppose, neutral):
    a = app(Y2009, applicant)
    assert (a.support, a.oppose, a.neutral) == (support, oppose, neutral)


@pytest.mark.parametrize("applicant, languages", [
    ("Quillfeather", ["en-N", "fr-2", "la-1"]),
    ("Marsh Harrier", ["de-N", "en-3", "nl-1"]),
    ("Juniper Vale", ["English", "Spanish"]),
    ("Wren", ["pt-N", "en-3"]),
])
def test_2009_languages_field_in_lower_case_label(applicant, languages):
    assert app(Y2009, applicant).languages == languages


def test_2009_opened_from_signature_with_font_tags():
    a = app(Y2009, "Quillfeather")
    assert (a.opened, a.opened_by) == (utc(2009, 2, 7, 23, 1), "Quillfeather")


def test_2009_thread_of_numbered_votes_and_replies():
    assert thread(app(Y2009, "Marsh Harrier")) == [
        ("support", 1, "Tallgrass"), ("oppose", 1, "Fenwick"), ("reply", 2, "Tallgrass"),
        ("reply", 3, "Fenwick"), ("neutral", 1, "Fenwick"), ("support", 1, "Oakmoss")]


def test_2009_bold_comment_with_question_mark_is_a_comment_not_a_question():
    assert thread(app(Y2009, "Quillfeather")) == [
        ("comment", 1, "Brightwater"), ("support", 1, "Tallgrass"), ("support", 1, "Oakmoss"),
        ("comment", 1, "Brightwater"), ("reply", 2, "Quillfeather"), ("status", 1, "Brightwater")]


def test_2009_bold_question_counts_and_is_answered():
    a = app(Y2009, "Wren")
    assert (len(a.questions), len(a.open_questions())) == (1, 0)


def test_2009_excerpt_leaves_out_the_bold_vote_word():
    assert app(Y2009, "Quillfeather").comments[1].excerpt == "Calm, patient, and knows BLP inside out."


def test_2009_email_field_is_kept():
    assert app(Y2009, "Wren").fields["Email sent"] == "yes, on 1 March"


def test_2009_last_activity_and_by_whom():
    assert app(Y2009, "Stonechat").last_activity == (utc(2009, 3, 9, 13, 20), "Fenwick")


# ---------------------------------------------------------------------------
# 2020: "=== ~~~ ===" headings, ping questions, multi-paragraph answers
# ---------------------------------------------------------------------------

def test_2020_applicants_in_page_order():
    assert [a.applicant for a in page(Y2020)] == [
        "Masumrezarock100", "MB-one", "LakesideMiners", "Hispano76", "Elbsandstein", "Zeelandia"]


def test_2020_anchor_of_a_signature_heading_is_its_display_text():
    assert page(Y2020)[0].anchor == "Masum_Reza📞"


@pytest.mark.parametrize("name, first_application", [
    (Y2009, "====[[User:Quillfeather"),
    (Y2020, "=== [[User:Masumrezarock100"),
    (TODAY, "== someuser =="),
    (SAMPLE, "=== Masumrezarock100 ==="),
])
def test_lead_and_copy_template_produce_no_application(name, first_application):
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert parse_page(text[: text.index(first_application)]) == []


def test_2020_multi_paragraph_answers_are_single_replies():
    # the question spans a bullet, two numbered tickets and a signed bullet;
    # each answer is a numbered paragraph plus a signed line below it
    assert thread(app(Y2020, "Masumrezarock100")) == [
        ("support", 1, "GreenMeansGo"),
        ("question", 1, "AntiCompositeNumber"),
        ("reply", 3, "Masumrezarock100"),
        ("reply", 3, "GreenMeansGo"),
        ("reply", 4, "Masumrezarock100"),
        ("reply", 3, "Masumrezarock100"),
        ("reply", 2, "AntiCompositeNumber"),
    ]


def test_2020_ping_question_is_answered_by_the_applicant():
    a = app(Y2020, "Masumrezarock100")
    assert (len(a.questions), len(a.open_questions())) == (1, 0)


def test_2020_statement_after_an_empty_why_field_opens_the_application():
    a = app(Y2020, "Masumrezarock100")
    assert (a.opened, a.opened_by, a.statement.startswith("I have been contributing to Commons")) == (
        utc(2020, 1, 19, 11, 32), "Masumrezarock100", True)


def test_2020_last_activity_and_by_whom():
    assert app(Y2020, "Masumrezarock100").last_activity == (utc(2020, 1, 23, 22, 6), "AntiCompositeNumber")


@pytest.mark.parametrize("applicant, status, closed, closed_by", [
    ("Masumrezarock100", "open", None, None),
    ("MB-one", "approved", utc(2020, 1, 27, 6, 12), "Linnet Marsh"),
    ("LakesideMiners", "open", None, None),
    ("Hispano76", "on hold", utc(2020, 1, 30, 9, 30), "Linnet Marsh"),
    ("Elbsandstein", "declined", utc(2020, 1, 30, 9, 35), "Linnet Marsh"),
    ("Zeelandia", "open", None, None),
])
def test_2020_status_and_closure(applicant, status, closed, closed_by):
    a = app(Y2020, applicant)
    assert (a.status, a.closed, a.closed_by) == (status, closed, closed_by)


@pytest.mark.parametrize("applicant, support, oppose", [
    ("Masumrezarock100", ["GreenMeansGo"], []),
    ("MB-one", ["Masumrezarock100", "GreenMeansGo"], []),
    ("LakesideMiners", ["Operator873", "Masumrezarock100", "GreenMeansGo"], []),
    ("Hispano76", [], []),
    ("Zeelandia", ["Vermont"], []),
])
def test_2020_votes(applicant, support, oppose):
    a = app(Y2020, applicant)
    assert (a.support, a.oppose) == (support, oppose)


@pytest.mark.parametrize("applicant, queues, languages", [
    ("Masumrezarock100", ["permissions-commons"], ["English", "Bengali", "Hindi"]),
    ("MB-one", [], []),
    ("LakesideMiners", ["info-en"], ["English"]),
    ("Hispano76", ["info-es", "permisos-es", "permissions-commons"], ["Spanish (native)", "English"]),
    ("Elbsandstein", ["info-de"], ["German", "English"]),
    ("Zeelandia", ["info-nl", "permissions-nl"], ["Dutch (native)", "English", "French (basic)"]),
])
def test_2020_queues_and_languages(applicant, queues, languages):
    a = app(Y2020, applicant)
    assert (a.queues, a.languages) == (queues, languages)


def test_2020_unanswered_ping_question_stays_open():
    a = app(Y2020, "Hispano76")
    assert [(q.signer, q.time) for q in a.open_questions()] == [
        ("AntiCompositeNumber", utc(2020, 1, 24, 4, 10))]


def test_2020_thread_with_unindented_comment_and_applicant_thanks():
    assert thread(app(Y2020, "LakesideMiners")) == [
        ("comment", 1, "Vermont"), ("support", 1, "Operator873"), ("support", 1, "Masumrezarock100"),
        ("reply", 2, "LakesideMiners"), ("support", 1, "GreenMeansGo")]


def test_2020_struck_text_is_not_part_of_the_statement():
    statement = app(Y2020, "LakesideMiners").statement
    assert ("late over here" not in statement, statement.endswith("Never mind, I sent it.")) == (True, True)


def test_2020_signature_with_several_links_and_long_display_text():
    assert [c.signer for c in app(Y2020, "MB-one").comments][1] == "NatAlsace"


def test_2020_email_field_with_other_wording_is_a_field():
    assert app(Y2020, "Zeelandia").fields["Email sent to contact-nl"] == "yes, on 1 February"


# ---------------------------------------------------------------------------
# Today: "== name ==" headings, short vote templates, reopening
# ---------------------------------------------------------------------------

def test_today_applicants_in_page_order():
    # "== someuser ==" is the user Someuser; "== Blue_Heron ==" is Blue Heron
    assert [a.applicant for a in page(TODAY)] == [
        "Someuser", "Blue Heron", "Kestrel Iyer", "Tamarind", "Quokka Lane", "Heather Moss"]


def test_today_anchors_keep_the_heading_as_typed():
    assert [a.anchor for a in page(TODAY)] == [
        "someuser", "Blue_Heron", "Kestrel_Iyer", "Tamarind", "Quokka_Lane",
        "Heather_Moss_(2nd_application)"]


@pytest.mark.parametrize("applicant, status, closed, closed_by", [
    ("Someuser", "approved", utc(2024, 3, 20, 20, 0), "Ferrous"),
    ("Blue Heron", "open", None, None),
    ("Kestrel Iyer", "declined", utc(2024, 3, 25, 12, 0), "Ferrous"),
    ("Tamarind", "open", None, None),  # declined, then "Reopened, ..."
    ("Quokka Lane", "withdrawn", utc(2024, 3, 11, 9, 0), "Quokka Lane"),
    ("Heather Moss", "on hold", utc(2024, 3, 18, 10, 30), "Ferrous"),
])
def test_today_status_and_closure(applicant, status, closed, closed_by):
    a = app(TODAY, applicant)
    assert (a.status, a.closed, a.closed_by) == (status, closed, closed_by)


def test_today_reopening_is_a_status_change_to_open():
    assert [(c.status, c.signer) for c in app(TODAY, "Tamarind").comments if c.kind == "status"] == [
        ("declined", "Ferrous"), ("open", "Ferrous")]


@pytest.mark.parametrize("applicant, support, oppose, neutral", [
    ("Someuser", ["Kestrel Iyer"], ["Pell Mell"], []),  # {{s}}, {{o}}
    ("Blue Heron", ["Kestrel Iyer"], [], ["Pell Mell"]),  # {{Support}}, {{neutral}}
    ("Kestrel Iyer", [], ["Pell Mell"], []),
    ("Tamarind", ["Kestrel Iyer"], [], []),
    ("Quokka Lane", [], ["Pell Mell"], []),  # {{Oppose}}
    ("Heather Moss", ["Kestrel Iyer"], [], []),
])
def test_today_votes(applicant, support, oppose, neutral):
    a = app(TODAY, applicant)
    assert (a.support, a.oppose, a.neutral) == (support, oppose, neutral)


def test_today_thread_with_short_templates():
    # {{c}} by the applicant is a reply; {{q}} is a question even without a ping
    assert thread(app(TODAY, "Someuser")) == [
        ("support", 1, "Kestrel Iyer"), ("oppose", 1, "Pell Mell"), ("comment", 1, "Ferrous"),
        ("question", 1, "Pell Mell"), ("reply", 2, "Someuser"), ("reply", 2, "Someuser"),
        ("status", 1, "Ferrous")]


def test_today_queues_are_lower_case():
    assert app(TODAY, "Someuser").queues == ["info-en", "permissions-commons"]


def test_today_question_template_with_ping_is_one_open_question():
    a = app(TODAY, "Blue Heron")
    assert ([q.signer for q in a.questions], [q.signer for q in a.open_questions()]) == (
        ["Ferrous"], ["Ferrous"])


def test_today_opened_and_last_activity_of_reopened_application():
    a = app(TODAY, "Tamarind")
    assert (iso(a.opened), a.last_activity) == ("2024-03-08T04:00:00Z", (utc(2024, 4, 12, 9, 0), "Ferrous"))


def test_today_french_user_namespace_signs_and_opens():
    a = app(TODAY, "Blue Heron")
    assert (a.opened, a.opened_by) == (utc(2024, 3, 5, 10, 5), "Blue Heron")


# ---------------------------------------------------------------------------
# Variants: one tricky case per application
# ---------------------------------------------------------------------------

def test_variants_applicants_in_page_order():
    # the long sentence heading is not an application; "Questions" belongs to Oriole
    assert [a.applicant for a in page(VARIANTS)] == [
        "Aster", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Gorse", "Hawthorn", "Ivy",
        "Evilmaid", "Mallory", "Kale", "Lupin", "Nightjar42", "Oriole", "Kale"]


def test_votes_inside_html_comments_and_nowiki_are_ignored():
    a = app(VARIANTS, "Aster")
    assert (a.support, a.oppose) == (["Kestrel Iyer"], [])


def test_tl_mentions_of_vote_templates_are_comments():
    assert thread(app(VARIANTS, "Aster")) == [
        ("comment", 1, "Pell Mell"), ("comment", 1, "Ferrous"), ("support", 1, "Kestrel Iyer"),
        ("comment", 1, "Tallgrass")]


def test_tl_mention_is_shown_as_the_template_name_in_the_excerpt():
    assert app(VARIANTS, "Aster").comments[0].excerpt == (
        "Please use {{support}} or {{oppose}} here rather than bold text.")


def test_struck_votes_do_not_count():
    a = app(VARIANTS, "Birch")
    assert (a.support, a.oppose, a.neutral) == ([], [], [])


def test_struck_votes_with_s_del_strike_and_struck_signature_are_marked_struck():
    assert [(c.kind, c.signer, c.struck_vote) for c in app(VARIANTS, "Birch").comments] == [
        ("oppose", "Pell Mell", True), ("support", "Kestrel Iyer", True),
        ("neutral", "Tallgrass", True), ("oppose", "Fenwick", True)]


def test_withdrawing_a_vote_does_not_withdraw_the_application():
    assert app(VARIANTS, "Birch").status == "open"


def test_each_voter_counts_once_with_their_latest_vote():
    # Kestrel Iyer supports twice; Ferrous strikes neutral for support;
    # Pell Mell opposes, then supports further down without striking
    a = app(VARIANTS, "Cedar")
    assert (a.support, a.oppose, a.neutral) == (["Kestrel Iyer", "Ferrous", "Pell Mell"], [], [])


def test_custom_signatures_sign_with_the_last_user_link():
    assert app(VARIANTS, "Dogwood").support == ["Rosewood Tal", "Fernleaf", "Quietvole", "Heron's Bill"]


def test_custom_signature_opens_the_application():
    a = app(VARIANTS, "Dogwood")
    assert (a.opened, a.opened_by) == (utc(2023, 5, 4, 10, 0), "Dogwood")


def test_mentions_before_a_signature_stay_in_the_excerpt():
    assert app(VARIANTS, "Dogwood").comments[3].excerpt == "I agree with Rosewood and Fernleaf."


def test_interwiki_and_localized_user_links_sign():
    a = app(VARIANTS, "Elm")
    assert (a.support, a.oppose) == (
        ["Kiefernwald", "Ostrea", "Pelican Bay", "Hérisson", "Zeekraal"], ["Colibrí"])


def test_ip_signers_and_unsigned_templates_vote():
    a = app(VARIANTS, "Fir")
    assert (a.support, a.oppose, a.neutral) == (
        ["203.0.113.7", "Larkspur"], ["2001:DB8:85A3:0:0:8A2E:370:7334"], ["198.51.100.23"])


def test_unsigned_template_dates_and_missing_dates():
    times = [(c.signer, c.time) for c in app(VARIANTS, "Fir").comments]
    assert times[2:5] == [("Larkspur", utc(2023, 5, 6, 12, 0)), ("198.51.100.23", utc(2023, 5, 6, 12, 30)),
                          ("Ferrous", None)]


def test_timestamp_without_own_link_has_no_signer_even_after_a_mention():
    last = app(VARIANTS, "Fir").comments[-1]
    assert (last.signer, last.time, last.kind) == (None, utc(2023, 5, 6, 14, 0), "comment")


def test_question_template_before_a_ping_is_one_question():
    a = app(VARIANTS, "Fir")
    assert [(q.signer, q.depth) for q in a.questions] == [("Pell Mell", 1)]


def test_applicants_own_done_is_a_reply_not_an_approval():
    a = app(VARIANTS, "Gorse")
    assert (a.status, a.closed, [c.kind for c in a.comments]) == (
        "open", None, ["question", "reply", "reply", "support"])


def test_applicants_own_support_is_not_an_endorsement():
    assert app(VARIANTS, "Gorse").support == ["Kestrel Iyer"]


def test_applicants_own_withdrawn_mark_withdraws():
    a = app(VARIANTS, "Hawthorn")
    assert (a.status, a.closed, a.closed_by) == ("withdrawn", utc(2023, 5, 8, 12, 0), "Hawthorn")


def test_deep_replies_and_pings_to_others():
    # a ping to a supporter is a reply; a ping to the applicant asking
    # something is a question at any depth
    assert thread(app(VARIANTS, "Ivy")) == [
        ("support", 1, "Kestrel Iyer"), ("reply", 2, "Pell Mell"), ("reply", 3, "Kestrel Iyer"),
        ("question", 4, "Pell Mell"), ("reply", 5, "Ivy"), ("question", 1, "Ferrous")]


def test_only_questions_after_the_applicants_last_answer_are_open():
    a = app(VARIANTS, "Ivy")
    assert [(q.signer, q.time) for q in a.open_questions()] == [("Ferrous", utc(2023, 5, 9, 13, 0))]


def test_user_link_heading_with_other_display_text():
    a = app(VARIANTS, "Evilmaid")
    assert (a.applicant, a.anchor, a.heading) == ("Evilmaid", "VRT_admin", "VRT admin")


def test_signer_is_the_link_target_not_its_display_text():
    assert app(VARIANTS, "Evilmaid").support == ["Evil"]


def test_bidi_override_is_dropped_from_applicant_and_signer():
    a = app(VARIANTS, "Mallory")
    assert (a.applicant, a.oppose) == ("Mallory", ["Trickster"])


def test_bidi_override_is_dropped_from_excerpts():
    reply = app(VARIANTS, "Cedar").comments[3]
    assert reply.excerpt == "@Ferrous Thanks, I've answered below."


def test_very_long_comment_is_cut_to_an_excerpt():
    excerpt = app(VARIANTS, "Mallory").comments[0].excerpt
    assert (len(excerpt), excerpt[-1]) == (200, "\u2026")


def test_duplicate_headings_get_numbered_anchors():
    assert [a.anchor for a in page(VARIANTS) if a.applicant == "Kale"] == ["Kale", "Kale_2"]


def test_duplicate_headings_are_separate_applications():
    assert [a.status for a in page(VARIANTS) if a.applicant == "Kale"] == ["declined", "open"]


def test_unsigned_statement_does_not_swallow_the_votes_below():
    a = app(VARIANTS, "Lupin")
    assert (a.opened, a.support, a.statement) == (
        None, ["Kestrel Iyer"], "I'd like to help with Welsh tickets.")


def test_unsigned_application_still_shows_its_form():
    a = app(VARIANTS, "Lupin")
    assert (a.queues, a.languages, a.last_activity) == (
        ["info-cy"], ["English", "Welsh"], (utc(2023, 5, 12, 11, 30), "Ferrous"))


def test_display_name_heading_is_the_signing_user():
    a = app(VARIANTS, "Nightjar42")
    assert (a.applicant, a.anchor, a.opened_by) == ("Nightjar42", "Nightjar_Bloom", "Nightjar42")


def test_display_name_heading_applicant_answers_questions():
    a = app(VARIANTS, "Nightjar42")
    assert (thread(a), len(a.open_questions())) == (
        [("question", 1, "Ferrous"), ("reply", 2, "Nightjar42")], 0)


def test_questions_subsection_belongs_to_the_application_above():
    a = app(VARIANTS, "Oriole")
    assert thread(a) == [("support", 1, "Kestrel Iyer"), ("question", 1, "Ferrous"),
                         ("reply", 2, "Oriole"), ("oppose", 1, "Pell Mell")]


def sig(user: str, minute: int, shown: str | None = None) -> str:
    return f"[[User:{user}|{shown or user}]] ([[User talk:{user}|talk]]) 10:{minute:02d}, 1 May 2023 (UTC)"


def test_plain_user_prefixed_heading_names_the_user():
    text = f"== User:Plainlink ==\nHello. {sig('Plainlink', 0)}\n"
    assert [(a.applicant, a.anchor) for a in parse_page(text)] == [("Plainlink", "User:Plainlink")]


def test_heading_in_other_case_than_the_username_is_that_user():
    text = f"== foo bar ==\nHello. {sig('Foo Bar', 0)}\n*{{{{ping|Foo Bar}}}} Why? {sig('Ferrous', 1)}\n"
    a = parse_page(text)[0]
    assert (a.applicant, a.anchor, [c.kind for c in a.comments]) == ("Foo Bar", "foo_bar", ["question"])


def test_comment_mark_with_a_ping_asking_the_applicant_is_a_question():
    text = (f"== Quail ==\nHello. {sig('Quail', 0)}\n"
            f"*{{{{c}}}} {{{{ping|Quail}}}} Have you sent the e-mail? {sig('Ferrous', 1)}\n"
            f"*{{{{c}}}} Nice work at the help desk. {sig('Ferrous', 2)}\n")
    assert [c.kind for c in parse_page(text)[0].comments] == ["question", "comment"]


def test_possessive_subsection_heading_belongs_to_the_application():
    text = (f"== Quail ==\nHello. {sig('Quail', 0)}\n=== Quail's answers ===\n"
            f"*{{{{support}}}} {sig('Pell Mell', 1)}\n")
    assert [(a.applicant, a.support) for a in parse_page(text)] == [("Quail", ["Pell Mell"])]


def test_bare_done_deep_in_a_thread_is_not_a_closure():
    # "Done." under a request answers the request; it does not approve
    text = (f"== Quail ==\nHello. {sig('Quail', 0)}\n"
            f"*Could someone fix the link above? {sig('Pell Mell', 1)}\n"
            f"*:Done. {sig('Ferrous', 2)}\n")
    assert [(a.status, [c.kind for c in a.comments]) for a in parse_page(text)] == [
        ("open", ["comment", "reply"])]


def test_prose_closure_word_must_stand_alone():
    text = (f"== Quail ==\nHello. {sig('Quail', 0)}\n"
            f":Accepted practice is to wait for the e-mail. {sig('Pell Mell', 1)}\n"
            f":Declined per the discussion above. {sig('Ferrous', 2)}\n")
    assert [(c.kind, c.status) for c in parse_page(text)[0].comments] == [
        ("comment", None), ("status", "declined")]


def test_languages_list_with_and():
    bold = "'" * 3
    text = (f"== Quail ==\n*{bold}Languages you can reply in:{bold} English, German (a bit), and French\n"
            f"*{bold}Why do you want to help?{bold} Hello. {sig('Quail', 0)}\n")
    assert parse_page(text)[0].languages == ["English", "German (a bit)", "French"]


# ---------------------------------------------------------------------------
# Pages that are not, or not quite, the volunteering page
# ---------------------------------------------------------------------------

def test_talk_page_threads_are_not_applications():
    assert list(page("not-a-volunteering-page.wiki")) == []


@pytest.mark.parametrize("errors", ["surrogateescape", "replace"])
def test_malformed_page_does_not_raise(errors):
    text = (FIXTURES / "malformed.wiki").read_text(encoding="utf-8", errors=errors)
    assert [a.applicant for a in parse_page(text)] == ["Sparrow", "Wren"]


def test_malformed_page_keeps_what_is_readable():
    a = app("malformed.wiki", "Sparrow")
    # {{support without its braces is text; an unclosed <s> strikes to the
    # end of the line; an impossible time still names the signer; Jun is June
    assert (a.support, a.oppose, [c.time for c in a.comments if c.signer == "Ferrous"]) == (
        ["Tallgrass", "Ferrous"], [], [utc(2023, 6, 1, 12, 30)])


def test_malformed_page_text_after_an_unclosed_comment_is_hidden():
    assert "Ghost" not in [c.signer for a in page("malformed.wiki") for c in a.comments]


@pytest.mark.parametrize("text", ["", "no headings at all", "== ==\n", "==\n", "=\n=",
                                  "== A ==", "== A ==\n*{{support}}", "<!--", "<pre>", "{{", "[[",
                                  "== A ==\n[[User:A]] 10:00, 1 May 2023 (UTC)\n:{{done}}"])
def test_degenerate_pages_do_not_raise(text):
    assert isinstance(parse_page(text), list)


# ---------------------------------------------------------------------------
# Anchors, JSON contract, times
# ---------------------------------------------------------------------------

def test_anchors_repeat_case_insensitively_as_on_the_wiki():
    text = "\n".join(f"== {h} ==\nHello. [[User:Kale|Kale]] 10:0{i}, 1 May 2023 (UTC)"
                     for i, h in enumerate(["Kale", "kale", "Kale"]))
    assert [a.anchor for a in parse_page(text)] == ["Kale", "kale_2", "Kale_3"]


def test_lead_headings_take_part_in_anchor_numbering():
    text = "== Kale ==\nAbout kale.\n== Kale ==\nHello. [[User:Kale|Kale]] 10:00, 1 May 2023 (UTC)"
    assert [a.anchor for a in parse_page(text)] == ["Kale_2"]


def test_to_json_has_exactly_the_contract_keys():
    assert set(page(TODAY)[0].to_json()) == {
        "applicant", "status", "opened", "closed", "closed_by", "queues", "languages", "support",
        "oppose", "neutral", "questions", "comments", "last_activity", "last_by", "anchor"}


@pytest.mark.parametrize("name", [SAMPLE, Y2009, Y2020, TODAY, VARIANTS])
def test_to_json_times_are_iso_utc_with_z(name):
    times = [a.to_json()[k] for a in page(name) for k in ("opened", "closed", "last_activity")]
    assert all(t is None or (len(t) == 20 and t.endswith("Z") and t[10] == "T") for t in times)


@pytest.mark.parametrize("name", [SAMPLE, Y2009, Y2020, TODAY, VARIANTS])
def test_status_is_one_of_the_documented_statuses(name):
    assert {a.status for a in page(name)} <= set(STATUSES)


@pytest.mark.parametrize("name", [SAMPLE, Y2009, Y2020, TODAY, VARIANTS])
def test_vote_lists_name_each_signer_once(name):
    lists = [a.support + a.oppose + a.neutral for a in page(name)]
    assert all(len(v) == len(set(v)) for v in lists)


def test_times_are_timezone_aware_utc():
    assert {c.time.utcoffset().total_seconds() for a in page(TODAY) for c in a.comments} == {0.0}


def test_iso_spells_utc_with_z():
    assert (iso(utc(2020, 1, 19, 11, 32)), iso(None)) == ("2020-01-19T11:32:00Z", None)


@pytest.mark.parametrize("text, expected", [
    ("[[User:X|X]] 11:32, 19 January 2020 (UTC)", utc(2020, 1, 19, 11, 32)),
    ("03:02, 4 Jun 2023 (UTC)", utc(2023, 6, 4, 3, 2)),
    ("25:99, 31 February 2023 (UTC)", None),
    ("11:32, 19 January 2020", None),
    ("no time", None),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


def test_comment_key_is_signer_and_iso_time():
    c = app(SAMPLE, "MB-one").comments[0]
    assert c.key == ("ExampleSupporter", "2020-01-14T10:20:00+00:00")


def test_whitespace_edit_keeps_the_comment_digest():
    a = app(SAMPLE, "MB-one")
    moved = (FIXTURES / SAMPLE).read_text(encoding="utf-8").replace(
        "* {{s}} Trustworthy", "*{{s}}   Trustworthy")
    b = [x for x in parse_page(moved) if x.applicant == "MB-one"][0]
    assert a.comments[0].digest == b.comments[0].digest


# ---------------------------------------------------------------------------
# Scale: a busy page (300 applications, ~5,000 comments, ~1 MB)
# ---------------------------------------------------------------------------

def busy_page(apps: int = 300, per_app: int = 17) -> str:
    rnd = random.Random(7)
    words = "the applicant handles copyright questions with care and patience on commons".split()
    out = ["== How do I volunteer? ==\nRead the page.\n<pre>\n== ~~~ ==\n</pre>\n"]
    for a in range(apps):
        name = f"Applicant{a}"
        out.append(f"== {name} ==\n*'''Languages you can reply in:''' English\n"
                   f"*'''Queue(s) you would like access to:''' info-en\n"
                   f"*'''Why do you want to help?''' {' '.join(rnd.choices(words, k=30))} "
                   f"[[User:{name}|{name}]] ([[User talk:{name}|talk]]) 10:00, 1 May 2023 (UTC)\n")
        for c in range(per_app):
            voter = f"Voter{c}"
            mark = ("{{support}}", "{{o}}", "{{c}}")[c % 3]
            out.append(f"*{mark} {' '.join(rnd.choices(words, k=40))} <span style=\"color:#036\">"
                       f"[[User:{voter}|{voter}]]</span> ([[User talk:{voter}|talk]]) "
                       f"{c % 24:02d}:{c % 60:02d}, 2 May 2023 (UTC)\n")
    return "".join(out)


def test_busy_page_reads_every_application_and_comment():
    apps = parse_page(busy_page())
    assert (len(apps), sum(len(a.comments) for a in apps), apps[-1].support) == (
        300, 5100, [f"Voter{c}" for c in range(0, 17, 3)])


def test_busy_page_parses_in_reasonable_time():
    # ~0.2 s here; the bound only catches a return to seconds per revision
    text = busy_page()
    started = time.perf_counter()
    parse_page(text)
    assert time.perf_counter() - started < 2.5


def test_comment_is_a_frozen_value():
    with pytest.raises(AttributeError):
        app(SAMPLE, "MB-one").comments[0].kind = "oppose"  # type: ignore[misc]


def test_comment_type():
    assert all(isinstance(c, Comment) for a in page(TODAY) for c in a.comments)


# ---------------------------------------------------------------------------
# Markup inside markup: where the parser asks mwparserfromhell
# ---------------------------------------------------------------------------

NESTED = "nested-markup.wiki"


def test_nested_applicants_in_page_order():
    # the heading inside the HTML comment and the one inside <pre> are not sections
    assert [a.applicant for a in page(NESTED)] == ["Juniper", "Kingfisher", "Lark", "Marten"]


def test_unsigned_with_a_nested_date_template_names_its_user():
    # {{unsigned|Larkspur|{{date}}}}, {{unsigned2|{{date}}|Fenwick}}: the date is the wiki's, not readable
    a = app(NESTED, "Juniper")
    assert [(c.kind, c.signer, c.time) for c in a.comments[:2]] == [
        ("support", "Larkspur", None), ("oppose", "Fenwick", None)]


def test_unsigned_with_a_user_link_and_numbered_parameters():
    a = app(NESTED, "Juniper")
    assert [(c.kind, c.signer, c.time) for c in a.comments[2:]] == [
        ("neutral", "Tallgrass", utc(2023, 6, 1, 10, 45)), ("comment", "Oakmoss", utc(2023, 6, 1, 11, 0))]


def test_votes_signed_with_nested_unsigned_templates_count():
    a = app(NESTED, "Juniper")
    assert (a.support, a.oppose, a.neutral) == (["Larkspur"], ["Fenwick"], ["Tallgrass"])


def test_reply_to_with_a_numbered_parameter_is_a_question():
    q = app(NESTED, "Kingfisher").comments[0]
    assert (q.kind, q.signer, q.excerpt) == (
        "question", "Ferrous", "@Kingfisher Have you sent the e-mail with your age?")


def test_ping_with_a_named_parameter_shows_only_the_user():
    reply = app(NESTED, "Kingfisher").comments[1]
    assert (reply.kind, reply.depth, reply.excerpt) == ("reply", 2, "@Ferrous Yes, on Tuesday.")


def test_ping_of_several_users_including_the_applicant_is_a_question():
    q = app(NESTED, "Kingfisher").comments[2]
    assert (q.kind, q.excerpt) == ("question", "@Pell Mell, @Kingfisher Which queues besides info-nl?")


def test_ping_nested_in_a_formatting_template_is_a_question_and_shows():
    # {{small|{{ping|{{u|Kingfisher}}}} Could you ...?}}
    q = app(NESTED, "Kingfisher").comments[3]
    assert (q.kind, q.signer, q.excerpt) == (
        "question", "Pell Mell", "@Kingfisher Could you also help with permissions-nl?")


def test_questions_after_the_applicants_answer_stay_open():
    assert [q.signer for q in app(NESTED, "Kingfisher").open_questions()] == ["Ferrous", "Pell Mell"]


def test_vote_inside_a_formatting_template_and_nested_markup_in_the_excerpt():
    # {{color|green|{{support}}}} See [[w:nl:...|the Dutch help desk]] and {{tq|''patient'' answers to {{u|Oakmoss}}}}.
    c = app(NESTED, "Kingfisher").comments[4]
    assert (c.kind, c.signer, c.excerpt) == (
        "support", "Kestrel Iyer", "See the Dutch help desk and patient answers to Oakmoss.")


def test_strike_inside_a_strike_ends_at_its_own_closing_tag():
    # <s>{{oppose}} <s>Account too new,</s> not enough edits.</s> {{support}} ...
    c = app(NESTED, "Lark").comments[0]
    assert (c.kind, c.struck_vote, c.excerpt) == ("support", False, "The edit count was wrong.")


def test_strike_inside_a_struck_templates_parameter():
    # <s>{{oppose|reason=<s>vandalism</s> poor answers}} Answers too short.</s> {{support}} ...
    c = app(NESTED, "Lark").comments[1]
    assert (c.kind, c.struck_vote, c.excerpt) == ("support", False, "They were expanded.")


def test_struck_vote_with_nested_templates_is_a_struck_vote():
    # <del>{{support|{{u|Lark}} is fine}} {{ping|Ferrous}} agreed.</del> Taking this back for now.
    c = app(NESTED, "Lark").comments[2]
    assert (c.kind, c.signer, c.struck_vote, c.excerpt) == (
        "support", "Tallgrass", True, "Taking this back for now.")


def test_nested_strikes_count_the_votes_left_standing():
    a = app(NESTED, "Lark")
    assert (a.support, a.oppose) == (["Pell Mell", "Fenwick"], [])


def test_html_comment_across_lines_hides_votes_and_headings_inside_one_contribution():
    a = app(NESTED, "Marten")
    assert ([(c.kind, c.signer, c.excerpt) for c in a.comments][0], a.oppose) == (
        ("support", "Kestrel Iyer", "Yes really."), [])


def test_nowiki_in_a_sentence_shows_its_text_and_counts_for_nothing():
    c = app(NESTED, "Marten").comments[1]
    assert (c.kind, c.signer, c.time, c.excerpt) == (
        "comment", "Ferrous", utc(2023, 6, 4, 11, 30),
        "Please vote with {{support}}, not '''Support''', and sign with ~~~~, which shows as "
        "[[User:Example|Example]] 10:00, 1 May 2023 (UTC).")


def test_pre_block_is_neither_a_section_nor_a_vote():
    a = app(NESTED, "Marten")
    assert (len(a.comments), a.support) == (2, ["Kestrel Iyer"])


@pytest.mark.parametrize("body, expected", [
    ("*{{support}} Fine. {{unsigned|Pell Mell|{{date}}}}", ("support", "Pell Mell", None)),
    ("*{{support}} Fine. {{unsigned|user={{u|Pell Mell}}|date=10:05, 1 May 2023 (UTC)}}",
     ("support", "Pell Mell", utc(2023, 5, 1, 10, 5))),
    ("*{{ping|[[User:Quail|the applicant]]}} Did you send it? " + "[[User:Ferrous|Ferrous]] 10:06, 1 May 2023 (UTC)",
     ("question", "Ferrous", utc(2023, 5, 1, 10, 6))),
    ("*{{vote|support|{{u|Ferrous}}}} [[User:Ferrous|Ferrous]] 10:07, 1 May 2023 (UTC)",
     ("support", "Ferrous", utc(2023, 5, 1, 10, 7))),
])
def test_nested_templates_in_one_line(body, expected):
    text = f"== Quail ==\nHello. [[User:Quail|Quail]] 10:00, 1 May 2023 (UTC)\n{body}\n"
    c = parse_page(text)[0].comments[0]
    assert (c.kind, c.signer, c.time) == expected


@pytest.mark.parametrize("name", [SAMPLE, Y2009, Y2020, TODAY, VARIANTS, NESTED, "malformed.wiki"])
def test_regular_expression_fast_paths_read_as_mwparserfromhell_does(name, monkeypatch):
    # every template call, rendering and strike read through the tree instead
    text = (FIXTURES / name).read_text(encoding="utf-8", errors="surrogateescape")
    parser.section_cache_clear()
    fast = parse_page(text)
    monkeypatch.setattr(markup, "_ALWAYS_TREE", True)
    for cached in (markup.template_call, markup._tree):
        cached.cache_clear()
    parser.section_cache_clear()
    try:
        assert parse_page(text) == fast
    finally:
        markup.template_call.cache_clear()
        parser.section_cache_clear()


# ---------------------------------------------------------------------------
# The per-section cache
# ---------------------------------------------------------------------------

def add_vote(text: str, applicant: str, line: str) -> str:
    """*text* with *line* added at the end of *applicant*'s section."""
    start = text.index(f"== {applicant} ==")
    end = text.find("\n== ", start + 1)
    end = len(text) if end < 0 else end + 1
    return text[:end] + line + "\n" + text[end:]


@pytest.fixture
def fresh_cache():
    parser.section_cache_clear()
    yield
    parser.section_cache_clear()


def test_each_section_is_parsed_once(fresh_cache):
    text = busy_page(apps=20, per_app=3)
    parse_page(text)
    parse_page(text)
    info = parser.section_cache_info()
    assert (info.misses, info.hits, info.currsize) == (20, 20, 20)


def test_changing_one_section_reparses_only_that_section(fresh_cache):
    text = busy_page(apps=20, per_app=3)
    parse_page(text)
    changed = add_vote(text, "Applicant7", "*{{oppose}} Late. [[User:Late|Late]] 11:00, 3 May 2023 (UTC)")
    before = parser.section_cache_info()
    apps = parse_page(changed)
    after = parser.section_cache_info()
    assert (after.misses - before.misses, after.hits - before.hits, apps[7].oppose) == (
        1, 19, ["Voter1", "Late"])


def test_cached_results_equal_a_fresh_parse(fresh_cache):
    text = (FIXTURES / VARIANTS).read_text(encoding="utf-8")
    first = parse_page(text)
    changed = add_vote(text, "Ivy", "*{{oppose}} Late. [[User:Late|Late]] 11:00, 3 June 2023 (UTC)")
    warm = parse_page(changed)
    parser.section_cache_clear()
    assert (warm, parse_page(text)) == (parse_page(changed), first)


def test_a_section_keeps_its_anchor_context(fresh_cache):
    # the same section text below a new namesake heading gets the next anchor
    text = "== Kale ==\nHello. [[User:Kale|Kale]] 10:00, 1 May 2023 (UTC)\n"
    parse_page(text)
    assert [a.anchor for a in parse_page("== Kale ==\nAbout kale.\n" + text)] == ["Kale_2"]


def test_an_unclosed_comment_above_hides_a_cached_section(fresh_cache):
    text = ("== Kale ==\nHello. [[User:Kale|Kale]] 10:00, 1 May 2023 (UTC)\n"
            "== Quail ==\nHello. [[User:Quail|Quail]] 10:00, 1 May 2023 (UTC)\n"
            "*{{support}} [[User:Ferrous|Ferrous]] 10:05, 1 May 2023 (UTC)\n")
    parse_page(text)
    hidden = text.replace("== Quail ==", "<!-- == Quail ==")
    assert [(a.applicant, a.comments) for a in parse_page(hidden)] == [("Kale", [])]


def test_changing_a_returned_application_does_not_change_the_next_result(fresh_cache):
    text = (FIXTURES / SAMPLE).read_text(encoding="utf-8")
    a = parse_page(text)[0]
    expected = a.to_json()
    a.comments.clear()
    a.queues.append("spam")
    a.languages[:] = []
    a.fields["Email"] = "changed"
    a.status, a.applicant = "declined", "Someone else"
    b = parse_page(text)[0]
    assert (b.to_json(), "Email" in b.fields, parser.section_cache_info().hits) == (expected, False, 5)


def test_each_call_returns_new_objects(fresh_cache):
    text = (FIXTURES / SAMPLE).read_text(encoding="utf-8")
    first, second = parse_page(text), parse_page(text)
    assert all(x == y and x is not y and x.comments is not y.comments and x.fields is not y.fields
               for x, y in zip(first, second))


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(parser, "_SECTIONS", parser._SectionCache(maxsize=5))
    text = busy_page(apps=12, per_app=1)
    parse_page(text)
    apps = parse_page(text)
    info = parser.section_cache_info()
    assert (len(apps), info.currsize, info.maxsize, info.misses) == (12, 5, 5, 24)


def test_the_cache_is_bounded_by_characters(monkeypatch):
    monkeypatch.setattr(parser, "_SECTIONS", parser._SectionCache(maxsize=100, maxchars=2000))
    parse_page(busy_page(apps=12, per_app=3))
    assert 0 < parser.section_cache_info().currsize < 12


def test_parsing_from_several_threads_gives_the_same_results(fresh_cache):
    texts = [busy_page(apps=30, per_app=2)] + [
        add_vote(busy_page(apps=30, per_app=2), f"Applicant{i}",
                 f"*{{{{support}}}} [[User:T{i}|T{i}]] 11:00, 3 May 2023 (UTC)") for i in range(5)]
    expected = [parse_page(t) for t in texts]
    parser.section_cache_clear()
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(parse_page, texts * 4))
    assert results == expected * 4


# ---------------------------------------------------------------------------
# The linear scans read what the regular expressions they replace read
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("wikitext, shown", [
    ("see [http://example.org the site] now", "see the site now"),
    ("[https://a.org/x?y=1 A [[b|B]] link]", "A B link"),
    ("bare [//example.org] link", "bare  link"),
    ("[http://open [http://also-open", "[http://open [http://also-open"),
    ("[[User:A|A]] and [[:File:B.jpg]]", "A and File:B.jpg"),
])
def test_external_links_render_as_their_title(wikitext, shown):
    assert markup.render(wikitext) == shown


@pytest.mark.parametrize("inner", [
    "ping|{{u|A}}|[[User:B|B]]",
    "unsigned|[[User:X|X]]|date={{date|a=b}}",
    "reply to|1={{u|A}}|p=.",
    "small|{{ping|A}} x=y",
    "color|green|[[File:Symbol support vote.svg|15px|link=]] '''Support'''",
    "a|[[b|{{c|d=e}}]]|f={{g|h}}|{{i}}=j",
])
def test_nested_template_calls_split_as_mwparserfromhell_does(inner, monkeypatch):
    flat = markup.template_call.__wrapped__(inner)
    monkeypatch.setattr(markup, "_ALWAYS_TREE", True)
    assert flat == markup.template_call.__wrapped__(inner)


@pytest.mark.parametrize("line, field", [
    ("*'''Languages you can reply in:''' English, Bengali", ("Languages you can reply in:", "", "English, Bengali")),
    ("*'''Queue(s)''': info-en", ("Queue(s)", ":", "info-en")),
    ("*'''Why don't you help?'''  Because.", ("Why don't you help?", "", "Because.")),
    ("*'''Support'''", ("Support", "", "")),
    ("*'''unclosed label", None),
    ("plain text", None),
])
def test_field_lines(line, field):
    m = parser._field_match(line)
    assert (tuple(m) if m else None) == field


def test_many_identical_headings_are_numbered_in_order():
    page = "== Same ==\nx\n" * 300
    assert parser._anchors(["Same"] * 300)[-3:] == ["Same_298", "Same_299", "Same_300"]
    assert parse_page(page) == []

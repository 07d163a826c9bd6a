"""How events read in the channel, and the names and text that go into them.

DESIGN.md, "Events and how they read in IRC": one line per event, at most
one IRC message, the link to the section or the diff kept when the text is
cut, names that do not ping, nothing from the wiki that could act as IRC
formatting or a second command, and a summary per application when more
events than the burst size come at once.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

import pytest

from OTRSHelp.announce import DEFAULT_FORMATS, MAX_BYTES, Links, format_event, lines_for, summarize
from OTRSHelp.names import ZWSP, irc_safe, is_ip, no_ping, normalize_username, username_key
from OTRSHelp.model import Event, detail_from_json

META_API = "https://meta.wikimedia.org/w/api.php"
PAGE = "Volunteer Response Team/Volunteering"
META = Links.from_api(META_API, PAGE)
SECTION = "https://meta.wikimedia.org/wiki/Volunteer_Response_Team/Volunteering#"
DIFF = "https://meta.wikimedia.org/w/index.php?diff="
T = datetime(2020, 1, 22, 14, 53, tzinfo=timezone.utc)

# Everything IRC or a terminal would act on: CR/LF (a second command), NUL,
# CTCP, bold, colour, hex colour, reset, reverse, italic, strike, underline,
# monospace, DEL, a C1 control, and the bidi controls that reorder what
# people read.
HOSTILE = ("\r\n\x00\x01\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f\x7f\x85\x9b"
           "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff")


def ev(kind: str, applicant: str = "MB-one", actor: str | None = "ExampleSupporter", *,
       revid: int | None = 1234567, anchor: str | None = None, id: int | None = None, **detail) -> Event:
    return Event(kind=kind, applicant=applicant, actor=actor, time=T, revid=revid,
                 anchor=applicant if anchor is None else anchor, detail=detail_from_json(kind, detail), id=id)


def nbytes(line: str) -> int:
    return len(line.encode("utf-8"))


def assert_clean(line: str) -> None:
    """One plain IRC line: no control, formatting or bidi character; the
    only invisible character allowed is the de-pinging zero-width space."""
    assert isinstance(line, str) and line
    for c in line:
        assert c not in HOSTILE, f"{c!r} survived in {line!r}"
        cat = unicodedata.category(c)
        assert cat != "Cc", f"control {c!r} in {line!r}"
        assert cat not in ("Zl", "Zp"), f"line separator {c!r} in {line!r}"
        if cat == "Cf":
            assert c == ZWSP, f"format character {c!r} in {line!r}"
    assert line == line.strip()
    assert nbytes(line) <= MAX_BYTES


# ---------------------------------------------------------------------------
# one line per event
# ---------------------------------------------------------------------------

def test_opened() -> None:
    e = ev("opened", "Masumrezarock100", "Masumrezarock100",
           queues=["permissions-commons", "photosubmission"], languages=["English", "Bengali"],
           excerpt="I have been contributing to Commons for a while now.")
    line = format_event(e, META)
    assert_clean(line)
    assert line.startswith("New VRT application by M\u200basumrezarock100 ")
    assert "permissions-commons, photosubmission" in line and "English, Bengali" in line
    assert "I have been contributing to Commons for a while now." in line
    assert "Masumrezarock100" not in line.replace(SECTION + "Masumrezarock100", "")
    assert line.endswith(" " + SECTION + "Masumrezarock100")


def test_opened_without_queues_or_languages_says_so() -> None:
    line = format_event(ev("opened", "Stonechat", "Stonechat", excerpt="Hello"), META)
    assert_clean(line)
    assert "no queue given" in line and "languages not given" in line


@pytest.mark.parametrize("vote,verb", [("support", "supports"), ("oppose", "opposes"),
                                       ("neutral", "is neutral on")])
def test_votes(vote: str, verb: str) -> None:
    e = ev("vote", "MB-one", "ExampleSupporter", vote=vote, excerpt="Trustworthy and experienced.")
    line = format_event(e, META)
    assert_clean(line)
    assert line.startswith(f"E\u200bxampleSupporter {verb} the application of M\u200bB-one")
    assert "Trustworthy and experienced." in line
    assert "ExampleSupporter" not in line and "MB-one" not in line  # nobody is pinged
    assert line.endswith(" " + DIFF + "1234567")


@pytest.mark.parametrize("kind,actor,words", [
    ("comment", "NatAlsace", "N\u200batAlsace commented on M\u200bB-one's application"),
    ("question", "AntiCompositeNumber", "A\u200bntiCompositeNumber asked M\u200bB-one a question"),
    ("reply", "MB-one", "M\u200bB-one replied on their application"),
])
def test_comment_question_reply(kind: str, actor: str, words: str) -> None:
    line = format_event(ev(kind, "MB-one", actor, excerpt="About 3\u20134 hours."), META)
    assert_clean(line)
    assert line.startswith(words)
    assert "About 3\u20134 hours." in line
    assert actor not in line and "MB-one" not in line
    assert line.endswith(" " + DIFF + "1234567")


@pytest.mark.parametrize("status,words", [("approved", "approved"), ("declined", "declined"),
                                          ("on hold", "on hold"), ("withdrawn", "withdrawn"),
                                          ("open", "open again")])
def test_status(status: str, words: str) -> None:
    e = ev("status", "LakesideMiners", "ExampleAdmin", status=status, previous="approved")
    line = format_event(e, META)
    assert_clean(line)
    assert line == (f"L\u200bakesideMiners's application is now {words} (by E\u200bxampleAdmin) "
                    f"{SECTION}LakesideMiners")


def test_archived() -> None:
    line = format_event(ev("archived", "Hispano76", "ArchiveBot", revid=555, status="withdrawn"), META)
    assert_clean(line)
    assert "H\u200bispano76" in line and "withdrawn" in line and "archived" in line
    assert "A\u200brchiveBot" in line
    assert line.endswith(" " + DIFF + "555")


def test_an_unsigned_comment_has_someone_as_actor() -> None:
    line = format_event(ev("comment", "MB-one", None, excerpt="Nice."), META)
    assert_clean(line)
    assert line.startswith("s\u200bomeone commented")


def test_every_kind_has_a_default_format() -> None:
    assert set(DEFAULT_FORMATS) == {"opened", "vote", "comment", "question", "reply", "status", "archived"}
    for fmt in DEFAULT_FORMATS.values():
        assert "$link" in fmt and "$applicant" in fmt


# ---------------------------------------------------------------------------
# text from the wiki is hostile
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["opened", "vote", "comment", "question", "reply", "status", "archived"])
def test_hostile_text_does_not_survive(kind: str) -> None:
    evil = "Ev" + HOSTILE + "il\r\nPRIVMSG NickServ :DROP\r\n\x01ACTION waves\x01 \x034,5red\x03 \x02bold\x0f"
    e = ev(kind, "Mallory" + HOSTILE, "Trick\r\nQUIT :bye" + HOSTILE,
           vote="support", status="approved" + HOSTILE, previous="open",
           queues=["info-en" + HOSTILE, "\x03" + "4info-de"], languages=["Eng\u202elish"],
           excerpt=evil)
    line = format_event(e, META)
    assert_clean(line)
    assert "\r" not in line and "\n" not in line


def test_hostile_text_in_a_summary_does_not_survive() -> None:
    events = [ev("vote", "Mal\r\nQUIT\x01" + HOSTILE, "x" + HOSTILE, vote="support", id=i) for i in range(8)]
    for line, _ in lines_for(events, META, burst=5):
        assert_clean(line)


def test_wiki_text_cannot_inject_placeholders() -> None:
    e = ev("comment", "MB-one", "V", excerpt="see $link and ${applicant} and $$ and $")
    line = format_event(e, META)
    assert "see $link and ${applicant} and $$ and $" in line
    assert line.count("https://") == 1


def test_a_long_excerpt_is_cut_and_the_link_kept_whole() -> None:
    text = "I would like to help with the queues. " * 150  # ~5,700 characters
    assert len(text) > 5000
    line = format_event(ev("comment", "MB-one", "Vermont", revid=987654321, excerpt=text), META)
    assert_clean(line)
    assert line.endswith(" " + DIFF + "987654321")
    assert "\u2026" in line
    body = line[: -len(DIFF + "987654321")]
    assert len(body) > 200, "the cut keeps as much text as fits"
    assert nbytes(line) >= MAX_BYTES - 8  # cut to the limit, not far below it


def test_a_long_opened_statement_keeps_the_section_link() -> None:
    line = format_event(ev("opened", "MB-one", "MB-one", queues=["info-de"], languages=["German"],
                           excerpt="x" * 5000), META)
    assert_clean(line)
    assert line.endswith(" " + SECTION + "MB-one")
    assert "\u2026" in line


@pytest.mark.parametrize("excerpt", [
    "\U0001f600" * 3000,                      # 4-byte emoji
    "\u6f22\u5b57\u304b\u306a\u4ea4\u3058\u308a" * 1000,  # CJK, 3 bytes each
    "\u00e9" * 3000,                           # 2 bytes each
    "a\u0301" * 3000,                          # combining marks
    "\U0001f469\u200d\U0001f4bb" * 800,        # ZWJ sequences
])
@pytest.mark.parametrize("kind", ["opened", "vote", "comment", "question", "reply"])
def test_multibyte_text_stays_within_one_message(kind: str, excerpt: str) -> None:
    e = ev(kind, "MB-one", "\U0001f600" * 40 + "\u9ad8\u6a4b" * 20, vote="oppose",
           queues=["\u6f22" * 100], languages=["\U0001f600" * 100], excerpt=excerpt)
    line = format_event(e, META)
    assert nbytes(line) <= MAX_BYTES
    assert "\ufffd" not in line  # no character cut in half
    line.encode("utf-8", "strict")
    link = SECTION + "MB-one" if kind == "opened" else DIFF + "1234567"
    assert line.endswith(" " + link)


@pytest.mark.parametrize("kind", ["opened", "vote", "comment", "question", "reply", "status", "archived"])
def test_long_names_stay_within_one_message(kind: str) -> None:
    applicant = "Averyveryverylongusername" * 3  # 75 characters, a legal username
    actor = "\U0001f600\u00e9" * 120 + "X" * 300
    e = ev(kind, applicant, actor, vote="support", status="approved", excerpt="\U0001f600" * 500,
           queues=["q" * 400], languages=["l" * 400])
    line = format_event(e, META)
    assert_clean(line)
    link = SECTION + applicant if kind in ("opened", "status") else DIFF + "1234567"
    assert line.endswith(" " + link)
    assert "\ufffd" not in line


@pytest.mark.parametrize("kind", ["opened", "status", "summary"])
def test_long_non_latin_applicant_names_stay_within_one_message(kind: str) -> None:
    applicant = "\u7ef4\u57fa\u767e\u79d1\u5fd7\u613f\u8005" * 6  # 42 CJK characters, 126 bytes (< 255)
    if kind == "summary":
        events = [ev("vote", applicant, f"U{i}", vote="support", id=i) for i in range(8)]
        [(line, _)] = lines_for(events, META, burst=5)
    else:
        line = format_event(ev(kind, applicant, "ExampleAdmin", status="approved",
                               excerpt="\u6211\u60f3\u5e2e\u5fd9" * 50), META)
    assert nbytes(line) <= MAX_BYTES
    assert line.split()[-1].startswith("https://meta.wikimedia.org/")
    assert applicant[0] + ZWSP in line, "the line still says whose application it is"


# ---------------------------------------------------------------------------
# formats from the registry
# ---------------------------------------------------------------------------

def test_custom_formats_use_template_placeholders() -> None:
    formats = {
        "vote": "[$kind] ${actor} -> $vote -> $applicant | $excerpt | $link",
        "status": "$applicant: $previous => $status by $actor <$link>",
        "opened": "new: $applicant / $queues / $languages $link",
    }
    line = format_event(ev("vote", "MB-one", "Vermont", vote="neutral", excerpt="Hmm."), META, formats)
    assert line == f"[vote] V\u200bermont -> is neutral on -> M\u200bB-one | Hmm. | {DIFF}1234567"
    line = format_event(ev("status", "MB-one", "ExampleAdmin", status="declined", previous="open"),
                        META, formats)
    assert line == f"M\u200bB-one: open again => declined by E\u200bxampleAdmin <{SECTION}MB-one>"
    line = format_event(ev("opened", "MB-one", "MB-one", queues=["info-de", "permissions-de"],
                           languages=["German"]), META, formats)
    assert line == f"new: M\u200bB-one / info-de, permissions-de / German {SECTION}MB-one"
    # kinds the registry leaves out use the defaults
    line = format_event(ev("comment", "MB-one", "Vermont", excerpt="ok"), META, formats)
    assert line.startswith("V\u200bermont commented on M\u200bB-one's application")


def test_unknown_placeholders_are_left_alone() -> None:
    line = format_event(ev("comment", excerpt="x"), META, {"comment": "$actor $nosuch $applicant $link"})
    assert "$nosuch" in line
    assert_clean(line)


def test_a_format_without_excerpt_still_keeps_the_link() -> None:
    formats = {"vote": "$actor $vote $applicant $link"}
    e = ev("vote", "MB-one", "Operator873" * 60, vote="support", excerpt="y" * 5000)
    line = format_event(e, META, formats)
    assert_clean(line)
    assert line.endswith(" " + DIFF + "1234567")
    assert "y" * 10 not in line
    assert line.startswith("O\u200bperator873")


def test_a_custom_format_around_the_link_survives_the_cut() -> None:
    formats = {"comment": "$actor: $excerpt ($link)"}
    line = format_event(ev("comment", "MB-one", "Vermont", excerpt="z" * 5000), META, formats)
    assert nbytes(line) <= MAX_BYTES
    assert line.endswith(f"({DIFF}1234567)")


# ---------------------------------------------------------------------------
# bursts
# ---------------------------------------------------------------------------

def catch_up() -> list[Event]:
    """What a bot that was down for a day finds: 11 events on 3 applications."""
    return [
        ev("opened", "Zeelandia", "Zeelandia", queues=["info-nl"], id=1),
        ev("vote", "LakesideMiners", "Vermont", vote="support", id=2),
        ev("vote", "LakesideMiners", "Operator873", vote="support", id=3),
        ev("vote", "LakesideMiners", "ExampleOpposer", vote="oppose", id=4),
        ev("question", "LakesideMiners", "AntiCompositeNumber", id=5),
        ev("question", "LakesideMiners", "Vermont", id=6),
        ev("reply", "LakesideMiners", "LakesideMiners", id=7),
        ev("status", "LakesideMiners", "ExampleAdmin", status="on hold", previous="open", id=8),
        ev("vote", "Zeelandia", "Vermont", vote="neutral", id=9),
        ev("status", "Hispano76", "Hispano76", status="withdrawn", previous="open", id=10),
        ev("archived", "Hispano76", "ArchiveBot", revid=777, status="withdrawn", id=11),
    ]


def test_more_events_than_burst_become_one_line_per_application() -> None:
    out = lines_for(catch_up(), META, burst=5)
    assert len(out) == 3
    (zee, zee_ids), (lake, lake_ids), (hisp, hisp_ids) = out
    for line in (zee, lake, hisp):
        assert_clean(line)

    assert lake.startswith("L\u200bakesideMiners: ")
    assert "3 votes (2 support, 1 oppose)" in lake
    assert "2 questions" in lake and "1 reply" in lake
    assert "on hold" in lake
    assert lake_ids == [2, 3, 4, 5, 6, 7, 8]
    assert lake.endswith(" " + SECTION + "LakesideMiners")

    assert zee.startswith("Z\u200beelandia: ")
    assert "new application" in zee and "1 vote (1 neutral)" in zee
    assert zee_ids == [1, 9]

    assert hisp.startswith("H\u200bispano76: ")
    assert "withdrawn" in hisp and "archived" in hisp
    assert hisp_ids == [10, 11]
    assert hisp.endswith(" " + DIFF + "777")

    covered = sorted(i for _, ids in out for i in ids)
    assert covered == list(range(1, 12)), "every event is covered exactly once"


def test_a_summary_names_nobody_but_the_applicant() -> None:
    [(line, _)] = lines_for([ev("vote", "MB-one", f"Voter{i}", vote="support", id=i) for i in range(7)],
                            META, burst=3)
    assert "Voter" not in line
    assert "7 votes (7 support)" in line


def test_at_or_under_burst_every_event_has_its_own_line() -> None:
    events = catch_up()[:5]
    for burst in (5, 6, 50):
        out = lines_for(events, META, burst=burst)
        assert [ids for _, ids in out] == [[1], [2], [3], [4], [5]]
        assert [line for line, _ in out] == [format_event(e, META) for e in events]
    out = lines_for(events, META, burst=4)
    assert len(out) == 2  # now a summary per application


def test_events_without_ids_are_still_announced() -> None:
    events = [ev("comment", excerpt="a"), ev("comment", excerpt="b", id=7)]
    out = lines_for(events, META, burst=5)
    assert [ids for _, ids in out] == [[], [7]]
    out = lines_for(events, META, burst=1)
    assert len(out) == 1 and out[0][1] == [7]


def test_summaries_use_custom_formats_only_per_event() -> None:
    formats = {k: "X $applicant $link" for k in DEFAULT_FORMATS}
    out = lines_for(catch_up(), META, formats, burst=5)
    assert not any(line.startswith("X ") for line, _ in out)
    out = lines_for(catch_up()[:2], META, formats, burst=5)
    assert all(line.startswith("X ") for line, _ in out)


def test_summarize_stays_within_one_message() -> None:
    events = [ev("comment", "Averyveryverylongusername" * 3, "x", id=i) for i in range(40)]
    events += [ev("vote", "Averyveryverylongusername" * 3, "x", vote=v, id=100 + i)
               for i, v in enumerate(["support", "oppose", "neutral"] * 30)]
    for line in summarize(events, META):
        assert_clean(line)
        assert line.endswith(SECTION + "Averyveryverylongusername" * 3)


# ---------------------------------------------------------------------------
# links
# ---------------------------------------------------------------------------

def test_links_on_meta() -> None:
    links = Links.from_api(META_API, "OTRS/Volunteering")
    assert links.section("MB-one") == "https://meta.wikimedia.org/wiki/OTRS/Volunteering#MB-one"
    assert links.diff(22553311) == "https://meta.wikimedia.org/w/index.php?diff=22553311"
    assert META.section("Blue Heron") == SECTION + "Blue_Heron"
    assert META.section("") == "https://meta.wikimedia.org/wiki/Volunteer_Response_Team/Volunteering"
    assert META.diff(None) == META.section("")


def test_links_on_a_plain_mediawiki() -> None:
    links = Links.from_api("http://127.0.0.1:8080/api.php", "OTRS/Volunteering")
    assert links.section("MB-one") == "http://127.0.0.1:8080/index.php?title=OTRS/Volunteering#MB-one"
    assert links.diff(5) == "http://127.0.0.1:8080/index.php?diff=5"
    links = Links.from_api("http://127.0.0.1:8080/api.php", "Volunteer Response Team/Q&A?")
    assert links.section("A b") == \
        "http://127.0.0.1:8080/index.php?title=Volunteer_Response_Team/Q%26A%3F#A_b"


@pytest.mark.parametrize("anchor,fragment", [
    ("Blue Heron", "Blue_Heron"),
    ("H\u00e9risson", "H%C3%A9risson"),
    ("\u7ef4\u57fa", "%E7%BB%B4%E5%9F%BA"),
    ("100% sure", "100%25_sure"),
    ("a\"b<c>", "a%22b%3Cc%3E"),
    ("Heron's Bill", "Heron's_Bill"),
])
def test_anchors_are_encoded(anchor: str, fragment: str) -> None:
    url = META.section(anchor)
    assert url == SECTION + fragment
    assert all(33 <= ord(c) < 127 for c in url), url  # one clickable token


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw,canonical", [
    ("Example_user", "Example user"),
    ("example user", "Example user"),
    ("User:Example_user", "Example user"),
    ("user:example", "Example"),
    ("USER: example", "Example"),
    ("  Example \u00a0  user  ", "Example user"),
    ("\u00e9ric", "\u00c9ric"),
    ("e\u0301ric", "\u00c9ric"),  # NFC first
    ("MB-one", "MB-one"),
    ("mB-one", "MB-one"),
    ("2001:db8::7", "2001:DB8:0:0:0:0:0:7"),  # as MediaWiki writes IPv6 users
    ("2001:db8:85a3::8a2e:370:7334", "2001:DB8:85A3:0:0:8A2E:370:7334"),
    ("203.0.113.50", "203.0.113.50"),
    ("", ""),
    ("User:", ""),
])
def test_normalize_username(raw: str, canonical: str) -> None:
    assert normalize_username(raw) == canonical


def test_is_ip_and_username_key() -> None:
    assert is_ip("2001:DB8::7") and is_ip("203.0.113.50")
    assert not is_ip("MB-one") and not is_ip("Cafe:Bar")
    assert username_key("user:example_User") == username_key("Example User")
    assert normalize_username("2001:db8::7") == normalize_username("2001:DB8::7")


def test_no_ping() -> None:
    assert no_ping("Vermont") == "V\u200bermont"
    assert no_ping("MB-one") == "M\u200bB-one"
    assert no_ping("\u00c9ric") == "\u00c9\u200bric"
    assert no_ping("X") == "X"
    assert no_ping("") == ""
    assert no_ping("Ev\r\nil") == "E\u200bv il"
    assert no_ping("\x02\x02Bold") == "B\u200bold"  # the zero-width space lands after a visible letter


def test_irc_safe() -> None:
    assert irc_safe("a\r\nb") == "a b"
    assert irc_safe("  many   spaces\tand\ttabs  ") == "many spaces and tabs"
    assert irc_safe("\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x0freset") == \
        "bold italic under rev reset"
    assert irc_safe("\x01ACTION hi\x01") == "ACTION hi"
    assert irc_safe("a\x00b") == "a b"
    assert irc_safe("abc\u202edef\u2066g\u2069") == "abc def g"
    assert irc_safe("line\u2028separator\u2029para\x85nel") == "line separator para nel"
    assert irc_safe(None) == ""  # type: ignore[arg-type]
    assert irc_safe("abcdefghij", 5) == "abcd\u2026"
    assert irc_safe("abc", 5) == "abc"
    assert irc_safe("\u00e9t\u00e9 \u6f22\u5b57 \U0001f600") == "\u00e9t\u00e9 \u6f22\u5b57 \U0001f600"
    for c in HOSTILE:
        assert c not in irc_safe(f"x{c}y")


# a bounded channel
def test_one_edit_adding_three_hundred_applications_is_a_few_lines() -> None:
    events = [ev("opened", f"Applicant {i}", f"Applicant {i}", id=i, revid=77) for i in range(300)]
    events = [Event(**{**e.__dict__, "actor": "Mass Adder"}) for e in events]
    out = lines_for(events, META, burst=6)
    assert len(out) == 6
    covered = [i for _line, ids in out for i in ids]
    assert sorted(covered) == list(range(300)), "every event is covered exactly once"
    last = out[-1][0]
    assert "295 more applications: 295 new applications, in one edit by M\u200bass Adder" in last
    assert last.endswith("diff=77")
    assert all(len(line.encode()) <= MAX_BYTES for line, _ in out)


def test_a_long_catch_up_of_many_editors_points_at_the_history() -> None:
    events = []
    for i in range(40):
        events.append(ev("opened", f"App {i}", f"App {i}", id=2 * i, revid=100 + i))
        events.append(ev("vote", f"App {i}", f"Voter {i}", vote="support", id=2 * i + 1, revid=200 + i))
    out = lines_for(events, META, burst=5)
    assert len(out) == 5
    assert "36 more applications: 36 new applications, 36 votes" in out[-1][0]
    assert "action=history" in out[-1][0]
    assert sorted(i for _l, ids in out for i in ids) == list(range(80))


# ---------------------------------------------------------------------------
# excerpts name nobody: the words people addressed do not highlight them
# ---------------------------------------------------------------------------

def pings(line: str, nick: str) -> bool:
    """Whether an IRC client of *nick* would highlight *line*: the nick as a
    whole word, in any case (what common clients match)."""
    import re

    return re.search(r"(?<![\w\-\[\]\\`^{}|])" + re.escape(nick) + r"(?![\w\-\[\]\\`^{}|])",
                     line, re.IGNORECASE) is not None


@pytest.mark.parametrize("kind, excerpt, nick", [
    # the seed's own words: a ping rendered from {{re|...}}
    ("question", "@Masumrezarock100: Please explain how you would review the following tickets.",
     "Masumrezarock100"),
    ("comment", "@ Masumrezarock100 Your responses are good and well thought out.", "Masumrezarock100"),
    # "Masum Reza: FYI" -- the display name, whose words may be a nick
    ("comment", "Masum Reza: FYI, we actually don't have much of a backlog.", "Masum"),
    ("comment", "Masum Reza: FYI, we actually don't have much of a backlog.", "Reza"),
    ("comment", "GMG, thanks for the answer.", "GMG"),
    # [[User:X]] without link text renders as "User:X"
    ("reply", "As User:Vermont said, I sent the email.", "Vermont"),
    # several pings from one {{ping|A|B}}
    ("question", "@Asker, @GreenMeansGo which queue do you mean?", "GreenMeansGo"),
])
def test_addressed_names_in_an_excerpt_do_not_ping(kind: str, excerpt: str, nick: str) -> None:
    line = format_event(ev(kind, "Masumrezarock100", "AntiCompositeNumber", excerpt=excerpt), META)
    assert_clean(line)
    assert not pings(line, nick), line
    assert excerpt.split()[-1] in line  # the words themselves are kept


def test_names_of_people_in_the_channel_do_not_ping() -> None:
    e = ev("comment", "MB-one", "Vermont",
           excerpt="I agree with operator873 and Lakeside here; the bot said so too.")
    nicks = ["Operator873", "Lakeside", "OTRSHelp", "x"]
    line = format_event(e, META, nicks=nicks)
    assert_clean(line)
    assert not any(pings(line, n) for n in ("Operator873", "Lakeside", "OTRSHelp"))
    assert pings(format_event(e, META), "Operator873")  # without the channel's nicks it would


def test_the_applicant_and_actor_named_in_an_excerpt_do_not_ping() -> None:
    e = ev("vote", "Masumrezarock100", "GreenMeansGo", vote="support",
           excerpt="I've worked with Masumrezarock100 on multiple projects; masumrezarock100 is careful.")
    line = format_event(e, META)
    assert not pings(line, "Masumrezarock100")


def test_lines_for_passes_the_channels_nicks_to_every_line() -> None:
    events = [ev("comment", "MB-one", "Vermont", id=1, excerpt="Thanks, Lakeside."),
              ev("comment", "MB-one", "Vermont", id=2, excerpt="lakeside agrees")]
    lines = lines_for(events, META, nicks=["Lakeside"])
    assert len(lines) == 2 and not any(pings(line, "Lakeside") for line, _ in lines)


def test_de_pinging_keeps_an_excerpt_within_one_message() -> None:
    nicks = [f"nick{i}" for i in range(300)]
    excerpt = " ".join(f"nick{i}" for i in range(300))
    line = format_event(ev("comment", excerpt=excerpt), META, nicks=nicks)
    assert_clean(line)
    assert not any(pings(line, n) for n in nicks[:40])

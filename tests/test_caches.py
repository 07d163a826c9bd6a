"""Every cache in the bot has a bound, and stays within it when driven past it.

A bot meant to run for months as a Toolforge job with a memory limit must
not keep one more thing per edit, per applicant or per person in the
channel. Each test below feeds a cache more distinct keys than its bound
and checks that (1) it holds no more than the bound and (2) what it
answers is still right, for keys kept and for keys it had to drop.

The parser's section cache is bounded and tested in test_parser.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _p in (str(HERE), str(HERE.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from OTRSHelp import markup, signatures  # noqa: E402
from OTRSHelp.listener import ChannelMemory  # noqa: E402
from OTRSHelp.profile import ProfileCache  # noqa: E402
from OTRSHelp.textcache import text_lru  # noqa: E402
from OTRSHelp.wikiclient import WikiClient  # noqa: E402
from test_wikiclient import FakeWiki, Reply, Sleeps, recorded  # noqa: E402


# ------------------------------------------------------------ text_lru itself

def counting(maxsize: int, maxchars: int):
    calls: list[str] = []

    @text_lru(maxsize=maxsize, maxchars=maxchars)
    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    return upper, calls


def test_text_lru_keeps_the_most_recently_used_entries():
    upper, calls = counting(3, 1000)
    for t in ("a", "b", "c"):
        upper(t)
    upper("a")  # used again: now the newest
    upper("d")  # one too many: "b" goes, the least recently used
    assert upper.cache_info().currsize == 3
    calls.clear()
    assert [upper(t) for t in ("a", "c", "d", "b")] == ["A", "C", "D", "B"]
    assert calls == ["b"]


def test_text_lru_bounds_characters_and_does_not_keep_a_giant():
    upper, calls = counting(100, 10)
    for t in ("aaaa", "bbbb", "cccc"):  # 12 characters: the oldest goes
        upper(t)
    info = upper.cache_info()
    assert (info.currsize, info.chars) == (2, 8)
    giant = "x" * 11
    assert upper(giant) == giant.upper() and upper(giant) == giant.upper()
    assert calls.count(giant) == 2  # computed each time, never kept
    assert upper.cache_info().chars == 8  # and it pushed nothing out
    calls.clear()
    upper("bbbb"), upper("cccc")
    assert calls == []


# ------------------------------------------------- the bot's caches past bound

@pytest.fixture
def clean_markup_caches():
    for cached in (markup._tree, markup.template_call, signatures.user_from_link_target):
        cached.cache_clear()
    yield
    for cached in (markup._tree, markup.template_call, signatures.user_from_link_target):
        cached.cache_clear()


def test_parse_tree_cache_past_its_bound(clean_markup_caches):
    # quotes around a removed template are paired by mwparserfromhell's tree
    texts = [f"''voter {i}''{{{{x}}}}''yes''" for i in range(600)]
    first = [markup.render(t) for t in texts]
    info = markup._tree.cache_info()
    assert info.maxsize == 512 and info.currsize == 512 and info.chars <= info.maxchars
    assert first[0] == "voter 0yes" and first[599] == "voter 599yes"
    assert [markup.render(t) for t in texts[:5]] == first[:5]  # dropped, read again, same


def test_parse_tree_cache_does_not_keep_a_vandals_megabyte(clean_markup_caches):
    huge = "{{small|" + "{{ping|Vandal}} " * 8_000 + "}}"  # 128,000 characters
    assert str(markup._tree(huge)) == huge
    info = markup._tree.cache_info()
    assert info.chars <= 100_000 and info.currsize == 0


def test_template_call_cache_past_its_bound(clean_markup_caches):
    for i in range(5000):
        assert markup.calls(f"{{{{ping|Alice {i}|Bob}}}}")[0].args == (f"Alice {i}", "Bob")
    info = markup.template_call.cache_info()
    assert info.maxsize == 4096 and info.currsize == 4096 and info.chars <= info.maxchars
    assert markup.calls("{{ping|Alice 0|Bob}}")[0].args == ("Alice 0", "Bob")


def test_user_link_cache_past_its_bound(clean_markup_caches):
    for i in range(9000):
        assert signatures.linked_user(f"[[User:Voter {i}|V]]") == f"Voter {i}"
    info = signatures.user_from_link_target.cache_info()
    assert info.maxsize == 8192 and info.currsize == 8192 and info.chars <= info.maxchars
    assert signatures.linked_user("[[User talk:Voter 0|talk]]") == "Voter 0"


def test_profile_cache_past_its_default_bound():
    fake = FakeWiki(route=lambda params: Reply(recorded("profile_missing.json")))
    try:
        client = WikiClient(fake.api_url, contact="tests@example.org", sleep=Sleeps(), max_retries=1)
        cache = ProfileCache(client, ttl=600)
        names = [f"Applicant {i}" for i in range(1010)]
        for name in names:
            cache.get(name)
        assert len(fake.requests) == 1010
        assert len(cache._entries) <= cache.max_entries == 1000
        cache.get(names[-1])  # the latest is still cached: no request
        assert len(fake.requests) == 1010
        cache.get(names[0])  # the oldest was dropped: asked again
        assert len(fake.requests) == 1011
    finally:
        fake.close()


def test_answer_cooldowns_past_their_bound():
    memory = ChannelMemory()
    for i in range(5001):
        assert memory.claim_answer("libera", "#vrt", f"asker{i}", "apply", "en", now=float(i), cooldown=900)
    assert len(memory._answered) <= 5000
    # the most recent askers still get no repeat within the cooldown ...
    assert not memory.claim_answer("libera", "#vrt", "asker5000", "apply", "en", now=5001.0, cooldown=900)
    # ... and the oldest, forgotten, are answered again (as they would be after the cooldown)
    assert memory.claim_answer("libera", "#vrt", "asker0", "apply", "en", now=5001.0, cooldown=900)


def test_section_cache_keeps_only_the_last_two_pages():
    """The page is read revision after revision: the sections of older
    revisions are dropped, however many revisions go by."""
    from OTRSHelp import parser
    from pagebuilder import App, Page, days_ago

    parser.section_cache_clear()
    try:
        for rev in range(30):  # each revision: 20 applications, all changed
            page = Page([App(f"Applicant {rev} {i}", days_ago(3)) for i in range(20)])
            apps = parser.parse_page(page.text())
            assert len(apps) == 20
            assert parser.section_cache_info().currsize <= 2 * 20
        # the last page is still cached: reading it again parses nothing
        before = parser.section_cache_info()
        parser.parse_page(page.text())
        after = parser.section_cache_info()
        assert after.misses == before.misses and after.hits == before.hits + 20
    finally:
        parser.section_cache_clear()


def test_hints_remembered_are_bounded():
    memory = ChannelMemory()
    for i in range(6000):
        assert memory.claim_hint("libera", "#c", f"person{i}", now=float(i), cooldown=900)
    assert len(memory._hinted) <= 5000
    assert not memory.claim_hint("libera", "#c", "person5999", now=6000.0, cooldown=900)  # kept: recent


def test_answers_past_their_cooldown_are_forgotten_early():
    memory = ChannelMemory()
    for i in range(5001):  # one new asker a second, cooldown 15 minutes
        memory.claim_answer("libera", "#vrt", f"asker{i}", "apply", "en", now=float(i), cooldown=900)
    assert len(memory._answered) <= 900 + 500
    assert not memory.claim_answer("libera", "#vrt", "asker4999", "apply", "en", now=5001.0, cooldown=900)


def test_channel_nicks_changing_all_day_keep_no_patterns():
    """Each join or part changes the nicks an announcement must not ping;
    a pattern compiled per set stayed in Python's ``re`` cache (~23 KB at
    200 nicks, up to 512 of them). Now nothing per set is kept but a few."""
    import random
    import string
    import tracemalloc

    from OTRSHelp.names import deping

    rng = random.Random(15)
    nicks = ["".join(rng.choices(string.ascii_letters, k=rng.randint(4, 12))) for _ in range(200)]
    line = "Alice votes support on Bob Example: fine by me, ask joiner5 or J.Doe"
    deping(line, nicks, ("Bob Example",))  # warm
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(600):  # 600 channel changes, as many applicants
            nicks[i % 200] = f"joiner{i}"
            deping(line, tuple(nicks), (f"Applicant {i}", "J.Doe"))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 400_000, f"{grown} bytes kept after 600 channel changes"


def test_names_are_still_found_as_whole_words_in_any_case():
    from OTRSHelp.names import ZWSP, deping

    out = deping("so JOINER5 said j.doe and Al Smith; not Alicetown or xj.doe", ["joiner5", "Alice"],
                 ("J.Doe", "Al Smith"))
    assert "J" + ZWSP + "OINER5" in out and " j" + ZWSP + ".doe" in out and "A" + ZWSP + "l" in out
    assert "Alicetown" in out and "xj.doe" in out

"""De-pinging as a property: whatever the nicks and the text, no nick of the
channel is left whole in a line the bot sends."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from OTRSHelp.names import deping, irc_safe, mentions

NICK = st.text(alphabet="abcXYZ019_-[]\\`^{}|", min_size=2, max_size=9)
NAME = st.text(alphabet="abXY .'-é", min_size=2, max_size=12).filter(lambda n: n.strip() == n and "  " not in n)
FILLER = st.sampled_from([" ", ", ", ": ", " @", "(", ") ", ".", "'", " User:", "é"])


@settings(max_examples=300, deadline=None)
@given(nicks=st.lists(NICK, min_size=1, max_size=8), names=st.lists(NAME, max_size=3),
       parts=st.lists(st.tuples(st.integers(0, 10), FILLER, st.booleans()), max_size=12))
def test_no_nick_or_name_survives_whole(nicks, names, parts):
    pool = nicks + names
    text = ""
    for i, filler, upper in parts:
        name = pool[i % len(pool)]
        text += (name.upper() if upper else name) + filler
    out = deping(irc_safe(text), nicks, names)
    for n in pool:
        assert not mentions(out, irc_safe(n)), (n, out)
    assert out.replace("\u200b", "") == irc_safe(text)  # only zero-width spaces added


def test_mentions_is_a_whole_word_in_any_case():
    assert mentions("thanks, NEWBIE!", "newbie")
    assert not mentions("newbies", "newbie") and not mentions("xnewbie", "newbie")
    assert mentions("ask J.Doe later", "j.doe") and not mentions("ask J.Doe2", "J.Doe")
    assert not mentions("anything", "")

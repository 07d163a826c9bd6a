"""A revision's text rebuilt from the previous one: always the wiki's text,
for far fewer bytes than the whole page."""
from __future__ import annotations

import uuid

from OTRSHelp.revtext import TextSource, sections, sha1_of
from OTRSHelp.wikiclient import RevisionMeta, WikiClient
from pagebuilder import App, Page, at, sig


def test_sections_are_numbered_as_mediawiki_does():
    text = ("lead\n== A ==\na\n=== A.1 ===\nsub\n<pre>\n== not a heading ==\n</pre>\n"
            "<!--\n== nor this ==\n-->\n== B ==\nb")
    secs = sections(text)
    assert [s.index for s in secs] == [0, 1, 2, 3]
    a, a1, b = secs[1:]
    assert text[a.start:a.end].startswith("== A ==") and "== B ==" not in text[a.start:a.end]
    assert "=== A.1 ===" in text[a.start:a.end]  # a section holds its subsections
    assert text[a1.start:a1.end].rstrip().endswith("-->")
    assert text[b.start:b.end] == "== B ==\nb"


class Recorder:
    """The real client, counting what each kind of request costs."""

    def __init__(self, client: WikiClient) -> None:
        self.client = client
        self.calls: list[str] = []

    def compare(self, a, b):
        self.calls.append("compare")
        return self.client.compare(a, b)

    def section_text(self, revid, n):
        self.calls.append("section")
        return self.client.section_text(revid, n)

    def revision_texts(self, revids):
        self.calls.append("whole")
        return self.client.revision_texts(revids)


def _history(client: WikiClient, pageid: int, after: int) -> list[RevisionMeta]:
    return list(client.revision_list(pageid, after))


def test_every_kind_of_edit_gives_the_wikis_text(mediawiki):
    title = f"Volunteer Response Team/Volunteering {uuid.uuid4().hex[:6]}"
    page = Page([App(f"Applicant {i}", at(i)) for i in range(40)])
    first = mediawiki.edit(title, page.text(), "Creator")
    texts: list[str] = []

    def save(user: str) -> None:
        mediawiki.edit(title, page.text(), user)
        texts.append(page.text().rstrip())

    page.apps[5].lines.append(f"*{{{{support}}}} Yes. {sig('Voter', at(100))}")
    save("Voter")
    page.apps.append(App("Newcomer", at(101)))  # a new application at the bottom
    save("Newcomer")
    page.apps.insert(3, App("Middle", at(102)))  # one in the middle
    save("Middle")
    page.apps[10].lines += ["=== Discussion ===", "  indented  text  ", "**Ünïcödé — ✓"]
    save("Talker")
    page.apps[10].lines.append(":<nowiki>== x ==</nowiki> &amp; <b>raw</b> &lt;")
    save("Talker")
    page.apps[7].heading = "Applicant renamed"  # a heading edited
    save("Renamer")
    del page.apps[1]  # a section removed (archived)
    save("Archiver")
    page.apps[0].lines.append("")
    page.apps[0].lines.append("")
    page.apps[-1].lines.append(f"*{{{{q}}}} Why? {sig('Asker', at(103))}")
    save("Asker")

    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    pageid = client.resolve_page(title).pageid
    source = TextSource(Recorder(client))
    start = client.revision_texts([first])[first][0]
    source.last_revid, source.last_text = first, start
    metas = _history(client, pageid, first)
    assert len(metas) == len(texts)
    got = []
    for meta in metas:
        rev = source.text_of(meta)
        assert sha1_of(rev.text) == meta.sha1
        source.accept(rev)
        got.append(rev.text)
    assert got == texts
    # most edits are rebuilt from the diff; only the heading edit needs more
    assert source.stats.rebuilt >= len(texts) - 1
    assert source.stats.mismatched == 0


def test_a_wrong_rebuild_is_never_used(mediawiki):
    """A diff that does not fit (here: shifted line numbers, as a wiki that
    counts differently would give) fails the sha1 check: the whole text is
    fetched and it is the wiki's."""
    title = f"Volunteer Response Team/Volunteering {uuid.uuid4().hex[:6]}"
    page = Page([App(f"Applicant {i}", at(i)) for i in range(5)])
    first = mediawiki.edit(title, page.text(), "Creator")
    page.apps[2].lines.append(f"*{{{{oppose}}}} No. {sig('Opposer', at(50))}")
    mediawiki.edit(title, page.text(), "Opposer")
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")

    class Shifted(Recorder):
        def compare(self, a, b):
            body = super().compare(a, b)
            return body.replace('id="mw-diff-left-l', 'id="x').replace("Line ", "Line 1")

    rec = Shifted(client)
    source = TextSource(rec)
    source.last_revid, source.last_text = first, client.revision_texts([first])[first][0]
    (meta,) = _history(client, client.resolve_page(title).pageid, first)
    rev = source.text_of(meta)
    assert rev.text == page.text().rstrip()
    assert rec.calls[-1] == "whole" and source.stats.whole == 1


def test_without_a_previous_text_the_whole_text_is_fetched(mediawiki):
    title = f"Volunteer Response Team/Volunteering {uuid.uuid4().hex[:6]}"
    first = mediawiki.edit(title, Page([App("Alice", at(0))]).text(), "Creator")
    second = mediawiki.edit(title, Page([App("Alice", at(0)), App("Bob", at(1))]).text(), "Bob")
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    rec = Recorder(client)
    source = TextSource(rec)
    (meta,) = _history(client, client.resolve_page(title).pageid, first)
    assert meta.revid == second
    assert "== Bob ==" in source.text_of(meta).text and rec.calls == ["whole"]

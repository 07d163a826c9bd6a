"""A revision's text at the cost of what changed.

Why: the page holds hundreds of applications (about 1 MB of wikitext) and an
edit usually adds one line to one of them. Downloading the whole text for
every revision cost the wiki 150 times what an RSS reader pays. The tracker
still wants the whole text of each revision (it compares identities across
the page), so the text is *rebuilt* here from the previous revision's text:

1. ``action=compare`` from the previous revision gives the changed lines
   whole, with two lines of context (a few KB): applied to the previous
   text, that is usually the new text already;
2. if not, the sections holding the changed lines are fetched from the new
   revision with ``rvsection`` and put in place of the old ones;
3. either result must have the revision's ``sha1`` (and size) from the
   history listing, or it is thrown away and the whole text is fetched.

Step 3 is what makes this safe: any way the rebuild can go wrong (sections
numbered differently than we count them, a heading added inside a changed
line, a wiki whose diff looks different) ends in a checksum mismatch and a
whole-text fetch, never in a wrong text. An edit that touches a heading, or
more than half the page, is fetched whole straight away.

Memory: only the last processed revision's text is kept (one page, about
1 MB for 300 applications); a restart starts with one whole-text fetch.
Plain Python: nothing here imports supybot.
"""
from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from typing import Protocol

from .wikiclient import Revision, RevisionMeta

__all__ = ["Section", "sections", "changed_lines", "apply_diff", "replace_sections", "TextSource",
           "FetchStats", "sha1_of"]

log = logging.getLogger("OTRSHelp.revtext")

# A heading line as MediaWiki's preprocessor sees it: = to ======, the same
# count on both ends, then only blanks (or a comment) to the end of the line.
_HEADING = re.compile(r"^(={1,6})(.+?)\1[ \t]*(?:<!--.*?-->[ \t]*)*$", re.M)
# Regions where a heading-looking line is not a heading: comments and the
# extension tags whose content the preprocessor does not read.
_OPAQUE = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(pre|nowiki|syntaxhighlight|source|math|score|graph|templatedata|timeline|chem"
    r"|ce|hiero|inputbox|mapframe|maplink|poem|ref|references|gallery|includeonly)\b[^>]*?"
    r"(?:/>|>.*?(?:</\1\s*>|\Z))",
    re.S | re.I)
# One table row of MediaWiki's diff; its cells; a hunk's line numbers.
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
_LINENO = re.compile(r"diff-lineno[^>]*>[^<\d]*?(\d[\d,.\u00a0 ]*)")
_CELL = re.compile(r"<td\b([^>]*)>(.*?)</td>", re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Section:
    """Section ``index`` as MediaWiki numbers it: ``start`` is where its
    heading begins, ``end`` where the next heading of the same or a higher
    level begins (subsections belong to it, as with ``rvsection``)."""

    index: int
    level: int
    start: int
    end: int


def sha1_of(text: str) -> str:
    """The sha1 MediaWiki reports for a revision's text (hex, UTF-8)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def sections(text: str) -> list[Section]:
    """Every section of ``text``, section 0 (the lead) first."""
    opaque = [(m.start(), m.end()) for m in _OPAQUE.finditer(text)]
    heads: list[tuple[int, int]] = []
    i = 0
    for m in _HEADING.finditer(text):
        pos = m.start()
        while i < len(opaque) and opaque[i][1] <= pos:
            i += 1
        if i < len(opaque) and opaque[i][0] <= pos:
            continue
        if len(m.group(1)) * 2 >= len(m.group(0).rstrip()):
            continue  # "==" alone or "====" : no title
        heads.append((pos, len(m.group(1))))
    out = [Section(0, 0, 0, heads[0][0] if heads else len(text))]
    for n, (pos, level) in enumerate(heads):
        end = len(text)
        for later, later_level in heads[n + 1:]:
            if later_level <= level:
                end = later
                break
        out.append(Section(n + 1, level, pos, end))
    return out


@dataclass(frozen=True)
class _Row:
    """One row of a diff table: the old line it stands at (1-based), what
    each side shows (context, deleted, added or empty) and the line's text
    on that side."""

    line: int
    left: str
    left_text: str
    right: str
    right_text: str


def _read_diff(diff_html: str) -> list[_Row] | None:
    """MediaWiki's diff table as rows, or None if it is not one we can read."""
    rows: list[_Row] = []
    line: int | None = None
    for row in _ROW.finditer(diff_html):
        cells = row.group(1)
        if "diff-lineno" in cells:
            m = _LINENO.search(cells)
            if not m:
                return None
            new_line = int(re.sub(r"\D", "", m.group(1)))
            if line is not None and new_line < line:
                return None
            line = new_line
            continue
        if line is None:
            return None
        left = right = ""
        left_text = right_text = ""
        for attrs, content in _CELL.findall(cells):
            if "diff-marker" in attrs:
                continue
            kind = ("context" if "diff-context" in attrs else "deleted" if "diff-deletedline" in attrs
                    else "added" if "diff-addedline" in attrs else "empty")
            if not left and ("diff-side-deleted" in attrs or "diff-side-added" not in attrs):
                left, left_text = kind, content
            else:
                right, right_text = kind, content
        if not left and not right:
            continue
        left, right = left or "empty", right or "empty"
        if left not in ("context", "deleted", "empty") or right not in ("context", "added", "empty"):
            return None
        rows.append(_Row(line, left, left_text, right, right_text))
        if left != "empty":
            line += 1
    if line is None and diff_html.strip():
        return None
    return rows


def changed_lines(diff_html: str) -> tuple[set[int], bool] | None:
    """From MediaWiki's diff table: the old revision's line numbers
    (1-based) that changed, with the line before each pure insertion, and
    whether any changed line (old or new side) looks like a heading. None
    when the diff cannot be read (then the caller fetches the whole text)."""
    rows = _read_diff(diff_html)
    if rows is None:
        return None
    touched: set[int] = set()
    heading = False
    for r in rows:
        if r.left == "context":
            continue
        for kind, content in ((r.left, r.left_text), (r.right, r.right_text)):
            if kind in ("deleted", "added") and _HEADING.match(_plain(content)):
                heading = True
        touched.add(r.line if r.left == "deleted" else max(1, r.line - 1))
    return touched, heading


def apply_diff(old: str, diff_html: str) -> str | None:
    """The new text: ``old`` with the diff's deleted lines taken out and
    its added lines put in. The diff shows each changed line whole, so for
    most edits this needs nothing else; the caller checks the result
    against the revision's sha1 (a wiki that renders spaces or moved
    paragraphs differently gives a mismatch, never a silent error)."""
    rows = _read_diff(diff_html)
    if rows is None:
        return None
    old_lines = old.split("\n")
    out: list[str] = []
    cursor = 0  # index into old_lines of the next line not yet copied
    for r in rows:
        at = r.line - 1
        if at < cursor or at > len(old_lines):
            return None
        out.extend(old_lines[cursor:at])
        cursor = at
        if r.left in ("context", "deleted"):
            if cursor >= len(old_lines):
                return None
            if r.left == "context":
                out.append(old_lines[cursor])
            cursor += 1
        if r.right == "added":
            out.append(_line_text(r.right_text))
    out.extend(old_lines[cursor:])
    return "\n".join(out)


_EMPTY_LINE = re.compile(r"^\s*<br\s*/?>\s*$")
_DIV = re.compile(r"^<div\b[^>]*>(.*)</div>$", re.S)


def _line_text(cell: str) -> str:
    """The text of one line as a diff cell shows it."""
    if _EMPTY_LINE.match(cell):
        return ""
    m = _DIV.match(cell)
    inner = m.group(1) if m else cell
    return html.unescape(_TAG.sub("", inner))


def _plain(cell: str) -> str:
    return _line_text(cell).strip()


def replace_sections(old: str, old_sections: list[Section],
                     new_texts: dict[int, str]) -> str:
    """``old`` with the given sections replaced by their new text; the
    blank lines between sections are kept (``rvsection`` leaves them out)."""
    by_index = {s.index: s for s in old_sections}
    out = old
    for index in sorted(new_texts, key=lambda k: by_index[k].start, reverse=True):
        sec = by_index[index]
        span = out[sec.start:sec.end]
        tail = span[len(span.rstrip()):]
        out = out[:sec.start] + new_texts[index] + tail + out[sec.end:]
    return out


def _outermost(chosen: list[Section]) -> list[Section]:
    """Drop sections that lie inside another chosen one (a subsection of a
    chosen section comes with it when the parent is fetched)."""
    keep: list[Section] = []
    for s in sorted(chosen, key=lambda c: (c.start, -c.end)):
        if not any(o.start <= s.start and s.end <= o.end for o in keep):
            keep.append(s)
    return keep


class _Client(Protocol):
    def compare(self, fromrev: int, torev: int) -> str | None: ...
    def section_text(self, revid: int, section: int) -> str | None: ...
    def revision_texts(self, revids: list[int]) -> dict[int, tuple[str, bool]]: ...


@dataclass
class FetchStats:
    """How each revision's text was had: ``rebuilt`` from the previous
    text (``patched`` of them from the diff alone, the others with
    sections fetched), fetched ``whole``, or rebuilt but thrown away
    (``mismatched``: checksum mismatch)."""

    rebuilt: int = 0
    patched: int = 0
    whole: int = 0
    mismatched: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def whole_because(self, why: str) -> None:
        self.whole += 1
        self.reasons[why] = self.reasons.get(why, 0) + 1


class TextSource:
    """Gives each new revision its text, rebuilding it from the previous
    one where that is cheaper and provably right.

    Bound: one revision's text (``last_revid``, ``last_text``). Call
    ``accept`` once the tracker has processed a revision; ``forget`` when
    the page followed changes."""

    def __init__(self, client: _Client, *, max_fraction: float = 0.5) -> None:
        self.client = client
        self.max_fraction = max_fraction
        self.last_revid: int | None = None
        self.last_text: str | None = None
        self.stats = FetchStats()

    def forget(self) -> None:
        self.last_revid = self.last_text = None

    def accept(self, rev: Revision) -> None:
        """``rev`` was processed: it is the base of the next rebuild."""
        if rev.hidden:
            self.forget()
        else:
            self.last_revid, self.last_text = rev.revid, rev.text

    def text_of(self, meta: RevisionMeta) -> Revision:
        """``meta`` with its text: rebuilt when the previous revision's
        text is at hand and the edit is small, else fetched whole."""
        if meta.hidden:
            return meta.with_text("", True)
        rebuilt = self._rebuild(meta)
        if rebuilt is not None:
            self.stats.rebuilt += 1
            return meta.with_text(rebuilt)
        texts = self.client.revision_texts([meta.revid])
        text, hidden = texts.get(meta.revid, ("", True))
        return meta.with_text(text, hidden)

    def _rebuild(self, meta: RevisionMeta) -> str | None:
        old, base = self.last_text, self.last_revid
        if old is None or base is None:
            self.stats.whole_because("no previous text")
            return None
        if meta.parentid != base:
            self.stats.whole_because("parent is not the last processed revision")
            return None
        if not meta.sha1:
            self.stats.whole_because("no sha1")
            return None
        diff = self.client.compare(base, meta.revid)
        if diff is not None:
            patched = apply_diff(old, diff)
            if patched is not None and sha1_of(patched) == meta.sha1:
                self.stats.patched += 1
                return patched
        found = changed_lines(diff) if diff is not None else None
        if found is None:
            self.stats.whole_because("no readable diff")
            return None
        lines, heading = found
        if heading:
            self.stats.whole_because("a heading changed")
            return None
        if not lines:  # same text (e.g. a null change of the content model)
            if sha1_of(old) == meta.sha1:
                return old
            self._mismatch()
            return None
        old_sections = sections(old)
        starts = _line_starts(old)
        chosen: list[Section] = []
        for n in sorted(lines):
            pos = starts[min(n, len(starts)) - 1]
            sec = _innermost(old_sections, pos)
            if sec not in chosen:
                chosen.append(sec)
        chosen = _outermost(chosen)
        if sum(s.end - s.start for s in chosen) > self.max_fraction * max(len(old), 1):
            self.stats.whole_because("most of the page changed")
            return None
        new_texts: dict[int, str] = {}
        for sec in chosen:
            got = self.client.section_text(meta.revid, sec.index)
            if got is None:
                self._mismatch()
                return None
            new_texts[sec.index] = got
        text = replace_sections(old, old_sections, new_texts)
        if len(text.encode("utf-8")) != meta.size or sha1_of(text) != meta.sha1:
            self._mismatch()
            return None
        return text

    def _mismatch(self) -> None:
        self.stats.mismatched += 1
        self.stats.whole_because("rebuilt text did not match the sha1")
        log.info("rebuilt text did not match the revision's sha1: fetching it whole")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def _innermost(secs: list[Section], pos: int) -> Section:
    """The section whose own text (up to the next heading of any level)
    holds ``pos``."""
    best = secs[0]
    for s in secs[1:]:
        if s.start <= pos:
            best = s
        else:
            break
    return best

"""Read the volunteering page: wikitext in, applications and comments out.

The page has been edited by hundreds of people since 2009, so the parser is
lenient where people differ (heading levels, signatures, vote spellings) and
strict where a mistake would invent an event: text inside HTML comments,
``<pre>``/``<nowiki>``, struck text and ``{{tl|...}}`` mentions never counts.

Deterministic and free of I/O: the tracker runs it on every revision, and a
busy page is a megabyte of wikitext. Three layers keep that cheap without
giving up exactness:

* The page is cut into sections with string scans (hidden text first, then
  heading lines), and each section's result is cached under its exact text
  and the context its parse depends on (``_SectionCache``). An edit touches
  one section, so a new revision re-parses one section, not 300.
* Inside a section, the page's conventions are line-oriented (headings,
  list prefixes, one signature at the end of each contribution), and most
  inline constructs are flat: ``{{support}}``, ``[[User:X|X]]``, bold
  ``Support``. Small regular expressions read those exactly and fast.
* Where a regular expression cannot be exact (a template inside a
  template, a struck span inside a struck span), ``markup`` reads that
  piece alone with a scan or, if it is small, with mwparserfromhell.
* Every step is linear in the text it reads, and a page past
  ``MAX_APPLICATIONS`` sections or ``MAX_COMMENTS`` comments on one
  application is read only that far: a vandal's two megabytes cost about
  what a busy page costs (``bench/bench_parse.py``).

This module holds what the page means: which sections are applications,
which contributions are votes, questions or closures, and the resulting
status. How wikitext reads (``markup``) and who signed what
(``signatures``) live in their own modules.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields
from functools import lru_cache
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Iterable, Iterator, NamedTuple

from .markup import (CLOSE_TAG, FILE_LINK, LINK, MENTION_TEMPLATES, PING_TEMPLATES, TAG,
                     TL_TEMPLATES, WRAPPER_TEMPLATES, calls, cut, plain_text, render,
                     template_call, template_end, visible_wikitext, without_struck)
from .signatures import (Sig, is_signed, linked_user, opens_with_unsigned, param_user,
                         signature, strip_sig_debris, username)
from .signatures import parse_timestamp  # part of this module's API
# The page's model lives in .model; these names stay importable from here.
from .model import (ANSWERED, CLOSED_STATUSES, STATUSES, VOTE_KINDS, Application, Comment,
                    current_votes, iso, mark_answered, unanswered_questions)

__all__ = [
    "ANSWERED",
    "Application",
    "CLOSED_STATUSES",
    "Comment",
    "current_votes",
    "MAX_APPLICATIONS",
    "MAX_COMMENTS",
    "STATUSES",
    "iso",
    "parse_page",
    "parse_timestamp",
    "section_cache_clear",
    "section_cache_info",
    "unanswered_questions",
]

# Bounds on what one page can make the parser (and the tracker, and the
# channel) do: sections read as possible applications (headings that could
# be usernames), and comments on one. The real page has held a few hundred
# applications and at most a few hundred comments on one; a revision past
# these is vandalism, and reading it to the end would only cost seconds.
MAX_APPLICATIONS = 5000
MAX_COMMENTS = 2000
# Characters of one contribution read as text (for its excerpt, and for
# what it asks or closes): the longest real answers are a few thousand.
MAX_READ = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # orders an undated mark first

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

_VOTE_TEMPLATES = {
    "support": {
        "support", "s", "sup", "supp", "strong support", "strongsupport",
        "weak support", "weaksupport", "ws", "ss", "yes", "pro", "keep",
        "support vote", "sv", "agree", "endorse", "für", "pour", "voor",
        "a favor", "favor", "+",
    },
    "oppose": {
        "oppose", "o", "strong oppose", "strongoppose", "weak oppose",
        "weakoppose", "wo", "so", "no", "contra", "against", "disagree",
        "dagegen", "contre", "tegen", "en contra",
    },
    "neutral": {"neutral", "n", "neu", "neutre", "abstain", "neutraal"},
    "comment": {"comment", "c", "com", "note", "info", "opmerking",
                "kommentar", "commentaire"},
    "question": {"q", "question", "qn", "ques", "frage", "vraag"},
}
_STATUS_TEMPLATES = {
    "approved": {"done", "d", "approved", "accepted", "granted", "resolved",
                 "erledigt", "gedaan", "fait", "hecho", "tick", "y"},
    "declined": {"not done", "notdone", "nd", "declined", "rejected",
                 "denied", "not granted", "abgelehnt", "niet gedaan", "x"},
    "on hold": {"on hold", "onhold", "hold", "oh", "pending", "waiting"},
    "withdrawn": {"withdrawn", "withdraw", "withdrew", "zurückgezogen",
                  "ingetrokken"},
    "open": {"reopened", "reopen", "re-opened", "undone"},
}
_TEMPLATE_KIND: dict[str, tuple[str, str | None]] = {}
for _kind, _names in _VOTE_TEMPLATES.items():
    for _n in _names:
        _TEMPLATE_KIND[_n] = (_kind, None)
for _status, _names in _STATUS_TEMPLATES.items():
    for _n in _names:
        _TEMPLATE_KIND[_n] = ("status", _status)

# Bold prose a person types instead of a template: '''Support''',
# '''Weak support''', '''Approved'''. One- and two-letter template names
# ('''S''', '''No''') are too ambiguous in prose to count.
_BOLD_KIND: dict[str, tuple[str, str | None]] = {
    n: v for n, v in _TEMPLATE_KIND.items() if len(n) > 2}
for _w in VOTE_KINDS:
    for _q in ("strong", "weak", "mild", "tentative", "conditional"):
        _BOLD_KIND[f"{_q} {_w}"] = (_w, None)

# A vote typed as a plain word at the start of a contribution: "Support
# Obvious need.", "weak oppose - too new". Only the three vote words (with a
# qualifier) and only as the first word followed by the end, punctuation or
# another word: "Supporting", "Support's" and "I support ..." are prose.
# The rendered page cannot tell this from bold ones, and neither can the
# people reading it.
_PLAIN_VOTE = re.compile(
    r"(?:(?:strong|weak|mild|tentative|conditional|very\s+strong)\s+)?"
    r"(support|oppose|neutral)(?![\w'\u2019])", re.IGNORECASE)

# Inline tags people wrap around a vote or a signature; skipped when looking
# for the mark a contribution opens with.
_DECOR_TAGS = {"span", "font", "small", "big", "sup", "sub", "i", "em", "u",
               "li", "dd", "dt", "br", "p", "div", "center", "abbr", "ins",
               "mark", "tt", "b", "strong"}
_FIELD_OPEN = re.compile(r"[*#:]*\s*'''")


class _FieldLine(NamedTuple):
    label: str
    colon: str
    value: str


def _field_match(text: str) -> _FieldLine | None:
    """``*'''Label:''' value``: the bold label (a colon inside or just after
    it) and the rest. Found with ``str.find`` rather than one regular
    expression, whose lazy label retried its closing at every character of
    a long unclosed line."""
    m = _FIELD_OPEN.match(text)
    if not m:
        return None
    close = text.find("'''", m.end())
    if close < 0:
        return None
    label = text[m.end():close].strip()
    if not label:
        return None
    rest = text[close + 3:].lstrip()
    colon = ":" if rest.startswith(":") else ""
    return _FieldLine(label, colon, rest[1:].lstrip() if colon else rest)
_LIST_PREFIX = re.compile(r"^[*#:;]+")


# ---------------------------------------------------------------------------
# The page: headings and sections
# ---------------------------------------------------------------------------

_LEAD_HEADINGS = re.compile(
    r"^(applications?|volunteering.*|how (do|to) .*|.*\?|current applications|"
    r"archives?|see also|notes?|instructions|template|example|german.*|dutch.*|"
    r"requests?|open applications|closed applications|new applications|"
    r"for prospective volunteers|before you apply|volunteer response team)$",
    re.IGNORECASE,
)
# Headings people put *inside* an application (one level deeper) to group
# its discussion; their contents belong to the application above.
_SUBSECTION = re.compile(
    r"^(?:[^\n]{0,40}?\s)?(?:(?:additional|more|further|other|some|general)\s+)?"
    r"(?:comments?|discussion|questions?|votes?|voting|endorsements?|support|"
    r"oppose|neutral|notes?|answers?|replies|reply|responses?|status|result|"
    r"outcome|decision|update|arbitrary break|section break|break|follow-?up|"
    r"continued)\b",
    re.IGNORECASE,
)
_HEADING = re.compile(r"(={1,6})([^\n]+?)(={1,6})[ \t]*(?=\n|$)")
# The same after a line break, as a lookahead: the regex engine jumps from
# "\n" to "\n" by itself (a literal prefix) and tries only there.
_HEADING_AFTER_NL = re.compile(r"\n(?=(={1,6})([^\n]+?)(={1,6})[ \t]*(?=\n|$))")


def _headings(text: str) -> list[re.Match[str]]:
    """Heading lines: ``=`` at the start of a line, closed on the same line.
    Found in one scan of the regex engine: a page of half a million "=="
    lines would otherwise be half a million steps of Python."""
    found = [m] if (m := _HEADING.match(text)) else []
    for nl in _HEADING_AFTER_NL.finditer(text):
        if (m := _HEADING.match(text, nl.end())) is not None:
            found.append(m)
    return found


def parse_page(wikitext: str) -> list[Application]:
    """Every application on the page, in page order.

    Sections that are not applications (the lead, its headings, the copy
    template in ``<pre>``) are left out: a section counts only when its
    heading names a user (a user link, or a plain name that signs in the
    section) or it holds the application form's fields. A heading one level
    below an application that reads as "Questions", "Comments", ... is part
    of that application.

    Only sections whose text (or context) changed since an earlier call are
    parsed; the others come from a cache (``section_cache_info``). Every
    call returns new ``Application`` objects, so callers may change them.
    """
    page = _SECTIONS.begin_page()
    try:
        return _parse_page(wikitext)
    finally:
        _SECTIONS.end_page(page)


def _parse_page(wikitext: str) -> list[Application]:
    text = visible_wikitext((wikitext or "").replace("\r\n", "\n").replace("\r", "\n"))
    heads = _headings(text)
    anchors = _anchor_stream(_heading_text(_heading_title(m)[1]) for m in heads)
    apps: list[Application] = []
    pending: _Pending | None = None
    read = 0  # sections read as possible applications
    for i, m in enumerate(heads):
        anchor = next(anchors)  # computed as far as the page is read
        level, title = _heading_title(m)
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end():end]
        if (pending is not None and level > pending.level
                and _SUBSECTION.match(_heading_text(title)) and not _heading_user(title)):
            pending.bodies.append(body)
            continue
        if pending is not None:
            app = pending.parse()
            read += 1
            if app is not None:
                apps.append(app)
            pending = None
        if read >= MAX_APPLICATIONS:
            break
        found = _applicant_from_heading(title)
        if found:
            pending = _Pending(level, found[0], found[1], anchor,
                               _heading_text(title), [body])
    if pending is not None and read < MAX_APPLICATIONS:
        app = pending.parse()
        if app is not None:
            apps.append(app)
    return apps


@dataclass
class _Pending:
    """An application's heading and body, collected until the next heading
    that is not one of its subsections."""

    level: int
    applicant: str
    via_link: bool
    anchor: str
    heading: str
    bodies: list[str]

    def parse(self) -> Application | None:
        return _SECTIONS.parse(self.applicant, self.via_link, self.anchor,
                               self.heading, "\n".join(self.bodies))


# ---------------------------------------------------------------------------
# The section cache
# ---------------------------------------------------------------------------

class CacheInfo(NamedTuple):
    """Counters of the section cache, as ``functools.lru_cache`` reports them."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


_Frozen = tuple[tuple[str, Any], ...]  # (field name, immutable value) pairs of an Application


class _SectionCache:
    """Parsed sections by their exact text and context, least recently used
    first out.

    The key is every argument of ``_parse_section`` but the anchor: the
    applicant and whether a user link named them (both read from the
    heading), the heading text and the visible body after hidden text was
    removed page-wide (so an unclosed ``<!--`` above changes the key). The
    anchor (which depends on the headings above) only names the section, so
    it is set on each hit: a section moved below a namesake, or pasted a
    thousand times by a vandal, is parsed once. The parse is a pure function
    of these, so a hit is exactly what a parse would return.

    Only the sections of the last two pages read are kept (``end_page``):
    the page is read revision after revision, so older sections would only
    fill memory (a vandal's revision and its revert are the two kept).

    Values are frozen snapshots (tuples, read-only mappings, frozen
    ``Comment``s) and every hit builds a new ``Application``: callers (the
    tracker, ``scan``) may change what they get without changing what the
    next revision gets. Sections that are not applications are cached as
    ``None``. Bounded by entries and by characters of body, because a
    vandal's revision can hold one enormous section. Thread-safe: the
    plugin's commands and the poller parse from different threads; a parse
    runs outside the lock, so two threads may parse the same new section
    once each, and both get the same result.
    """

    def __init__(self, maxsize: int = 2000, maxchars: int = 32_000_000) -> None:
        self.maxsize, self.maxchars = maxsize, maxchars
        self._data: OrderedDict[tuple, _Frozen | None] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self._page = 0  # the number of the page being read
        self._seen: dict[tuple, int] = {}  # key -> the last page that had it

    def begin_page(self) -> int:
        with self._lock:
            self._page += 1
            return self._page

    def end_page(self, page: int) -> None:
        """Forget the sections that neither this page nor the one before had."""
        with self._lock:
            for key in [k for k, p in self._seen.items() if p < page - 1]:
                del self._seen[key]
                if self._data.pop(key, _MISSING) is not _MISSING:
                    self._chars -= len(key[3])

    def parse(self, applicant: str, via_link: bool, anchor: str, heading: str,
              body: str) -> Application | None:
        key = (applicant, via_link, heading, body)
        with self._lock:
            self._seen[key] = self._page
            frozen = self._data.get(key, _MISSING)
            if frozen is not _MISSING:
                self._data.move_to_end(key)
                self.hits += 1
        if frozen is not _MISSING:
            return None if frozen is None else _thaw(frozen, anchor)
        app = _parse_section(applicant, via_link, anchor, heading, body)
        frozen = None if app is None else _freeze(app)
        with self._lock:
            self.misses += 1
            if key not in self._data:
                self._data[key] = frozen
                self._chars += len(body)
            while self._data and (len(self._data) > self.maxsize or self._chars > self.maxchars):
                old, _ = self._data.popitem(last=False)
                self._seen.pop(old, None)
                self._chars -= len(old[3])
        return None if frozen is None else _thaw(frozen, anchor)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self.hits, self.misses, self.maxsize, len(self._data))

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._seen.clear()
            self._chars = 0
            self.hits = self.misses = 0


_MISSING: Any = object()
_SECTIONS = _SectionCache()


def _freeze(app: Application) -> _Frozen:
    """An Application as immutable values: lists become tuples, dicts
    read-only mappings (``Comment`` and ``datetime`` are immutable already)."""
    out = []
    for f in fields(Application):
        value = getattr(app, f.name)
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = MappingProxyType(dict(value))
        out.append((f.name, value))
    return tuple(out)


def _thaw(frozen: _Frozen, anchor: str) -> Application:
    """A new Application with its own lists and dicts, under *anchor*."""
    kwargs: dict[str, Any] = {"anchor": anchor}
    for name, value in frozen:
        if name == "anchor":
            continue
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, MappingProxyType):
            value = dict(value)
        kwargs[name] = value
    return Application(**kwargs)


def section_cache_info() -> CacheInfo:
    """Hits, misses, bound and size of the per-section cache of ``parse_page``:
    a revision that changes one section costs one miss."""
    return _SECTIONS.info()


def section_cache_clear() -> None:
    """Empty the per-section cache and reset its counters."""
    _SECTIONS.clear()


# ---------------------------------------------------------------------------
# Headings: anchors and applicants
# ---------------------------------------------------------------------------

def _heading_title(m: re.Match[str]) -> tuple[int, str]:
    """Level and title as MediaWiki reads an unbalanced ``=== x ==``: the
    shorter run of ``=`` is the level, the rest belongs to the title."""
    left, inner, right = m.groups()
    level = min(len(left), len(right))
    return level, "=" * (len(left) - level) + inner + "=" * (len(right) - level)


@lru_cache(maxsize=4096)
def _heading_text(title: str) -> str:
    """The heading as readers see it: the text its section anchor is made of."""
    return " ".join(render(title).split())


def _anchors(texts: list[str]) -> list[str]:
    """MediaWiki's section anchors: spaces as underscores, and ``_2``, ``_3``
    for repeats, compared case-insensitively (ASCII) as the wiki does."""
    return list(_anchor_stream(texts))


def _anchor_stream(texts: Iterable[str]) -> Iterator[str]:
    """``_anchors`` one heading at a time, so a page read only in part
    (``MAX_APPLICATIONS``) costs nothing for the headings after."""
    refers: set[str] = set()
    tried: dict[str, int] = {}  # the suffixes below it are taken: 5,000 repeats stay linear
    for text in texts:
        anchor = text.replace(" ", "_")
        key = anchor.translate(_ASCII_LOWER)
        if key in refers:
            i = tried.get(key, 2)
            while f"{key}_{i}" in refers:
                i += 1
            tried[key] = i + 1
            anchor = f"{anchor}_{i}"
            refers.add(f"{key}_{i}")
        else:
            refers.add(key)
        yield anchor


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_HEADING_SUFFIX = re.compile(
    r"\s*\((?:\d+|\d+(?:st|nd|rd|th)|again|second|third|re-?appl\w*|"
    r"\w+ application|\w+ request)\)\s*$", re.IGNORECASE)
_USER_PREFIX = re.compile(r"^\s*(?:user|benutzer|gebruiker|utilisateur|usuario)\s*:\s*", re.IGNORECASE)
_USER_TEMPLATE_NAMES = {"user", "u", "userlinks", "user2", "ul", "user-multi", "vandal"}


def _heading_user(title: str) -> str | None:
    """The user a heading links to (``[[User:X|...]]``, ``{{user|X}}``)."""
    if "[[" in title:
        name = linked_user(title)
        if name:
            return name
    if "{{" in title:
        for call in calls(title):
            if call.name in _USER_TEMPLATE_NAMES and call.args:
                user = param_user(call.args[0])
                if user:
                    return user
    return None


@lru_cache(maxsize=4096)
def _applicant_from_heading(title: str) -> tuple[str, bool] | None:
    """(applicant, named by a user link) or None for a heading that cannot
    be a username (lead headings, sentences, markup)."""
    linked = _heading_user(title)
    if linked:
        return linked, True
    text = _heading_text(title)
    if not text or _LEAD_HEADINGS.match(text) or "~~~" in title:
        return None
    text = _HEADING_SUFFIX.sub("", text)
    text = _USER_PREFIX.sub("", text)  # "== User:Foo ==" typed without a link
    # MediaWiki usernames cannot hold these; headings that do are prose.
    if len(text) > 85 or any(ch in text for ch in "#<>[]|{}:@="):
        return None
    name = username(text)
    return (name, False) if name else None


# ---------------------------------------------------------------------------
# Marks: votes, questions, statuses
# ---------------------------------------------------------------------------

_NO_MARK: tuple[str | None, str | None] = (None, None)
_MARK_SKIP = re.compile(r"[\s*#:;\-—–\"•·]*")
_MARK_WORD_JUNK = re.compile(r"<[^<>]*>|''+|\{\{[^{}]*\}\}")


def _mark_word(inner: str) -> str:
    word = _MARK_WORD_JUNK.sub("", inner)
    return " ".join(word.split()).strip(" :.!").lower()


def _leading_mark(content: str) -> tuple[str | None, str | None]:
    """The vote, question or status mark a contribution opens with:
    ``{{support}}``, ``'''Support'''``, ``{{vote|support}}``, a vote icon;
    possibly wrapped in ``<span>``/``<small>`` or after other icons. Text,
    a ping or a ``{{tl|...}}`` mention first means there is no mark."""
    return _mark_at(content)[0]


def _mark_at(s: str, _nested: int = 0) -> tuple[tuple[str | None, str | None], int]:
    """The leading mark and the offset just after it (0 without a mark)."""
    n = len(s)
    pos = 0
    while pos < n:
        pos = _MARK_SKIP.match(s, pos).end()
        if pos >= n:
            break
        if s.startswith("{{", pos):
            end = template_end(s, pos)
            if end < 0:
                return _NO_MARK, 0
            call = template_call(s[pos + 2:end - 2])
            name, params = call.name, call.args
            if name in _TEMPLATE_KIND:
                return _TEMPLATE_KIND[name], end
            if name in ("vote", "v") and params:
                return _found(_TEMPLATE_KIND.get(params[0].lower(), _NO_MARK), end)
            if name in PING_TEMPLATES or name in MENTION_TEMPLATES or name in TL_TEMPLATES:
                return _NO_MARK, 0
            if name in WRAPPER_TEMPLATES and params and _nested <= 2:
                # {{color|green|{{support}}}}: the mark it shows; its text first: no mark
                found, _ = _mark_at(params[-1], _nested + 1)
                if found != _NO_MARK or render(params[-1]).strip():
                    return _found(found, end)
            pos = end  # an icon or other decoration before the mark
            continue
        if s.startswith("'''", pos):
            close = s.find("'''", pos + 3)
            after = close + 3
            if close < 0:  # unclosed bold runs to the end of the line
                nl = s.find("\n", pos)
                close = after = n if nl < 0 else nl
            return _found(_BOLD_KIND.get(_mark_word(s[pos + 3:close]), _NO_MARK), after)
        if s.startswith("''", pos):
            close = s.find("''", pos + 2)
            if close < 0 or _nested > 2:
                return _NO_MARK, 0
            inner = s[pos + 2:close]
            found, _ = _mark_at(inner, _nested + 1)
            if found != _NO_MARK or render(inner).strip():
                return _found(found, close + 2)
            pos = close + 2
            continue
        if s[pos] == "<":
            m = TAG.match(s, pos)
            if not m:
                return _NO_MARK, 0
            tag = m.group(2).lower()
            if tag in ("b", "strong") and not m.group(1):
                close = CLOSE_TAG[tag].search(s, m.end())
                inner = s[m.end():close.start() if close else n]
                return _found(_BOLD_KIND.get(_mark_word(inner), _NO_MARK), close.end() if close else n)
            if tag in _DECOR_TAGS:
                pos = m.end()
                continue
            return _NO_MARK, 0
        if s.startswith("[[", pos):
            m = LINK.match(s, pos)
            if not m:
                return _NO_MARK, 0
            if FILE_LINK.match(m.group(1)):
                title = m.group(1).lower()
                for kind in VOTE_KINDS:
                    if kind in title:
                        return (kind, None), m.end()
                pos = m.end()
                continue
            return _NO_MARK, 0
        m = _PLAIN_VOTE.match(s, pos)
        if m:
            return (m.group(1).lower(), None), m.end()
        return _NO_MARK, 0
    return _NO_MARK, 0


def _found(mark: tuple[str | None, str | None], end: int) -> tuple[tuple[str | None, str | None], int]:
    return (mark, end) if mark != _NO_MARK else (_NO_MARK, 0)


_PING_START = re.compile(
    r"^[\s*#:;]*(?:\{\{\s*(?:template\s*:\s*)?(?:" + "|".join(
        re.escape(n).replace(r"\ ", r"[ _]+") for n in sorted(PING_TEMPLATES, key=len, reverse=True))
    + r")\s*\||@\s*\w)", re.IGNORECASE)


def _starts_contribution(line: str) -> bool:
    """A line that opens a new contribution whatever came before it: a vote,
    status or question mark, or a ping."""
    return _leading_mark(line) != _NO_MARK or bool(_PING_START.match(line))


# Prose closures. A bare status word must be followed by the end, punctuation
# or a short connective ("Approved.", "Declined per ...", "Reopened, ...")
# so that "Accepted practice is ..." or "Withdrawing my support" stays prose.
_AFTER_WORD = (r"(?=\s*$|\s*[.!,;:(\u2013\u2014-]|\s+(?:per|by|as|at|following|due|"
               r"because|after|since|pending|until|for\s+now|on\s+request)\b)")
_PROSE_STATUS = [
    (re.compile(r"^\W*(?:application\s+|request\s+)?(?:not\s+done|declined|rejected|"
                r"not\s+approved|denied)" + _AFTER_WORD, re.I), "declined", False),
    (re.compile(r"^\W*(?:application\s+|request\s+)?(?:approved|accepted|granted)"
                + _AFTER_WORD, re.I), "approved", False),
    (re.compile(r"^\W*done" + _AFTER_WORD, re.I), "approved", True),
    (re.compile(r"^\W*(?:application\s+|request\s+)?(?:put\s+)?on\s+hold" + _AFTER_WORD, re.I),
     "on hold", False),
    (re.compile(r"^\W*(?:application\s+|request\s+)?withdrawn" + _AFTER_WORD, re.I),
     "withdrawn", False),
    (re.compile(r"^\W*(?:i\s+(?:hereby\s+|would\s+like\s+to\s+|want\s+to\s+|have\s+to\s+)?|"
                r"i'?m\s+|i\s+am\s+)?withdraw(?:ing|n)?\s+(?:my|this|the)\s+"
                r"(?:application|request|candidacy)\b", re.I), "withdrawn", False),
    (re.compile(r"^\W*(?:application\s+|request\s+)?re-?open(?:ed|ing)" + _AFTER_WORD, re.I),
     "open", False),
]


def _prose_status(plain: str, depth: int) -> str | None:
    """A status typed as prose at the start of a contribution. A bare
    "Done." only counts as a closure at the top of a thread: deeper down it
    answers whatever was asked."""
    for rx, status, top_only in _PROSE_STATUS:
        if top_only and depth > 1:
            continue
        if rx.search(plain):
            return status
    return None


_URL = re.compile(r"(?:https?:)?//\S+")
_AT_START = re.compile(r"\W*@\s*")
_ASKING = re.compile(r"\b(please (?:explain|answer|tell|describe|clarify|elaborate|confirm)|"
                     r"could you|can you|would you)\b", re.IGNORECASE)


def _asks_applicant(applicant: str, content: str, plain: str) -> bool:
    """A ping to the applicant that asks something: a question."""
    pinged = False
    for call in calls(content):  # nested too: {{small|{{ping|X}}}}
        if call.name in PING_TEMPLATES or call.name in MENTION_TEMPLATES:
            if any(param_user(a) == applicant for a in call.args):
                pinged = True
                break
    if not pinged:  # "@Name: ..." typed by hand
        at = _AT_START.match(plain)
        pinged = bool(at) and plain[at.end():].casefold().startswith(applicant.split(" ")[0].casefold())
    if not pinged:
        return False
    return "?" in _URL.sub("", plain) or bool(_ASKING.search(plain))


# ---------------------------------------------------------------------------
# A section: fields, statement, contributions
# ---------------------------------------------------------------------------

@dataclass
class _Block:
    """Consecutive lines that make one contribution (it ends with a signature)."""

    depth: int
    prefix: str
    lines: list[str]
    is_field: bool = False
    signed: bool = False


_SKIP_LINE = re.compile(r"^\s*(?:\{\{\s*(?:clear|clr|-|clear ?left|clear ?right)\s*\}\}|"
                        r"----+|__[A-Z]+__)\s*$", re.IGNORECASE)


def _blocks(text: str) -> list[_Block]:
    """Group lines into contributions: a contribution ends with a signature.

    A reply that spans several lines (numbered answers, bullets, a blank
    line before the signature) stays one contribution. Unsigned text ends
    where a line opens with a vote, status or question mark or a ping, or
    where the indentation goes back out; text left unsigned at the end of
    the section becomes a block of its own.
    """
    blocks: list[_Block] = []
    current: _Block | None = None
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip() or _SKIP_LINE.match(line):
            continue
        m = _LIST_PREFIX.match(line)
        prefix = m.group(0) if m else ""
        depth = len(prefix)
        is_field = _field_line_kind(line) is not None
        if current is None or current.signed or is_field:
            new = True
        elif current.is_field:
            new = not (depth == 0 and opens_with_unsigned(line))
        elif depth == 0 and opens_with_unsigned(line):
            new = False
        elif _starts_contribution(line):
            new = True
        elif depth == 0 or depth >= current.depth or "#" in prefix:
            new = False
        else:  # back out to a shallower level: unless it closes a numbered list
            new = not (current.prefix.endswith("#") and prefix == current.prefix.rstrip("#"))
        if new:
            current = _Block(depth=depth, prefix=prefix, lines=[line], is_field=is_field)
            blocks.append(current)
        else:
            current.lines.append(line)
        if is_signed(line):
            current.signed = True
    return blocks


def _field_line_kind(line: str) -> str | None:
    """The field a ``*'''Label:''' value`` line fills, or None (also for
    bold votes such as ``*'''Support'''``)."""
    if "'''" not in line:
        return None
    m = _field_match(line)
    if not m:
        return None
    return _field_kind(m.label + m.colon)


_FIELD_KINDS = [
    ("languages", re.compile(r"\blanguages?\b|\bsprachen?\b|\btalen\b|\blangues?\b|\bidiomas?\b")),
    ("queues", re.compile(r"\bqueues?\b|\bqueue\(s\)|warteschlange|wachtrij")),
    ("talk_pages", re.compile(r"\btalk\b|diskussion|overleg|\bdiscussion\b|discusión")),
    ("statement", re.compile(r"\b(?:why|reason|warum|waarom|statement|about)\b")),
    ("email", re.compile(r"e-?mail|\bage\b|\balter\b|leeftijd")),
]
_COUNTING_FIELDS = {"languages", "queues", "talk_pages", "statement", "email"}


def _field_kind(label: str) -> str | None:
    low = " ".join(label.lower().split())
    if low in _BOLD_KIND or low.rstrip(":").strip() in _BOLD_KIND:
        return None  # '''Support''' is a vote, not a field
    for kind, rx in _FIELD_KINDS:
        if rx.search(low):
            return kind
    if low.endswith(("?", ":")):
        return "other"
    return None


def _store_field(app: Application, label: str, value: str) -> None:
    kind = _field_kind(label) or "other"
    name = label.rstrip(":").strip()
    plain = plain_text(without_struck(value[:MAX_READ])[0], limit=None)
    app.fields[name] = plain
    if kind == "languages":
        app.languages = _split_list(plain)
    elif kind == "queues":
        app.queues = [q for q in (_queue_name(x) for x in _split_list(plain)) if q]
    elif kind == "talk_pages":
        app.talk_pages = [m.group(1).strip() for m in LINK.finditer(value)]


def _split_list(text: str) -> list[str]:
    parts = re.split(r"\s*[,;/&·•]\s*(?:(?:and|und|en|et|y|e|og|och)\s+)?|"
                     r"\s+(?:and|und|en|et|y|e|og|och)\s+", text)
    return [p.strip(" .") for p in parts if p.strip(" .")]


def _queue_name(text: str) -> str:
    text = re.sub(r"\([^()]*\)", "", text).lower().strip()
    text = re.sub(r"@(?:wikimedia|wikipedia)\.org$", "", text)
    text = re.sub(r"\s+queues?$", "", text)
    return re.sub(r"\s+", " ", text).strip(" .")


# Queues named in prose, for applications without a "Queues:" field line
# (2020's were free prose). Only names that cannot mean anything else: a
# queue's own name (info-en, permissions-commons, photosubmission), its
# address (permissions-commons@wikimedia.org, also spelled "(at)"), and
# "the German info queue" / "the permissions queue for Commons" phrases.
# "info" or "quality" alone is ordinary English and never counts. Kept as
# patterns here rather than read from the FAQ's queue list, so the parser
# stays free of I/O and of where that file lives.
_QUEUE_SITES = (r"commons|wikidata|wikinews|wikiquote|wikisource|wikivoyage|wiktionary|"
                r"wikibooks|wikiversity|species|meta|[a-z]{2,3}(?:-[a-z]{2,4})?")
_LANGUAGE_CODES = {
    "english": "en", "german": "de", "dutch": "nl", "french": "fr", "spanish": "es",
    "italian": "it", "portuguese": "pt", "polish": "pl", "russian": "ru", "japanese": "ja",
    "chinese": "zh", "arabic": "ar", "persian": "fa", "hebrew": "he", "turkish": "tr",
    "swedish": "sv", "czech": "cs", "hungarian": "hu", "korean": "ko", "indonesian": "id",
    "ukrainian": "uk", "greek": "el", "finnish": "fi", "danish": "da", "norwegian": "no",
    "catalan": "ca", "romanian": "ro", "vietnamese": "vi", "bengali": "bn", "bangla": "bn",
    "hindi": "hi", "urdu": "ur", "serbian": "sr", "croatian": "hr", "estonian": "et",
    "commons": "commons",
}
_LANGS = "|".join(sorted(_LANGUAGE_CODES, key=len, reverse=True))
_PROSE_QUEUE = re.compile(
    r"(?<![\w-])(?P<name>(?:info|permissions)-(?:" + _QUEUE_SITES + r")|photosubmission|"
    r"sister[ -]projects(?=\s+queue))(?![\w-])"
    r"|(?<![\w.-])(?P<box>info|permissions|photosubmission)\s*(?:@|\(at\)|\[at\])\s*wikimedia\.org"
    r"|\b(?P<lang1>" + _LANGS + r")(?:\s+(?:language|wikipedia))?\s+(?P<kind1>info|permissions?)\s+queue"
    r"|\b(?P<kind2>info|permissions?)\s+queue\s+(?:in|for)\s+(?:the\s+)?(?P<lang2>" + _LANGS + r")\b",
    re.IGNORECASE)


def _queues_in_prose(text: str) -> list[str]:
    """Queues the applicant names in their statement, in order, each once."""
    found: list[str] = []
    for m in _PROSE_QUEUE.finditer(text):
        if m.group("name"):
            queue = " ".join(m.group("name").lower().replace("-projects", " projects").split())
        elif m.group("box"):
            box = m.group("box").lower()
            queue = box if box == "photosubmission" else f"{box}-en"
        else:
            kind = (m.group("kind1") or m.group("kind2")).lower()
            kind = "info" if kind == "info" else "permissions"
            lang = _LANGUAGE_CODES[(m.group("lang1") or m.group("lang2")).lower()]
            if lang == "commons" and kind == "info":
                continue  # no such queue: say nothing rather than guess
            queue = f"{kind}-{lang}"
        if queue not in found:
            found.append(queue)
    return found


@dataclass
class _Contribution:
    """What one block says, worked out once."""

    block: _Block
    sig: Sig
    content: str  # without the signature
    unstruck: str
    struck_lead: str | None
    mark: tuple[str | None, str | None]
    mark_end: int  # excerpts start after the mark ('''Support''' is not news)

    @classmethod
    def read(cls, block: _Block) -> _Contribution:
        text = "\n".join(block.lines)
        sig = signature(text) if block.signed else Sig(None, None, len(text))
        content = strip_sig_debris(text[:sig.start]) if sig.signed else text
        unstruck, lead = without_struck(content)
        mark, mark_end = _mark_at(unstruck)
        return cls(block, sig, content, unstruck, lead, mark, mark_end)


def _parse_section(applicant: str, via_link: bool, anchor: str, heading: str,
                   body: str) -> Application | None:
    app = Application(applicant=applicant, anchor=anchor, heading=heading)
    header = True
    statement: list[str] = []
    has_fields = False
    for block in _blocks(body):
        c = _Contribution.read(block)
        signer, when = c.sig.signer, c.sig.when
        fm = _field_match(c.content) if block.is_field else None
        field_kind = _field_kind(fm.label + fm.colon) if fm else None
        if header:
            if (c.sig.signed and signer and signer != app.applicant and not via_link
                    and _names_heading(heading, c.sig)):
                # "=== Masum Reza ===" over [[User:Masumrezarock100|Masum Reza]]:
                # the heading is the display name; the user is the applicant.
                app.applicant = signer
            if fm and field_kind and block.depth <= 1:
                has_fields = has_fields or field_kind in _COUNTING_FIELDS
                _store_field(app, fm.label + fm.colon, fm.value)
                if field_kind == "statement":
                    statement.append(plain_text(without_struck(fm.value[:MAX_READ])[0], limit=None))
                if c.sig.signed:
                    app.opened, app.opened_by = when, signer
                    header = False
                continue
            if _is_statement(app, c, bool(statement) or has_fields):
                statement.append(plain_text(c.unstruck[:MAX_READ], limit=None))
                if c.sig.signed:
                    app.opened, app.opened_by = when, signer
                    header = False
                continue
            header = False
        elif fm and field_kind in _COUNTING_FIELDS and not c.sig.signed:
            # a form line added after the statement ("Email sent: yes")
            _store_field(app, fm.label + fm.colon, fm.value)
            continue
        comment = _classify(app, c)
        if comment is not None:
            app.comments.append(comment)
            if len(app.comments) >= MAX_COMMENTS:
                break
    app.statement = " ".join(p for p in statement if p).strip()
    if not app.queues:  # no field line names them: the statement may
        app.queues = _queues_in_prose(app.statement)
    signers = {c.signer for c in app.comments} | {app.opened_by}
    if not (via_link or has_fields or app.applicant in signers):
        return None  # a heading that is not a username, or a talk-page thread
    if not app.opened_by:
        app.opened_by = app.applicant
    app.comments = mark_answered(app.applicant, app.comments)
    _apply_status(app)
    return app


def _names_heading(heading: str, sig: Sig) -> bool:
    """Whether the heading spells the signer: as their signature's link text
    ("Masum Reza"), or as their username in another case ("foo bar" for
    Foo Bar)."""
    wanted = {heading.casefold(), _HEADING_SUFFIX.sub("", heading).casefold()}
    shown = " ".join(render(sig.display).split()).casefold() if sig.display else None
    return shown in wanted or (sig.signer or "").casefold() in wanted


def _is_statement(app: Application, c: _Contribution, have_statement: bool) -> bool:
    """Whether a block before the first signature is the applicant's own
    text: signed by them, or prose that is neither a vote nor addressed to
    someone; at list depth, only while nothing else has been said."""
    if c.sig.signed and c.sig.signer == app.applicant:
        return True
    if c.mark != _NO_MARK or c.struck_lead is not None or _PING_START.match(c.unstruck):
        return False
    if c.block.depth == 0 or not c.sig.signed:
        return True
    return not have_statement


def _classify(app: Application, c: _Contribution) -> Comment | None:
    signer, when, depth = c.sig.signer, c.sig.when, c.block.depth
    kind, status = c.mark
    struck_vote = False
    if kind is None and c.struck_lead is not None:
        # "<s>{{Oppose}} Account too new.</s> Struck, I misread": a vote taken back
        lead_kind, _ = _leading_mark(c.struck_lead)
        if lead_kind in VOTE_KINDS:
            kind, struck_vote = lead_kind, True
    readable = plain_text(c.unstruck[c.mark_end:c.mark_end + MAX_READ], limit=None)
    excerpt = cut(readable, 200)
    if not c.sig.signed and not excerpt and kind is None:
        return None  # an empty bullet
    is_applicant = signer is not None and signer == app.applicant
    if kind == "status":
        if is_applicant and status != "withdrawn":
            kind, status = "reply", None  # "{{done}} I sent the email" is not an approval
    elif kind in VOTE_KINDS or kind == "question":
        if is_applicant and not struck_vote:
            kind = "reply"  # applicants do not endorse or question themselves
    else:
        prose = _prose_status(readable, depth)
        if is_applicant:
            kind, status = ("status", "withdrawn") if prose == "withdrawn" else ("reply", None)
        elif prose:
            kind, status = "status", prose
        elif _asks_applicant(app.applicant, c.unstruck[:MAX_READ], readable):
            kind = "question"
        elif kind is None and depth >= 2:
            kind = "reply"
        else:
            kind = "comment"
    # Identity of unsigned text across revisions: whitespace edits
    # ("* {{s}}" -> "*{{s}}") must not make it a new comment.
    normalised = "".join(c.unstruck.split())
    digest = hashlib.sha1(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return Comment(signer=signer, time=when, kind=kind, depth=depth, excerpt=excerpt,
                   status=status, struck_vote=struck_vote, digest=digest)


def _apply_status(app: Application) -> None:
    """The latest status mark wins; a reopening returns to ``open``."""
    marks = [c for c in app.comments if c.kind == "status" and c.status]
    if not marks:
        return
    latest = max(enumerate(marks), key=lambda im: (im[1].time or _EPOCH, im[0]))[1]
    app.status = latest.status or "open"
    if app.status == "open":
        app.closed = app.closed_by = None
    else:
        app.closed = latest.time
        app.closed_by = latest.signer

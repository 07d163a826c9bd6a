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
* Where a regular expression cannot be exact -- a template inside a
  template (``{{unsigned|X|{{date}}}}``, ``{{small|{{ping|X}}}}``), a link
  inside a template's parameters, unbalanced braces, a struck span inside a
  struck span -- that piece of text goes to mwparserfromhell, which knows
  which pipe and which ``</s>`` belongs to what. Tokenizing a whole page
  with it costs over a second, so it is used only for those pieces.
"""
from __future__ import annotations

import hashlib
import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, NamedTuple
from urllib.parse import unquote

import mwparserfromhell
from mwparserfromhell.nodes import (Argument, ExternalLink, Heading, HTMLEntity, Tag,
                                    Template, Text, Wikilink)
from mwparserfromhell.nodes import Comment as WikiComment
from mwparserfromhell.wikicode import Wikicode

from .names import normalize_username

__all__ = [
    "Application",
    "Comment",
    "STATUSES",
    "iso",
    "parse_page",
    "parse_timestamp",
    "section_cache_clear",
    "section_cache_info",
]

STATUSES = ("open", "approved", "declined", "withdrawn", "on hold")

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
_VOTE_KINDS = ("support", "oppose", "neutral")
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
    **{n: v for n, v in _TEMPLATE_KIND.items() if len(n) > 2},
}
for _w in _VOTE_KINDS:
    for _q in ("strong", "weak", "mild", "tentative", "conditional"):
        _BOLD_KIND[f"{_q} {_w}"] = (_w, None)

# Templates that notify someone: a contribution opening with one is
# addressed to that person (a question when it asks the applicant something).
_PING_TEMPLATES = {"ping", "reply to", "replyto", "re", "yo", "reply",
                   "rto", "re:", "replyto2", "mention", "pinging", "ping2"}
# Templates that merely name a user: rendered as the name in excerpts.
_MENTION_TEMPLATES = {"u", "user", "noping", "no ping", "user2", "userlinks",
                      "ul", "user-multi", "vandal", "user link"}
# Templates that show another template's name: ``{{tl|support}}`` talks
# about the support template, it is not a vote.
_TL_TEMPLATES = {"tl", "tlx", "tls", "tlc", "tlf", "tlp", "tlg", "tnull",
                 "template link", "tl2"}
# Templates that only format their text (``{{small|{{ping|X}} ...}}``,
# ``{{color|green|'''Support'''}}``): they show their last positional
# parameter, so excerpts and marks look inside them.
_WRAPPER_TEMPLATES = {"small", "smaller", "big", "larger", "nowrap", "tq", "tqi",
                      "talk quote", "talkquote", "xt", "!xt", "color", "colour",
                      "font color", "fontcolor", "resize"}
_UNSIGNED_TEMPLATES = {"unsigned", "unsigned2", "unsignedip", "unsigned ip",
                       "unsigned-ip", "unsignedip2", "nicht signiert",
                       "unsigned3", "niet ondertekend"}
_STRIKE_TAGS = ("s", "del", "strike")
# Tags whose contents MediaWiki does not render as wikitext (or that only
# quote markup): votes and signatures inside them never count.
_HIDDEN_TAGS = ("pre", "nowiki", "source", "syntaxhighlight", "code",
                "math", "ref", "templatedata", "score", "graph", "timeline",
                "hiero", "chem", "ce")
# Inline tags people wrap around a vote or a signature; skipped when looking
# for the mark a contribution opens with.
_DECOR_TAGS = {"span", "font", "small", "big", "sup", "sub", "i", "em", "u",
               "li", "dd", "dt", "br", "p", "div", "center", "abbr", "ins",
               "mark", "tt", "b", "strong"}

# User namespaces as they appear in signatures on Meta and linked home wikis.
_USER_NS = (
    "user", "u", "user talk", "ut", "benutzer", "benutzerin",
    "benutzer diskussion", "benutzerin diskussion", "bd",
    "gebruiker", "overleg gebruiker", "utilisateur", "utilisatrice",
    "discussion utilisateur", "discussion utilisatrice", "usuario",
    "usuaria", "usuario discusión", "usuaria discusión", "usuário",
    "usuária", "usuário discussão", "usuária discussão", "utente",
    "discussioni utente", "użytkownik", "użytkowniczka",
    "dyskusja użytkownika", "dyskusja użytkowniczki", "участник",
    "участница", "обсуждение участника", "обсуждение участницы",
    "користувач", "обговорення користувача", "användare",
    "användardiskussion", "bruger", "brugerdiskussion", "bruker",
    "brukerdiskusjon", "käyttäjä", "keskustelu käyttäjästä",
    "uživatel", "diskuse s uživatelem", "kullanıcı", "kullanıcı mesaj",
    "kullanıcı mesajı", "felhasználó", "szerkesztő", "szerkesztővita",
    "utilizator", "discuție utilizator", "χρήστης", "συζήτηση χρήστη",
    "משתמש", "שיחת משתמש", "مستخدم", "نقاش المستخدم", "کاربر",
    "بحث کاربر", "सदस्य", "सदस्य वार्ता", "ব্যবহারকারী",
    "ব্যবহারকারী আলোচনা", "利用者", "利用者‐会話", "利用者-会話",
    "사용자", "사용자토론", "用户", "用戶", "user_talk",
    "pengguna", "perbincangan pengguna", "bicara pengguna", "thành viên",
    "thảo luận thành viên", "korisnik", "razgovor s korisnikom", "kasutaja",
    "usuari", "usuària", "discussió usuari", "lankide", "erabiltzaile",
)
_CONTRIB_NS = ("special", "spezial", "speciaal", "spécial", "especial",
               "speciale", "specjalna", "служебная", "special talk")
_CONTRIB_PAGES = ("contributions", "contribs", "beiträge", "bijdragen",
                  "contribuciones", "contribuições", "contributi", "wkład",
                  "вклад")

_FILE_LINK = re.compile(r"^\s*(?:file|image|datei|bild|fichier|bestand|archivo|imagen|"
                        r"category|kategorie|catégorie|categorie|categoría)\s*:", re.I)

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july",
     "august", "september", "october", "november", "december"], 1)}
# Signatures copied from other wikis or typed by hand sometimes abbreviate.
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_TIMESTAMP = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2}),\s*(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+)\.?\s+"
    r"(?P<y>\d{4})\s*\((?:UTC|utc)\)"
)
_TIMESTAMP_BEFORE = re.compile(_TIMESTAMP.pattern + r"$")
# {{unsigned|User|date}}: people fill in the date by hand, often without "(UTC)".
_LOOSE_TIMESTAMP = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2}),\s*(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+)\.?\s+(?P<y>\d{4})"
)
_FIELD = re.compile(
    r"^[*#:]*\s*'''\s*(?P<label>(?:[^']|'(?!''))+?)\s*'''\s*(?P<colon>:?)\s*(?P<value>.*)$",
    re.S,
)
_LIST_PREFIX = re.compile(r"^[*#:;]+")
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e]")


def _last_timestamp(text: str) -> re.Match[str] | None:
    """The last signature timestamp in *text*. Found from its "(UTC)" end,
    which is far cheaper than running the timestamp pattern over every
    comment; each "(UTC)" is looked at once, so a line of thousands of
    them stays linear."""
    upper, lower = text.rfind("(UTC)"), text.rfind("(utc)")
    while upper >= 0 or lower >= 0:
        if upper >= lower:
            i, upper = upper, text.rfind("(UTC)", 0, upper)
        else:
            i, lower = lower, text.rfind("(utc)", 0, lower)
        m = _TIMESTAMP_BEFORE.search(text, max(0, i - 40), i + 5)
        if m:
            return m
    return None


def _has_timestamp(text: str) -> bool:
    return ("(UTC)" in text or "(utc)" in text) and _last_timestamp(text) is not None


def parse_timestamp(text: str) -> datetime | None:
    """The UTC time of a MediaWiki signature (``11:32, 19 January 2020 (UTC)``)."""
    m = _TIMESTAMP.search(text)
    return _timestamp_from_match(m) if m else None


def _timestamp_from_match(m: re.Match[str]) -> datetime | None:
    hour, minute, day, mon, year = m.group("h", "m", "d", "mon", "y")
    month = _MONTHS.get(mon.lower())
    if not month:
        return None
    try:
        return datetime(int(year), month, int(day), int(hour), int(minute), tzinfo=timezone.utc)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Comment:
    """One signed contribution below an application.

    ``signer`` is ``None`` for unsigned text: the tracker credits it to the
    editor of the revision that added it, and recognises it by ``digest``.
    """

    signer: str | None
    time: datetime | None
    kind: str  # support oppose neutral comment question reply status
    depth: int
    excerpt: str
    status: str | None = None  # for kind == "status"
    struck_vote: bool = False  # a vote that was struck out afterwards
    digest: str = ""

    @property
    def key(self) -> tuple[str | None, str | None]:
        """Identity within its application: (signer, ISO time)."""
        return (self.signer, self.time.isoformat() if self.time else None)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class Application:
    """One applicant's section, as the page shows it now."""

    applicant: str
    anchor: str
    heading: str
    opened: datetime | None = None
    opened_by: str | None = None
    languages: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    talk_pages: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    statement: str = ""
    status: str = "open"
    closed: datetime | None = None
    closed_by: str | None = None
    comments: list[Comment] = field(default_factory=list)

    def votes(self, kind: str) -> list[str]:
        """Signers of current votes of *kind*, each once, in order of voting.

        A person's latest unstruck vote is the one that counts: someone who
        moves from oppose to support is a supporter only. "Latest" is by
        signature time (page order for equal or missing times), because
        people insert their new vote wherever the thread suits them.
        """
        current: dict[str, tuple[tuple[datetime, int], str]] = {}
        for i, c in enumerate(self.comments):
            if c.kind in _VOTE_KINDS and c.signer and not c.struck_vote:
                order = (c.time or _EPOCH, i)
                prev = current.get(c.signer)
                if prev is None or order >= prev[0]:
                    current[c.signer] = (order, c.kind)
        ranked = sorted(current.items(), key=lambda item: item[1][0])
        return [signer for signer, (_, k) in ranked if k == kind]

    @property
    def support(self) -> list[str]:
        return self.votes("support")

    @property
    def oppose(self) -> list[str]:
        return self.votes("oppose")

    @property
    def neutral(self) -> list[str]:
        return self.votes("neutral")

    @property
    def questions(self) -> list[Comment]:
        return [c for c in self.comments if c.kind == "question"]

    def open_questions(self) -> list[Comment]:
        """Questions the applicant has not answered after they were asked."""
        answered_after = [c.time for c in self.comments
                          if c.signer == self.applicant and c.time]
        return [q for q in self.questions
                if not q.time or not any(t > q.time for t in answered_after)]

    @property
    def last_activity(self) -> tuple[datetime | None, str | None]:
        times = [(c.time, c.signer) for c in self.comments if c.time]
        if self.opened:
            times.append((self.opened, self.opened_by or self.applicant))
        if not times:
            return (None, None)
        return max(times, key=lambda t: t[0])

    def to_json(self) -> dict:
        """The ``scan --json`` shape documented in DESIGN.md."""
        last, last_by = self.last_activity
        return {
            "applicant": self.applicant,
            "status": self.status,
            "opened": iso(self.opened),
            "closed": iso(self.closed),
            "closed_by": self.closed_by,
            "queues": list(self.queues),
            "languages": list(self.languages),
            "support": self.support,
            "oppose": self.oppose,
            "neutral": self.neutral,
            "questions": len(self.questions),
            "comments": len(self.comments),
            "last_activity": iso(last),
            "last_by": last_by,
            "anchor": self.anchor,
        }


def iso(t: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z``, as the JSON contract spells times."""
    if t is None:
        return None
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# The page: hidden text, headings, sections
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


def _headings(text: str) -> list[re.Match[str]]:
    """Heading lines: ``=`` at the start of a line, closed on the same line.
    Only line starts with ``=`` are tried, not every position of the page."""
    found = []
    pos = 0 if text.startswith("=") else text.find("\n=") + 1
    while pos > 0 or text.startswith("="):
        m = _HEADING.match(text, pos)
        if m:
            found.append(m)
        nxt = text.find("\n=", pos + 1)
        if nxt < 0:
            break
        pos = nxt + 1
    return found


_HIDDEN_OPEN = re.compile(
    r"<!--|<(" + "|".join(_HIDDEN_TAGS) + r")\b[^<>]*?(/?)>", re.IGNORECASE)
_CLOSE_TAG: dict[str, re.Pattern[str]] = {
    name: re.compile(r"</" + name + r"\s*>", re.IGNORECASE)
    for name in _HIDDEN_TAGS + _STRIKE_TAGS + ("b", "strong")
}


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
    text = _visible_wikitext((wikitext or "").replace("\r\n", "\n").replace("\r", "\n"))
    heads = _headings(text)
    anchors = _anchors([_heading_text(_heading_title(m)[1]) for m in heads])
    apps: list[Application] = []
    pending: _Pending | None = None
    for i, m in enumerate(heads):
        level, title = _heading_title(m)
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end():end]
        if (pending is not None and level > pending.level
                and _SUBSECTION.match(_heading_text(title)) and not _heading_user(title)):
            pending.bodies.append(body)
            continue
        if pending is not None:
            app = pending.parse()
            if app is not None:
                apps.append(app)
            pending = None
        found = _applicant_from_heading(title)
        if found:
            pending = _Pending(level, found[0], found[1], anchors[i],
                               _heading_text(title), [body])
    if pending is not None:
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

    The key is every argument of ``_parse_section``: the applicant and
    whether a user link named them (both read from the heading), the anchor
    (which depends on the headings above, so a section moved below a
    namesake gets a new entry), the heading text and the visible body after
    hidden text was removed page-wide (so an unclosed ``<!--`` above changes
    the key). The parse is a pure function of these, so a hit is exactly
    what a parse would return.

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

    def parse(self, applicant: str, via_link: bool, anchor: str, heading: str,
              body: str) -> Application | None:
        key = (applicant, via_link, anchor, heading, body)
        with self._lock:
            frozen = self._data.get(key, _MISSING)
            if frozen is not _MISSING:
                self._data.move_to_end(key)
                self.hits += 1
        if frozen is not _MISSING:
            return None if frozen is None else _thaw(frozen)
        app = _parse_section(applicant, via_link, anchor, heading, body)
        frozen = None if app is None else _freeze(app)
        with self._lock:
            self.misses += 1
            if key not in self._data:
                self._data[key] = frozen
                self._chars += len(body)
            while self._data and (len(self._data) > self.maxsize or self._chars > self.maxchars):
                old, _ = self._data.popitem(last=False)
                self._chars -= len(old[4])
        return None if frozen is None else _thaw(frozen)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self.hits, self.misses, self.maxsize, len(self._data))

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
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


def _thaw(frozen: _Frozen) -> Application:
    """A new Application with its own lists and dicts."""
    kwargs = {}
    for name, value in frozen:
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


def _visible_wikitext(text: str) -> str:
    """The page without HTML comments and non-wikitext tags (``<pre>``,
    ``<source>``, ...), whose contents never count as headings, votes or
    signatures; ``<nowiki>`` text stays as inert text (see ``_inert``).

    A single left-to-right scan, so ``<!-- <pre> -->`` and
    ``<pre><!-- --></pre>`` both read as MediaWiki reads them. An unclosed
    comment hides the rest of the page (as on the wiki); an unclosed tag is
    literal text. Each tag name's closing tag is searched for at most once
    after it was found missing, so a page full of unclosed tags stays linear.
    This runs on the whole page before it is cut into sections, because a
    comment or ``<pre>`` may hide a heading; it is a plain scan rather than
    mwparserfromhell because MediaWiki, too, strips these before it parses
    anything else, and because tokenizing the page would cost a second.
    """
    if "<" not in text:
        return text
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    while True:
        m = _HIDDEN_OPEN.search(text, pos)
        if not m:
            break
        out.append(text[pos:m.start()])
        if m.group(0) == "<!--":
            end = text.find("-->", m.end())
            pos = len(text) if end < 0 else end + 3
            continue
        name = m.group(1).lower()
        if m.group(2):  # self-closing: <nowiki/>, <ref name="x" />
            pos = m.end()
            continue
        close = None if name in unclosed else _CLOSE_TAG[name].search(text, m.end())
        if close is None:
            unclosed.add(name)
            out.append(m.group(0))
            pos = m.end()
            continue
        if name == "nowiki" and not _LINE_OPENING.fullmatch(
                text, text.rfind("\n", 0, m.start()) + 1, m.start()):
            out.append(_inert(text[m.end():close.start()]))
        pos = close.end()
    out.append(text[pos:])
    return "".join(out)


_INERT = str.maketrans({**{ch: f"&#{ord(ch)};" for ch in "{}[]<>'~=|*#:;()-"}, "\n": " "})
_LINE_OPENING = re.compile(r"[\s*#:;]*")


def _inert(text: str) -> str:
    """``<nowiki>`` text inside a sentence as readers see it, with every
    character that could be read as markup written as an HTML entity:
    ``Please use <nowiki>{{support}}</nowiki> here`` keeps its words in the
    excerpt, but no template, link, bold vote, list prefix, line break or
    "(UTC)" of a signature is left for the parser to find in it. Entities
    are decoded with the rest of the text when it is rendered, as MediaWiki
    decodes them in nowiki. Nowiki text that opens a line is a quoted
    example (``<nowiki>*{{oppose}} ~~~~</nowiki>``) and is dropped, so it
    never becomes a contribution of its own."""
    return text.translate(_INERT)


def _heading_title(m: re.Match[str]) -> tuple[int, str]:
    """Level and title as MediaWiki reads an unbalanced ``=== x ==``: the
    shorter run of ``=`` is the level, the rest belongs to the title."""
    left, inner, right = m.groups()
    level = min(len(left), len(right))
    return level, "=" * (len(left) - level) + inner + "=" * (len(right) - level)


def _heading_text(title: str) -> str:
    """The heading as readers see it: the text its section anchor is made of."""
    return " ".join(_render(title).split())


def _anchors(texts: list[str]) -> list[str]:
    """MediaWiki's section anchors: spaces as underscores, and ``_2``, ``_3``
    for repeats, compared case-insensitively (ASCII) as the wiki does."""
    refers: set[str] = set()
    out = []
    for text in texts:
        anchor = text.replace(" ", "_")
        key = anchor.translate(_ASCII_LOWER)
        if key in refers:
            i = 2
            while f"{key}_{i}" in refers:
                i += 1
            anchor = f"{anchor}_{i}"
            refers.add(f"{key}_{i}")
        else:
            refers.add(key)
        out.append(anchor)
    return out


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_HEADING_SUFFIX = re.compile(
    r"\s*\((?:\d+|\d+(?:st|nd|rd|th)|again|second|third|re-?appl\w*|"
    r"\w+ application|\w+ request)\)\s*$", re.IGNORECASE)
_USER_PREFIX = re.compile(r"^\s*(?:user|benutzer|gebruiker|utilisateur|usuario)\s*:\s*", re.IGNORECASE)
_USER_TEMPLATE_NAMES = {"user", "u", "userlinks", "user2", "ul", "user-multi", "vandal"}


def _heading_user(title: str) -> str | None:
    """The user a heading links to (``[[User:X|...]]``, ``{{user|X}}``)."""
    if "[[" in title:
        for m in _LINK.finditer(title):
            name = _user_from_link_target(m.group(1))
            if name:
                return name
    if "{{" in title:
        for call in _calls(title):
            if call.name in _USER_TEMPLATE_NAMES and call.args:
                user = _param_user(call.args[0])
                if user:
                    return user
    return None


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
    name = _username(text)
    return (name, False) if name else None


# ---------------------------------------------------------------------------
# Users and signatures
# ---------------------------------------------------------------------------

def _username(raw: str) -> str:
    """A username from link or template text: entities and %-escapes
    decoded and bidi controls dropped (MediaWiki strips them from titles, so
    ``[[User:\\u202eX]]`` is User:X), then normalised."""
    if "&" in raw:
        raw = html.unescape(raw)
    if "%" in raw:
        raw = unquote(raw)
    return normalize_username(_BIDI.sub("", raw))


_USER_NS_SET = frozenset(_USER_NS)
_CONTRIB_NS_SET = frozenset(_CONTRIB_NS)
_CONTRIB_PAGES_SET = frozenset(_CONTRIB_PAGES)
_INTERWIKI_PREFIX = re.compile(r"[a-z][a-z0-9\-]*")


@lru_cache(maxsize=8192)
def _user_from_link_target(target: str) -> str | None:
    """The user a link points to: a user or user talk page (subpages and
    anchors included) or their contributions, on any wiki, through any
    interwiki prefixes (``:de:Benutzer:X``, ``w:en:User talk:X``)."""
    target = target.replace("_", " ")
    if "&" in target:
        target = html.unescape(target)
    parts = target.split(":")
    for i, part in enumerate(parts[:-1]):
        ns = " ".join(part.split()).lower()
        if ns in _USER_NS_SET:
            name = ":".join(parts[i + 1:])  # IPv6 addresses contain colons
            return _username(name.split("/", 1)[0].split("#", 1)[0]) or None
        if ns in _CONTRIB_NS_SET:
            page, slash, name = ":".join(parts[i + 1:]).partition("/")
            if slash and " ".join(page.split()).lower() in _CONTRIB_PAGES_SET and "/" not in name:
                return _username(name.split("#", 1)[0]) or None
            return None
        if not (ns == "" and i == 0) and not _INTERWIKI_PREFIX.fullmatch(ns):
            return None  # a namespace that is not a user's, e.g. Wikipedia:
    return None


_LINK = re.compile(r"\[\[([^\[\]|]+)(?:\|([^\[\]]*))?\]\]")
# A signature is at most 255 characters of markup (MediaWiki's limit) before
# its timestamp; a user link further back is a mention in the text.
_SIG_WINDOW = 300


class _Sig(NamedTuple):
    signer: str | None
    when: datetime | None
    start: int  # where the signature (or the timestamp) starts
    display: str = ""  # the signer's link text, as the heading may spell it

    @property
    def signed(self) -> bool:
        return self.signer is not None or self.when is not None


def _signature(text: str) -> _Sig:
    """The last signature in *text*: signer, time and where it starts.

    The signer is the last user, user talk or contributions link shortly
    before the timestamp; ``{{unsigned|User|date}}`` names the signer when
    it comes after the last timestamp. Struck signatures still sign.
    """
    unsigned = _unsigned_template(text) if _may_be_unsigned(text) else None
    stamp = _last_timestamp(text)
    if unsigned is not None and (stamp is None or unsigned[1] >= stamp.end()):
        return unsigned[0]
    if stamp is None:
        return _Sig(None, None, len(text))
    when = _timestamp_from_match(stamp)
    signer, start, display = _signature_links(text, stamp.start())
    return _Sig(signer, when, start if signer else stamp.start(), display)


def _may_be_unsigned(text: str) -> bool:
    """A cheap test before looking for ``{{unsigned}}`` in every comment."""
    return "nsigned" in text or "NSIGNED" in text or "signiert" in text or "ondertekend" in text


def _unsigned_template(text: str) -> tuple[_Sig, int] | None:
    """The last ``{{unsigned}}`` in *text* as a signature, and where it ends.

    The user is the first parameter that is not a date (``{{unsigned2}}``
    puts the date first), given as a name, a user link or ``{{u|X}}``; a
    date without "(UTC)" is accepted here because people fill it in by
    hand, and one the wiki fills in (``{{unsigned|X|{{date}}}}``) is no
    date we can read. Nested parameters are split by mwparserfromhell
    (see ``_call``).
    """
    found = None
    for start, end in _template_spans(text):
        call = _call(text[start + 2:end - 2])
        if call.name in _UNSIGNED_TEMPLATES:
            found = (start, end, call)
    if found is None:
        return None
    start, end, call = found
    values = list(call.args)
    for key, value in call.named:
        if key.lower() in ("user", "date") or _LOOSE_TIMESTAMP.search(value):
            values.append(value)
    user = None
    when = None
    for value in values:
        stamp = _LOOSE_TIMESTAMP.search(value)
        if stamp:
            if when is None:
                when = _timestamp_from_match(stamp)
        elif user is None:
            user = _param_user(value) or None
    return _Sig(user, when, start), end


def _param_user(value: str) -> str:
    """The user a template parameter names: as text (``X``), as a user link
    (``[[User:X|Y]]``: X) or through markup (``{{u|X}}``); "" for none."""
    if "[[" in value:
        for m in _LINK.finditer(value):
            user = _user_from_link_target(m.group(1))
            if user:
                return user
    if "{{" in value or "[[" in value or "<" in value or "'" in value:
        value = _render(value)
    return _username(value.strip())


def _signature_links(text: str, stamp_start: int) -> tuple[str | None, int, str]:
    """(signer, where the signature starts, the signer's link text).

    The signature starts at the signer's first link in an unbroken run of
    their own links (``[[User:X|X]] ([[User talk:X|talk]])``), so a
    self-mention earlier in the text is not taken for the signature.
    """
    lo = max(0, stamp_start - _SIG_WINDOW)
    cands = []
    for m in _LINK.finditer(text, lo, stamp_start):
        name = _user_from_link_target(m.group(1))
        if name:
            cands.append((m.start(), m.end(), name, m.group(2) or ""))
    if not cands:
        return (None, stamp_start, "")
    signer = cands[-1][2]
    first = len(cands) - 1
    while first > 0 and cands[first - 1][2] == signer and cands[first][0] - cands[first - 1][1] <= 80:
        first -= 1
    return (signer, cands[first][0], cands[first][3])


_SIG_DEBRIS_TOKENS = ("--", "\u2014", "\u2013", "&mdash;", "&ndash;", "&nbsp;", "~", "(", "[")
_SIG_DEBRIS_LAST = frozenset(tok[-1] for tok in _SIG_DEBRIS_TOKENS)
_OPEN_TAG_TAIL = re.compile(r"<[a-zA-Z][^<>]*>")


def _strip_sig_debris(text: str) -> str:
    """The text without what precedes a signature on the same line: dashes,
    tildes, an opening bracket or ``<span ...>``. Done from the end, token by
    token and without copying, because a right-anchored regex retries at
    every space of a long comment."""
    end = len(text)
    while True:
        before = end
        while end and text[end - 1].isspace():
            end -= 1
        last = text[end - 1] if end else ""
        for tok in _SIG_DEBRIS_TOKENS if last in _SIG_DEBRIS_LAST else ():
            if text.endswith(tok, 0, end):
                end -= len(tok)
                break
        else:
            if last == ">":
                i = text.rfind("<", 0, end)
                if i >= 0 and _OPEN_TAG_TAIL.fullmatch(text, i, end):
                    end = i
        if end == before:
            return text[:end]


# ---------------------------------------------------------------------------
# Wikitext to readable text
# ---------------------------------------------------------------------------

_TEMPLATE_SIMPLE = re.compile(r"\{\{([^{}]*)\}\}")
_BRACES = re.compile(r"\{\{|\}\}")
_EXTLINK = re.compile(r"\[(?:https?:|ftp:)?//[^\s\]]+(?:\s+([^\]]*))?\]", re.IGNORECASE)
_ANY_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?/?>")
_BREAK_TAGS = {"br", "p", "div", "li", "dd", "dt", "hr", "tr", "td", "th"}
_TL_OPEN, _TL_CLOSE = "\ue000", "\ue001"  # protect {{tl|x}} output from re-rendering

# Tests set this to send every piece of text through mwparserfromhell, to
# check that the regular-expression fast paths give the same results.
_ALWAYS_TREE = False


@lru_cache(maxsize=512)
def _tree(text: str) -> Wikicode:
    """mwparserfromhell's tree of a piece of a contribution, cached because
    one contribution's pieces are looked at several times. Never modified:
    whoever needs to change a tree parses their own copy."""
    return mwparserfromhell.parse(text)


class _Call(NamedTuple):
    """A template call: normalised name, positional parameters and the rest.

    ``1=``, ``2=`` count as the positions they name, as in MediaWiki
    (``{{reply to|1=X}}`` pings X); a later value for a position wins.
    Values are wikitext, stripped.
    """

    name: str
    args: tuple[str, ...]
    named: tuple[tuple[str, str], ...]


def _template_name(raw: str) -> str:
    name = " ".join(raw.replace("_", " ").split()).lower()
    for prefix in ("template:", "subst:", "safesubst:", "msg:"):
        if name.startswith(prefix):
            name = name[len(prefix):].strip()
    return name


def _make_call(name: str, params: list[tuple[str | None, str]]) -> _Call:
    numbered: dict[int, str] = {}
    named: list[tuple[str, str]] = []
    position = 0
    for key, value in params:
        if key is None:
            position += 1
            numbered[position] = value.strip()
        elif key.isdigit():
            numbered[int(key)] = value.strip()
        else:
            named.append((key, value.strip()))
    return _Call(_template_name(name), tuple(numbered[k] for k in sorted(numbered)), tuple(named))


@lru_cache(maxsize=4096)
def _call(inner: str) -> _Call:
    """The template call ``{{inner}}``.

    Without a nested template or link in *inner*, splitting at ``|`` and
    the first ``=`` is exactly how MediaWiki reads it, and costs
    microseconds. With one (``{{ping|{{u|A}}|[[User:B|B]]}}``), the pipes
    inside the nested parts are not separators: mwparserfromhell splits it.
    """
    if _ALWAYS_TREE or "{{" in inner or "[[" in inner:
        code = _tree("{{" + inner + "}}")
        if len(code.nodes) == 1 and isinstance(code.nodes[0], Template):
            return _call_of(code.nodes[0])
    name, _, rest = inner.partition("|")
    params: list[tuple[str | None, str]] = []
    if rest:
        for part in rest.split("|"):
            key, eq, value = part.partition("=")
            params.append((key.strip(), value) if eq else (None, part))
    return _make_call(name, params)


def _call_of(node: Template) -> _Call:
    return _make_call(str(node.name), [
        (str(p.name).strip() if p.showkey else None, str(p.value)) for p in node.params])


def _render_template_node(node: Template, tl_open: str = "{{", tl_close: str = "}}") -> str:
    """``_render_call`` for a template in a tree, rendering its parameters
    from the tree rather than parsing their text again."""
    call = _call_of(node)
    trees = {str(p.value).strip(): p.value for p in node.params}
    return _render_call(call, lambda a: _render_nodes(trees[a]) if a in trees else _render_arg(a),
                        tl_open, tl_close)


def _template_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every balanced ``{{...}}`` in *text*, nested ones
    included, in page order. Braces that never close are text, as in
    MediaWiki (``{{support without its braces``)."""
    stack: list[int] = []
    spans: list[tuple[int, int]] = []
    for m in _BRACES.finditer(text):
        if m.group() == "{{":
            stack.append(m.start())
        elif stack:
            spans.append((stack.pop(), m.end()))
    spans.sort()
    return spans


def _calls(text: str) -> list[_Call]:
    """Every template call in *text*, nested ones included, in page order."""
    if "{{" not in text:
        return []
    return [_call(text[start + 2:end - 2]) for start, end in _template_spans(text)]


def _render_call(call: _Call, arg: Callable[[str], str], tl_open: str = "{{",
                 tl_close: str = "}}") -> str:
    """What a template shows in an excerpt; *arg* renders a parameter."""
    name, args = call.name, call.args
    if name in _PING_TEMPLATES:
        shown = [arg(a) for a in args if a]
        return "@" + ", @".join(shown) if shown else ""
    if name in _MENTION_TEMPLATES:
        return ", ".join(arg(a) for a in args if a)
    if name in _TL_TEMPLATES and args:
        return tl_open + args[0] + tl_close
    if name in _WRAPPER_TEMPLATES and args:
        return arg(args[-1])
    if name == "@":
        return "@"
    if name == "!":
        return "|"
    return ""  # vote marks, icons, unsigned, anything else: no readable text


def _render_template(m: re.Match[str]) -> str:
    return _render_call(_call(m.group(1)), str, _TL_OPEN, _TL_CLOSE)


def _link_text(target: str, display: str | None) -> str:
    if _FILE_LINK.match(target):
        return ""
    if display is None:
        return target.strip().lstrip(":").strip()
    if not display.strip():  # the pipe trick: [[User:Example|]] shows "Example"
        shown = target.strip().rsplit(":", 1)[-1]
        return re.sub(r"\s*\([^()]*\)\s*$", "", shown).strip()
    return display


def _render_link(m: re.Match[str]) -> str:
    return _link_text(m.group(1), m.group(2))


def _needs_tree(s: str) -> bool:
    """Whether the templates in *s* are beyond the flat-template regex: one
    inside another, a link in one, braces left unbalanced or around text
    that cannot be a template's name."""
    if _ALWAYS_TREE:
        return True
    for inner in _TEMPLATE_SIMPLE.findall(s):
        if "[" in inner or "<" in inner.partition("|")[0]:
            return True  # a link in it, or a name no template can have: {{a [http://x]}} is text
    return "{{" in _TEMPLATE_SIMPLE.sub("", s)


def _render(text: str) -> str:
    """Wikitext as readers see it, minus what does not matter in an excerpt:
    templates (pings become ``@Name``, formatting templates their text),
    links as their text, tags, bold and italics, entities.

    Flat templates are replaced by one regular-expression pass; a template
    with templates or links inside is read by mwparserfromhell (only that
    template: tokenizing is the expensive part, and prose around it is
    flat). ``_render_tree`` renders a whole text from the tree; tests check
    that it agrees with this."""
    s = text
    if "{{" in s:
        if _ALWAYS_TREE:
            return _render_tree(s)
        if _needs_tree(s):
            s = _render_nested_templates(s)
        else:
            s = _TEMPLATE_SIMPLE.sub(_render_template, s)
        if _TL_OPEN in s:
            s = s.replace(_TL_OPEN, "{{").replace(_TL_CLOSE, "}}")
    if "[[" in s:
        for _ in range(3):
            new = _LINK.sub(_render_link, s)
            if new == s or "[[" not in new:
                s = new
                break
            s = new
    if "[" in s:
        s = _EXTLINK.sub(lambda m: m.group(1) or "", s)
    if "<" in s:
        s = _ANY_TAG.sub(_tag_gap, s)
    if "''''" in s:
        # ''a''{{x}}''b'' is ''a''''b'' once the template went: which quotes
        # pair up is a parse, and the tree's answer is MediaWiki's
        return _render_tree(text)
    return _finish(s)


def _tag_gap(m: re.Match[str]) -> str:
    return " " if m.group(1).lower() in _BREAK_TAGS else ""


def _finish(s: str) -> str:
    if "''" in s:
        s = s.replace("'''", "").replace("''", "")
    if "&" in s:
        s = html.unescape(s)
    return s


def _render_nested_templates(s: str) -> str:
    """*s* with each outermost balanced template replaced by what it shows,
    read from mwparserfromhell's tree of that template alone."""
    out: list[str] = []
    pos = 0
    for start, end in _template_spans(s):
        if start < pos:
            continue  # inside the template just rendered
        out.append(s[pos:start])
        code = _tree(s[start:end])
        if len(code.nodes) == 1 and isinstance(code.nodes[0], Template):
            out.append(_render_template_node(code.nodes[0], _TL_OPEN, _TL_CLOSE))
        else:  # braces that are no template ({{a [[b]]}}): text, with the templates inside shown
            out.append(_render_nodes(code))
        pos = end
    out.append(s[pos:])
    return "".join(out)


def _render_tree(text: str) -> str:
    """``_render`` by walking mwparserfromhell's tree: like its
    ``strip_code``, but pings and formatting templates keep their text and
    ``{{tl|x}}`` shows ``{{x}}``, as the flat path does."""
    return _finish(_render_nodes(_tree(text)))


def _render_arg(value: str) -> str:
    return _render_nodes(_tree(value)) if value else ""


def _render_nodes(code: Wikicode) -> str:
    out: list[str] = []
    for node in code.nodes:
        if isinstance(node, Text):
            value = node.value  # a tag left unclosed is text to the tree, markup to readers
            out.append(_ANY_TAG.sub(_tag_gap, value) if "<" in value else value)
        elif isinstance(node, Template):
            out.append(_render_template_node(node))
        elif isinstance(node, Wikilink):
            display = None if node.text is None else str(node.text)
            if display is not None and display.strip() and not _FILE_LINK.match(str(node.title)):
                out.append(_render_nodes(node.text))
            else:
                out.append(_link_text(str(node.title), display))
        elif isinstance(node, ExternalLink):
            if not node.brackets:
                out.append(str(node.url))
            elif node.title is not None:
                out.append(_render_nodes(node.title))
        elif isinstance(node, Tag):
            out.append(_render_tag(node))
        elif isinstance(node, HTMLEntity):
            out.append(str(node))  # decoded once, with the rest, by _finish
        elif isinstance(node, Heading):
            out.append(_render_nodes(node.title))
        elif isinstance(node, Argument):
            continue
        elif not isinstance(node, WikiComment):
            out.append(str(node))
    return "".join(out)


def _render_tag(node: Tag) -> str:
    name = str(node.tag).strip().lower()
    inner = _render_nodes(node.contents) if node.contents is not None else ""
    if node.wiki_markup:
        if name in ("b", "i"):
            return inner  # ''' and '' around text
        if node.self_closing:
            return node.wiki_markup  # list prefixes and rules, as the flat path keeps them
        return node.wiki_markup + inner + (node.closing_wiki_markup or "")
    gap = " " if name in _BREAK_TAGS else ""
    if node.self_closing:
        return gap
    return gap + inner + gap


_LINE_LIST_PREFIX = re.compile(r"(?m)^[ \t]*[*#:;]+")


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _plain(wikitext: str, limit: int | None = 200) -> str:
    """Readable text for excerpts: markup gone, whitespace collapsed, no
    control characters or bidi overrides (which reorder what people see)."""
    text = _render(wikitext)
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    text = _LINE_LIST_PREFIX.sub(" ", text)
    text = " ".join(text.split()).strip(" -—–~")
    return _cut(text, limit) if limit is not None else text


def _cut(text: str, limit: int) -> str:
    """At most *limit* characters, an ellipsis marking a cut."""
    if len(text) > limit:
        return text[: limit - 1].rstrip() + "\u2026"
    return text


def _template_end(s: str, pos: int) -> int:
    """Index just after the template opening at *pos*, or -1 if it is never
    closed (within a few thousand characters)."""
    depth = 0
    for m in _BRACES.finditer(s, pos, min(len(s), pos + 4000)):
        if m.group() == "{{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
    return -1


def _without_struck(content: str) -> tuple[str, str | None]:
    """The text with struck parts removed, and the struck text when the
    contribution *starts* with it (a struck vote).

    An unclosed ``<s>`` strikes to the end of its line, as the browser
    shows it inside a list item. A strike inside a strike
    (``<s>{{oppose}} <s>too new</s> few edits</s> {{support}}``) ends at
    its own ``</s>``, not the inner one: such text is read from
    mwparserfromhell's tree.
    """
    if "<" not in content:
        return content, None
    if not _ALWAYS_TREE:
        flat = _without_struck_flat(content, exact_only=True)
        if flat is not None:
            return flat
    return _without_struck_tree(content)


def _without_struck_flat(content: str, exact_only: bool) -> tuple[str, str | None] | None:
    """``_without_struck`` by scanning for tags; None when *exact_only* and
    a struck part holds another opening of its tag, which the scan would
    close too early."""
    pieces: list[str] = []
    lead: str | None = None
    pos = 0
    unclosed: set[str] = set()
    for m in _STRIKE_OPEN.finditer(content):
        if m.start() < pos:
            continue
        name = m.group(1).lower()
        close = None if name in unclosed else _CLOSE_TAG[name].search(content, m.end())
        if close is not None:
            if exact_only and _SAME_OPEN[name].search(content, m.end(), close.start()):
                return None
            inner, end = content[m.end():close.start()], close.end()
        else:
            unclosed.add(name)
            nl = content.find("\n", m.end())
            end = len(content) if nl < 0 else nl
            inner = content[m.end():end]
        before = content[pos:m.start()]
        if lead is None and not pieces and _BLANK_LEAD.fullmatch(before):
            lead = inner
        elif lead is None:
            lead = ""  # something real came first: later strikes are not a struck vote
        pieces.append(before)
        pos = end
    pieces.append(content[pos:])
    return "".join(pieces), (lead or None)


def _without_struck_tree(content: str) -> tuple[str, str | None]:
    """``_without_struck`` on mwparserfromhell's tree: every ``<s>``,
    ``<del>``, ``<strike>`` element goes, nested or inside a template's
    parameters; what the tree leaves as text (an unclosed ``<s>``) is then
    struck to the end of its line by the scan."""
    code = mwparserfromhell.parse(content)  # our own copy: nodes are removed below
    struck = [t for t in code.filter_tags(recursive=True)
              if not t.self_closing and str(t.tag).strip().lower() in _STRIKE_TAGS]
    lead: str | None = None
    if struck:
        at = content.find(str(struck[0]))
        blank = at >= 0 and _BLANK_LEAD.fullmatch(content, 0, at) is not None
        lead = str(struck[0].contents) if blank else ""
        for tag in struck:
            try:
                code.remove(tag)
            except ValueError:
                pass  # inside a struck part removed already
    rest, flat_lead = _without_struck_flat(str(code), exact_only=False) or ("", None)
    return rest, (lead if lead is not None else flat_lead) or None


_STRIKE_OPEN = re.compile(r"<(s|del|strike)(?:\s[^<>]*)?>", re.IGNORECASE)
_SAME_OPEN = {name: re.compile(r"<" + name + r"(?:\s[^<>]*)?>", re.IGNORECASE)
              for name in _STRIKE_TAGS}
_BLANK_LEAD = re.compile(r"[\s*#:;]*(?:<(?:li|dd|dt)\b[^<>]*>\s*)*")


# ---------------------------------------------------------------------------
# Marks: votes, questions, statuses
# ---------------------------------------------------------------------------

_NO_MARK: tuple[str | None, str | None] = (None, None)
_MARK_SKIP = re.compile(r"[\s*#:;\-—–\"•·]*")
_TAG_AT = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?/?>")
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
            end = _template_end(s, pos)
            if end < 0:
                return _NO_MARK, 0
            call = _call(s[pos + 2:end - 2])
            name, params = call.name, call.args
            if name in _TEMPLATE_KIND:
                return _TEMPLATE_KIND[name], end
            if name in ("vote", "v") and params:
                return _found(_TEMPLATE_KIND.get(params[0].lower(), _NO_MARK), end)
            if name in _PING_TEMPLATES or name in _MENTION_TEMPLATES or name in _TL_TEMPLATES:
                return _NO_MARK, 0
            if name in _WRAPPER_TEMPLATES and params and _nested <= 2:
                # {{color|green|{{support}}}}: the mark it shows; its text first: no mark
                found, _ = _mark_at(params[-1], _nested + 1)
                if found != _NO_MARK or _render(params[-1]).strip():
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
            if found != _NO_MARK or _render(inner).strip():
                return _found(found, close + 2)
            pos = close + 2
            continue
        if s[pos] == "<":
            m = _TAG_AT.match(s, pos)
            if not m:
                return _NO_MARK, 0
            tag = m.group(2).lower()
            if tag in ("b", "strong") and not m.group(1):
                close = _CLOSE_TAG[tag].search(s, m.end())
                inner = s[m.end():close.start() if close else n]
                return _found(_BOLD_KIND.get(_mark_word(inner), _NO_MARK), close.end() if close else n)
            if tag in _DECOR_TAGS:
                pos = m.end()
                continue
            return _NO_MARK, 0
        if s.startswith("[[", pos):
            m = _LINK.match(s, pos)
            if not m:
                return _NO_MARK, 0
            if _FILE_LINK.match(m.group(1)):
                title = m.group(1).lower()
                for kind in _VOTE_KINDS:
                    if kind in title:
                        return (kind, None), m.end()
                pos = m.end()
                continue
            return _NO_MARK, 0
        return _NO_MARK, 0
    return _NO_MARK, 0


def _found(mark: tuple[str | None, str | None], end: int) -> tuple[tuple[str | None, str | None], int]:
    return (mark, end) if mark != _NO_MARK else (_NO_MARK, 0)


_PING_START = re.compile(
    r"^[\s*#:;]*(?:\{\{\s*(?:template\s*:\s*)?(?:" + "|".join(
        re.escape(n).replace(r"\ ", r"[ _]+") for n in sorted(_PING_TEMPLATES, key=len, reverse=True))
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
    for call in _calls(content):  # nested too: {{small|{{ping|X}}}}
        if call.name in _PING_TEMPLATES or call.name in _MENTION_TEMPLATES:
            if any(_param_user(a) == applicant for a in call.args):
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
_UNSIGNED_LINE = re.compile(r"^\s*\{\{\s*(?:template\s*:\s*)?(?:unsigned|nicht signiert|"
                            r"niet ondertekend)", re.IGNORECASE)
_SIGNS = re.compile(r"\{\{\s*(?:template\s*:\s*)?(?:subst\s*:\s*)?(?:unsigned|nicht[ _]signiert|"
                    r"niet[ _]ondertekend)", re.IGNORECASE)


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
            new = not (depth == 0 and _UNSIGNED_LINE.match(line))
        elif depth == 0 and _UNSIGNED_LINE.match(line):
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
        if _has_timestamp(line) or ("{{" in line and _SIGNS.search(line)):
            current.signed = True
    return blocks


def _field_line_kind(line: str) -> str | None:
    """The field a ``*'''Label:''' value`` line fills, or None (also for
    bold votes such as ``*'''Support'''``)."""
    if "'''" not in line:
        return None
    m = _FIELD.match(line)
    if not m:
        return None
    return _field_kind(m.group("label") + m.group("colon"))


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
    plain = _plain(_without_struck(value)[0], limit=None)
    app.fields[name] = plain
    if kind == "languages":
        app.languages = _split_list(plain)
    elif kind == "queues":
        app.queues = [q for q in (_queue_name(x) for x in _split_list(plain)) if q]
    elif kind == "talk_pages":
        app.talk_pages = [m.group(1).strip() for m in _LINK.finditer(value)]


def _split_list(text: str) -> list[str]:
    parts = re.split(r"\s*[,;/&·•]\s*(?:(?:and|und|en|et|y|e|og|och)\s+)?|"
                     r"\s+(?:and|und|en|et|y|e|og|och)\s+", text)
    return [p.strip(" .") for p in parts if p.strip(" .")]


def _queue_name(text: str) -> str:
    text = re.sub(r"\(.*?\)", "", text).lower().strip()
    text = re.sub(r"@(?:wikimedia|wikipedia)\.org$", "", text)
    text = re.sub(r"\s+queues?$", "", text)
    return re.sub(r"\s+", " ", text).strip(" .")


@dataclass
class _Contribution:
    """What one block says, worked out once."""

    block: _Block
    sig: _Sig
    content: str  # without the signature
    unstruck: str
    struck_lead: str | None
    mark: tuple[str | None, str | None]
    mark_end: int  # excerpts start after the mark ('''Support''' is not news)

    @classmethod
    def read(cls, block: _Block) -> _Contribution:
        text = "\n".join(block.lines)
        sig = _signature(text) if block.signed else _Sig(None, None, len(text))
        content = _strip_sig_debris(text[:sig.start]) if sig.signed else text
        unstruck, lead = _without_struck(content)
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
        fm = _FIELD.match(c.content) if block.is_field else None
        field_kind = _field_kind(fm.group("label") + fm.group("colon")) if fm else None
        if header:
            if (c.sig.signed and signer and signer != app.applicant and not via_link
                    and _names_heading(heading, c.sig)):
                # "=== Masum Reza ===" over [[User:Masumrezarock100|Masum Reza]]:
                # the heading is the display name; the user is the applicant.
                app.applicant = signer
            if fm and field_kind and block.depth <= 1:
                has_fields = has_fields or field_kind in _COUNTING_FIELDS
                _store_field(app, fm.group("label") + fm.group("colon"), fm.group("value"))
                if field_kind == "statement":
                    statement.append(_plain(_without_struck(fm.group("value"))[0], limit=None))
                if c.sig.signed:
                    app.opened, app.opened_by = when, signer
                    header = False
                continue
            if _is_statement(app, c, bool(statement) or has_fields):
                statement.append(_plain(c.unstruck, limit=None))
                if c.sig.signed:
                    app.opened, app.opened_by = when, signer
                    header = False
                continue
            header = False
        elif fm and field_kind in _COUNTING_FIELDS and not c.sig.signed:
            # a form line added after the statement ("Email sent: yes")
            _store_field(app, fm.group("label") + fm.group("colon"), fm.group("value"))
            continue
        comment = _classify(app, c)
        if comment is not None:
            app.comments.append(comment)
    app.statement = " ".join(p for p in statement if p).strip()
    signers = {c.signer for c in app.comments} | {app.opened_by}
    if not (via_link or has_fields or app.applicant in signers):
        return None  # a heading that is not a username, or a talk-page thread
    if not app.opened_by:
        app.opened_by = app.applicant
    _apply_status(app)
    return app


def _names_heading(heading: str, sig: _Sig) -> bool:
    """Whether the heading spells the signer: as their signature's link text
    ("Masum Reza"), or as their username in another case ("foo bar" for
    Foo Bar)."""
    wanted = {heading.casefold(), _HEADING_SUFFIX.sub("", heading).casefold()}
    shown = " ".join(_render(sig.display).split()).casefold() if sig.display else None
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
        if lead_kind in _VOTE_KINDS:
            kind, struck_vote = lead_kind, True
    readable = _plain(c.unstruck[c.mark_end:], limit=None)
    excerpt = _cut(readable, 200)
    if not c.sig.signed and not excerpt and kind is None:
        return None  # an empty bullet
    is_applicant = signer is not None and signer == app.applicant
    if kind == "status":
        if is_applicant and status != "withdrawn":
            kind, status = "reply", None  # "{{done}} I sent the email" is not an approval
    elif kind in _VOTE_KINDS or kind == "question":
        if is_applicant and not struck_vote:
            kind = "reply"  # applicants do not endorse or question themselves
    else:
        prose = _prose_status(readable, depth)
        if is_applicant:
            kind, status = ("status", "withdrawn") if prose == "withdrawn" else ("reply", None)
        elif prose:
            kind, status = "status", prose
        elif _asks_applicant(app.applicant, c.unstruck, readable):
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

"""Read the volunteering page: wikitext in, applications and comments out.

The page has been edited by hundreds of people since 2009, so the parser is
lenient where people differ (heading levels, signatures, vote spellings) and
strict where a mistake would invent an event: text inside HTML comments,
``<pre>``/``<nowiki>``, struck text and ``{{tl|...}}`` mentions never counts.

Deterministic and free of I/O: the tracker runs it on every revision.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import mwparserfromhell
from mwparserfromhell.nodes import Comment as WikiComment
from mwparserfromhell.nodes import Heading, Tag, Template, Text, Wikilink

from .names import is_ip, normalize_username

__all__ = [
    "Application",
    "Comment",
    "STATUSES",
    "parse_page",
    "parse_timestamp",
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
_TEMPLATE_KIND: dict[str, tuple[str, str | None]] = {}
for _kind, _names in _VOTE_TEMPLATES.items():
    for _n in _names:
        _TEMPLATE_KIND[_n] = (_kind, None)
for _status, _names in _STATUS_TEMPLATES.items():
    for _n in _names:
        _TEMPLATE_KIND[_n] = ("status", _status)

# Bold prose a person types instead of a template: '''Support''',
# '''Weak support''', '''Approved'''.
_BOLD_KIND: dict[str, tuple[str, str | None]] = {
    **{n: v for n, v in _TEMPLATE_KIND.items() if len(n) > 2},
}
for _w in ("support", "oppose", "neutral"):
    for _q in ("strong", "weak", "mild", "tentative", "conditional"):
        _BOLD_KIND[f"{_q} {_w}"] = (_w, None)

_PING_TEMPLATES = {"ping", "reply to", "replyto", "re", "u", "yo", "reply",
                   "rto", "re:", "replyto2", "mention", "user", "noping"}
_UNSIGNED_TEMPLATES = {"unsigned", "unsigned2", "unsignedip", "unsigned ip",
                       "unsigned-ip", "unsignedip2", "nicht signiert",
                       "unsigned3", "niet ondertekend"}
_STRIKE_TAGS = {"s", "del", "strike"}
_LIST_TAGS = {"li", "dd", "dt"}
_HIDDEN_TAGS = {"pre", "nowiki", "source", "syntaxhighlight", "code",
                "math", "ref"}

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
    "user talk", "사용자", "사용자토론", "用户", "用戶", "user_talk",
    "pengguna", "bicara pengguna", "thành viên", "thảo luận thành viên",
    "korisnik", "razgovor s korisnikom", "kasutaja", "usuari",
    "usuària", "discussió usuari", "lankide", "erabiltzaile",
)
_CONTRIB_NS = ("special", "spezial", "speciaal", "spécial", "especial",
               "speciale", "specjalna", "служебная", "special talk")
_CONTRIB_PAGES = ("contributions", "contribs", "beiträge", "bijdragen",
                  "contributions", "contribuciones", "contribuições",
                  "contributi", "wkład", "вклад")

_USER_LINK = re.compile(
    r"^\s*:?\s*(?:[a-z][a-z0-9\-]*\s*:\s*)*?"
    r"(?P<ns>" + "|".join(re.escape(n) for n in sorted(set(_USER_NS), key=len, reverse=True))
    + r")\s*:\s*(?P<name>[^/#|]+?)\s*(?:[/#].*)?$",
    re.IGNORECASE,
)
_CONTRIB_LINK = re.compile(
    r"^\s*:?\s*(?:[a-z][a-z0-9\-]*\s*:\s*)*?(?:"
    + "|".join(_CONTRIB_NS) + r")\s*:\s*(?:" + "|".join(_CONTRIB_PAGES)
    + r")\s*/\s*(?P<name>[^/#|]+?)\s*$",
    re.IGNORECASE,
)

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july",
     "august", "september", "october", "november", "december"], 1)}
_TIMESTAMP = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2}),\s*(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+)\s+"
    r"(?P<y>\d{4})\s*\((?:UTC|utc)\)"
)
_FIELD = re.compile(
    r"^[*#:]*\s*'''\s*(?P<label>[^']+?)\s*'''\s*(?P<colon>:?)\s*(?P<value>.*)$"
)
_LIST_PREFIX = re.compile(r"^([*#:;]+)")
_SIGNATURE_TILDES = re.compile(r"~{3,5}")


def parse_timestamp(text: str) -> datetime | None:
    """The UTC time of a MediaWiki signature (``11:32, 19 January 2020 (UTC)``)."""
    m = _TIMESTAMP.search(text)
    return _timestamp_from_match(m) if m else None


def _timestamp_from_match(m: re.Match[str]) -> datetime | None:
    month = _MONTHS.get(m.group("mon").lower())
    if not month:
        return None
    try:
        return datetime(int(m.group("y")), month, int(m.group("d")),
                        int(m.group("h")), int(m.group("m")), tzinfo=timezone.utc)
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
        moves from oppose to support is a supporter only.
        """
        latest: dict[str, str] = {}
        for c in self.comments:
            if c.kind in ("support", "oppose", "neutral") and c.signer and not c.struck_vote:
                latest.pop(c.signer, None)
                latest[c.signer] = c.kind
        return [s for s, k in latest.items() if k == kind]

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
# Parsing
# ---------------------------------------------------------------------------

_LEAD_HEADINGS = re.compile(
    r"^(applications?|volunteering.*|how (do|to) .*|.*\?|current applications|"
    r"archives?|see also|notes?|instructions|template|example|german.*|dutch.*|"
    r"requests?|open applications|closed applications|new applications)$",
    re.IGNORECASE,
)


def parse_page(wikitext: str) -> list[Application]:
    """Every application on the page, in page order.

    Sections that are not applications (the lead, its headings, the copy
    template in ``<pre>``) are left out: a section counts only when its
    heading reads as a username and it holds a signature or application
    fields.
    """
    code = mwparserfromhell.parse(wikitext or "")
    apps: list[Application] = []
    seen_anchors: dict[str, int] = {}
    for section in code.get_sections(levels=[2, 3, 4], flat=True):
        headings = section.filter_headings(recursive=False)
        if not headings:
            continue
        heading = headings[0]
        anchor = _unique_anchor(_heading_text(heading), seen_anchors)
        applicant = _applicant_from_heading(heading)
        if not applicant:
            continue
        body = str(section)[len(str(heading)):]
        app = _parse_section(applicant, anchor, _heading_text(heading), body)
        if app is not None:
            apps.append(app)
    return apps


def _heading_text(heading: Heading) -> str:
    title = heading.title
    text = title.strip_code(normalize=True, collapse=True).strip()
    if not text:
        links = title.filter_wikilinks()
        if links:
            text = str(links[0].title).split(":", 1)[-1].strip()
    return re.sub(r"\s+", " ", text)


def _unique_anchor(text: str, seen: dict[str, int]) -> str:
    """MediaWiki's section anchor: spaces as underscores; _2, _3 for repeats."""
    base = text.replace(" ", "_")
    n = seen.get(base, 0) + 1
    seen[base] = n
    return base if n == 1 else f"{base}_{n}"


def _applicant_from_heading(heading: Heading) -> str | None:
    title = heading.title
    for link in title.filter_wikilinks():
        name = _user_from_link_target(str(link.title))
        if name:
            return name
    for tpl in title.filter_templates():
        tname = _template_name(tpl)
        if tname in ("user", "u", "userlinks", "user2", "ul", "user-multi", "vandal") and tpl.has(1):
            return normalize_username(tpl.get(1).value.strip_code())
    text = _heading_text(heading)
    if not text or _LEAD_HEADINGS.match(text) or "~~~" in text:
        return None
    text = re.sub(r"\s*\((?:\d+|\d+(?:st|nd|rd|th)|again|second|third|"
                  r"re-?appl\w*|\w+ application|\w+ request)\)\s*$", "",
                  text, flags=re.IGNORECASE)
    if len(text) > 85 or any(ch in text for ch in "#<>[]|{}"):
        return None
    return normalize_username(text)


def _template_name(tpl: Template) -> str:
    name = tpl.name.strip_code().strip().lower().replace("_", " ")
    if name.startswith("template:"):
        name = name[9:].strip()
    return name


def _user_from_link_target(target: str) -> str | None:
    target = target.replace("_", " ")
    m = _CONTRIB_LINK.match(target)
    if m:
        return normalize_username(m.group("name"))
    m = _USER_LINK.match(target)
    if m:
        return normalize_username(m.group("name"))
    return None


@dataclass
class _Block:
    depth: int
    lines: list[str]
    is_field: bool = False


def _parse_section(applicant: str, anchor: str, heading: str, body: str) -> Application | None:
    app = Application(applicant=applicant, anchor=anchor, heading=heading)
    visible = _visible_wikitext(body)
    blocks = _blocks(visible)
    header = True
    statement_parts: list[str] = []
    has_fields = False
    for block in blocks:
        text = "\n".join(block.lines)
        signer, when, sig_start = _signature(text)
        if header:
            first = block.lines[0]
            fm = _FIELD.match(first)
            label = (fm.group("label") + fm.group("colon")).strip() if fm else ""
            if fm and block.depth <= 1 and _field_kind(label):
                has_fields = True
                value = "\n".join([fm.group("value")] + block.lines[1:])
                _store_field(app, label.rstrip(":").strip(), _strip_signature(value) if when else value)
                if when or _field_kind(label) == "statement":
                    statement_parts.append(_plain(_strip_signature(value) if when else value))
                    _open(app, signer, when)
                    header = False
                continue
            if block.depth == 0 or (not has_fields and not statement_parts):
                statement_parts.append(_plain(_strip_signature(text) if when else text))
                if when:
                    _open(app, signer, when)
                    header = False
                continue
            header = False
        comment = _classify(app, block, text, signer, when, sig_start)
        if comment is not None:
            app.comments.append(comment)
    app.statement = " ".join(p for p in statement_parts if p).strip()
    if app.opened is None and not has_fields and not app.comments:
        return None  # a prose section without any signature: not an application
    if not app.opened_by:
        app.opened_by = applicant
    _apply_status(app)
    return app


def _open(app: Application, signer: str | None, when: datetime | None) -> None:
    app.opened = when
    app.opened_by = signer


def _field_kind(label: str) -> str | None:
    low = re.sub(r"\s+", " ", label.lower()).strip()
    if low in _BOLD_KIND or low.rstrip(":") in _BOLD_KIND:
        return None  # '''Support''' is a vote, not a field
    if any(w in low for w in ("language", "sprache", "taal", "langue", "idioma")):
        return "languages"
    if any(w in low for w in ("queue", "warteschlange", "wachtrij")):
        return "queues"
    if "talk" in low or "diskussion" in low or "overleg" in low:
        return "talk_pages"
    if any(w in low for w in ("why", "reason", "warum", "waarom", "statement", "about")):
        return "statement"
    if any(w in low for w in ("mail", "age", "alter", "leeftijd")):
        return "email"
    if low.endswith(("?", ":")):
        return "other"
    return None


def _store_field(app: Application, label: str, value: str) -> None:
    kind = _field_kind(label) or "other"
    plain = _plain(value)
    app.fields[label] = plain
    if kind == "languages":
        app.languages = _split_list(plain)
    elif kind == "queues":
        app.queues = [q for q in (_queue_name(x) for x in _split_list(plain)) if q]
    elif kind == "talk_pages":
        app.talk_pages = [str(link.title).strip()
                          for link in mwparserfromhell.parse(value).filter_wikilinks()]


def _split_list(text: str) -> list[str]:
    parts = re.split(r"\s*[,;/&·•]\s*|\s+(?:and|und|en|et|y|e|und|og|och)\s+", text)
    return [p.strip(" .") for p in parts if p.strip(" .")]


def _queue_name(text: str) -> str:
    text = re.sub(r"\(.*?\)", "", text).lower().strip()
    text = re.sub(r"@(?:wikimedia|wikipedia)\.org$", "", text)
    text = re.sub(r"\s+queues?$", "", text)
    return re.sub(r"\s+", " ", text).strip(" .")


def _visible_wikitext(body: str) -> str:
    """The section without HTML comments and non-wikitext tags (``<pre>``,
    ``<nowiki>``), whose contents never count as votes or signatures."""
    code = mwparserfromhell.parse(body)
    for node in list(code.filter(recursive=True, forcetype=(WikiComment, Tag))):
        try:
            if isinstance(node, WikiComment):
                code.remove(node)
            elif isinstance(node, Tag) and str(node.tag).lower() in _HIDDEN_TAGS:
                code.remove(node)
        except ValueError:
            pass  # already removed with its parent
    return str(code)


def _blocks(text: str) -> list[_Block]:
    """Group lines into contributions: a contribution ends with a signature.

    A reply that spans several lines (numbered answers, a blank line before
    the signature) stays one contribution; text left unsigned at the end of
    the section becomes a block of its own.
    """
    blocks: list[_Block] = []
    current: _Block | None = None
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            continue
        if re.match(r"^\s*(?:\{\{\s*(?:clear|-)\s*\}\}|----+|__\w+__)\s*$", line, re.I):
            continue
        m = _LIST_PREFIX.match(line)
        depth = len(m.group(1)) if m else 0
        is_field = bool(_FIELD.match(line))
        starts_new = current is None or _is_signed(current) or is_field or (
            current.is_field and not _UNSIGNED_LINE.match(line)) or (
            depth > 0 and depth <= current.depth and not _continues(line))
        if not starts_new and depth == 0 and _UNSIGNED_LINE.match(line):
            current.lines.append(line)
            continue
        if starts_new:
            current = _Block(depth=depth, lines=[line], is_field=is_field)
            blocks.append(current)
        else:
            current.lines.append(line)
    return blocks


_UNSIGNED_LINE = re.compile(r"^\s*\{\{\s*unsigned", re.I)


def _continues(line: str) -> bool:
    """A numbered item inside someone's multi-line contribution."""
    return bool(re.match(r"^[*:]*#", line))


def _is_signed(block: _Block) -> bool:
    return _signature("\n".join(block.lines))[1] is not None


def _signature(text: str) -> tuple[str | None, datetime | None, int]:
    """(signer, time, offset where the signature starts) of the last
    signature in *text*; struck signatures still sign."""
    code = text
    unsigned = _unsigned_template(code)
    stamps = [m for m in _TIMESTAMP.finditer(code)]
    if unsigned and (not stamps or unsigned[3] >= stamps[-1].end()):
        return unsigned[:3]
    if not stamps:
        return (None, None, len(text))
    stamp = stamps[-1]
    when = _timestamp_from_match(stamp)
    before = code[: stamp.start()]
    signer, start = _signature_links(before)
    return (signer, when, start if signer else stamp.start())


def _unsigned_template(text: str) -> tuple[str | None, datetime | None, int, int] | None:
    found = None
    for m in re.finditer(r"\{\{\s*(?:template:)?\s*([^|{}]+?)\s*\|([^{}]*)\}\}", text, re.I):
        if m.group(1).lower().replace("_", " ") in _UNSIGNED_TEMPLATES:
            params = [p.strip() for p in m.group(2).split("|")]
            positional = [p for p in params if "=" not in p or _TIMESTAMP.search(p)]
            named = dict(p.split("=", 1) for p in params if "=" in p and not _TIMESTAMP.search(p))
            user = named.get("1") or (positional[0] if positional else "")
            date = named.get("2") or (positional[1] if len(positional) > 1 else "")
            found = (normalize_username(user) or None, parse_timestamp(date), m.start(), m.end())
    return found


_LINK = re.compile(r"\[\[([^\[\]|]+)(?:\|[^\[\]]*)?\]\]")


def _signature_links(text: str) -> tuple[str | None, int]:
    """The signer (last user link before the timestamp) and where the
    signature starts: the first of the signer's own links just before it,
    so ``[[User:X|X]] ([[User talk:X|talk]])`` goes as a whole."""
    links = [(m.start(), _user_from_link_target(m.group(1))) for m in _LINK.finditer(text)]
    links = [(pos, name) for pos, name in links if name]
    if not links:
        return (None, len(text))
    signer = links[-1][1]
    start = links[-1][0]
    for pos, name in reversed(links):
        if name == signer and len(text) - pos <= 400:
            start = pos
    return (signer, start)


_SIG_DEBRIS = re.compile(r"(?:\s|<[a-zA-Z][^<>]*>|--|—|–|~|\(|\[)+$")


def _strip_signature(text: str) -> str:
    _, when, start = _signature(text)
    return _SIG_DEBRIS.sub("", text[:start]) if when else text


def _plain(wikitext: str, limit: int = 200) -> str:
    """Readable text for excerpts: markup gone, whitespace collapsed."""
    code = mwparserfromhell.parse(wikitext)
    for tpl in code.filter_templates(recursive=False):
        name = _template_name(tpl)
        try:
            if name in _TEMPLATE_KIND:
                code.replace(tpl, "")
            elif name in _PING_TEMPLATES and tpl.params:
                code.replace(tpl, "@" + ", @".join(
                    str(p.value).strip() for p in tpl.params if not p.showkey))
            elif name == "tl" and tpl.params:
                code.replace(tpl, "{{" + str(tpl.params[0].value).strip() + "}}")
        except ValueError:
            pass
    text = code.strip_code(normalize=True, collapse=True)
    text = re.sub(r"^[*#:;\s]+", "", text)
    text = re.sub(r"\n[*#:;]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" -—–~")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def _classify(app: Application, block: _Block, text: str, signer: str | None,
              when: datetime | None, sig_start: int) -> Comment | None:
    content = _SIG_DEBRIS.sub("", text[:sig_start]) if when else text
    unstruck, struck_lead = _without_struck(content)
    kind, status = _leading_mark(unstruck)
    struck_vote = False
    if kind is None and struck_lead is not None:
        # "<s>{{Oppose}} Account too new.</s> Struck, I misread": a vote taken back
        lead_kind, _ = _leading_mark(struck_lead)
        if lead_kind in ("support", "oppose", "neutral"):
            kind, struck_vote = lead_kind, True
    excerpt = _plain(unstruck)
    digest = hashlib.sha1(re.sub(r"\s+", " ", unstruck).strip().encode()).hexdigest()[:16]
    is_applicant = signer == app.applicant
    if kind == "status":
        if is_applicant and status != "withdrawn":
            kind, status = "reply", None  # "{{done}} I sent the email" is not an approval
    elif kind == "question":
        pass
    elif kind is None or kind == "comment":
        if is_applicant:
            kind = "reply"
        elif kind is None and _asks_applicant(app, unstruck):
            kind = "question"
        elif kind is None and block.depth >= 2:
            kind = "reply"
        else:
            kind = kind or "comment"
        if kind == "comment" and _prose_status(unstruck):
            kind, status = "status", _prose_status(unstruck)
            if is_applicant and status != "withdrawn":
                kind, status = "reply", None
    if not excerpt and not kind:
        return None
    return Comment(signer=signer, time=when, kind=kind, depth=block.depth,
                   excerpt=excerpt, status=status, struck_vote=struck_vote,
                   digest=digest)


def _without_struck(content: str) -> tuple[str, str | None]:
    """The text with struck parts removed, and the struck text when the
    contribution *starts* with it (a struck vote)."""
    code = mwparserfromhell.parse(content)
    lead: str | None = None
    first_real = True
    for node in list(code.nodes):
        if isinstance(node, Text) and not node.value.strip(" *#:;\n\t"):
            continue
        if isinstance(node, Tag) and str(node.tag).lower() in _LIST_TAGS:
            continue
        if isinstance(node, Tag) and str(node.tag).lower() in _STRIKE_TAGS:
            if first_real:
                lead = str(node.contents)
            code.remove(node)
        first_real = False
    for node in list(code.filter_tags(recursive=True)):
        if str(node.tag).lower() in _STRIKE_TAGS:
            try:
                code.remove(node)
            except ValueError:
                pass
    return str(code), lead


def _leading_mark(content: str) -> tuple[str | None, str | None]:
    """The vote, question or status mark a contribution opens with."""
    code = mwparserfromhell.parse(content)
    for node in code.nodes:
        if isinstance(node, Text):
            stripped = node.value.strip(" *#:;\n\t-—–'\"")
            if not stripped:
                continue
            return (None, None)
        if isinstance(node, Template):
            name = _template_name(node)
            if name in _TEMPLATE_KIND:
                return _TEMPLATE_KIND[name]
            if name in ("vote", "v") and node.params:
                val = node.params[0].value.strip_code().strip().lower()
                if val in _TEMPLATE_KIND:
                    return _TEMPLATE_KIND[val]
            if name in _PING_TEMPLATES or name in ("tl", "tlx", "tls"):
                return (None, None)
            continue  # an icon or other decoration before the mark
        if isinstance(node, Tag):
            tag = str(node.tag).lower()
            if tag in _LIST_TAGS:
                continue
            if tag in ("b", "strong") or node.wiki_markup == "'''":
                word = node.contents.strip_code().strip(" :.!").lower()
                word = re.sub(r"\s+", " ", word)
                if word in _BOLD_KIND:
                    return _BOLD_KIND[word]
                return (None, None)
            if tag in ("span", "font", "small", "big", "sup", "i") or node.wiki_markup == "''":
                inner = _leading_mark(str(node.contents))
                if inner != (None, None):
                    return inner
                if node.contents.strip_code().strip():
                    return (None, None)
                continue
            if tag == "br":
                continue
            return (None, None)
        if isinstance(node, Wikilink):
            title = str(node.title).lower()
            if title.startswith(("file:", "image:", "datei:", "bestand:")):
                for kind in ("support", "oppose", "neutral"):
                    if kind in title or (kind == "support" and "symbol support" in title):
                        return (kind, None)
                continue
            return (None, None)
        return (None, None)
    return (None, None)


_PROSE_STATUS = [
    (re.compile(r"^\W*(?:i\s+)?withdraw(?:n|ing)?\b", re.I), "withdrawn"),
    (re.compile(r"^\W*(?:application\s+)?(?:approved|accepted|granted)\b", re.I), "approved"),
    (re.compile(r"^\W*(?:application\s+)?(?:declined|rejected|not approved)\b", re.I), "declined"),
    (re.compile(r"^\W*(?:put\s+)?on hold\b", re.I), "on hold"),
]


def _prose_status(content: str) -> str | None:
    text = _plain(content, limit=400)
    for rx, status in _PROSE_STATUS:
        if rx.search(text):
            return status
    return None


def _asks_applicant(app: Application, content: str) -> bool:
    """A ping to the applicant that asks something: a question."""
    code = mwparserfromhell.parse(content)
    pinged = False
    for tpl in code.filter_templates(recursive=False):
        if _template_name(tpl) in _PING_TEMPLATES:
            names = {normalize_username(p.value.strip_code()) for p in tpl.params if not p.showkey}
            if app.applicant in names:
                pinged = True
    plain = _plain(content, limit=2000)
    if not pinged:
        first = app.applicant.split(" ")[0]
        pinged = bool(re.match(r"^\W*@\s*" + re.escape(first), plain, re.I))
    if not pinged:
        return False
    return "?" in plain or bool(re.search(
        r"\b(please (?:explain|answer|tell|describe|clarify)|could you|can you|would you)\b",
        plain, re.I))


def _apply_status(app: Application) -> None:
    """The latest status mark wins; a reopening returns to ``open``."""
    marks = [c for c in app.comments if c.kind == "status" and c.status]
    if not marks:
        return
    latest = max(enumerate(marks), key=lambda im: (im[1].time or datetime.min.replace(tzinfo=timezone.utc), im[0]))[1]
    app.status = latest.status or "open"
    if app.status == "open":
        app.closed = app.closed_by = None
    else:
        app.closed = latest.time
        app.closed_by = latest.signer

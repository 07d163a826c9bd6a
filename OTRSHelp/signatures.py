"""Who signed a piece of wikitext, and when.

Every event the bot announces is credited to a signer at a time, so these
rules decide who gets credit: a user link shortly before a ``(UTC)``
timestamp, on any wiki and in any language's user namespace, or an
``{{unsigned}}`` someone else added. They are kept apart from the parser,
which only asks "who, when, and where does the signature start", so that
the many spellings of a signature live in one place; ``parse_timestamp`` is
public because callers outside the parser read signature times too.
"""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import unquote

from .markup import CALL_DEPTH, LINK, render, template_call, template_spans
from .names import normalize_username
from .textcache import text_lru

__all__ = [
    "Sig",
    "is_signed",
    "linked_user",
    "opens_with_unsigned",
    "param_user",
    "parse_timestamp",
    "signature",
    "strip_sig_debris",
    "user_from_link_target",
    "username",
]

# ---------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Users named by links and template parameters
# ---------------------------------------------------------------------------

# User namespaces as they appear in signatures on Meta and linked home wikis.
_USER_NS = frozenset((
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
))
_CONTRIB_NS = frozenset(("special", "spezial", "speciaal", "spécial", "especial",
                         "speciale", "specjalna", "служебная", "special talk"))
_CONTRIB_PAGES = frozenset(("contributions", "contribs", "beiträge", "bijdragen",
                            "contribuciones", "contribuições", "contributi", "wkład",
                            "вклад"))
_INTERWIKI_PREFIX = re.compile(r"[a-z][a-z0-9\-]*")
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e]")


def username(raw: str) -> str:
    """A username from link or template text: entities and %-escapes
    decoded and bidi controls dropped (MediaWiki strips them from titles, so
    ``[[User:\\u202eX]]`` is User:X), then normalised."""
    if "&" in raw:
        raw = html.unescape(raw)
    if "%" in raw:
        raw = unquote(raw)
    return normalize_username(_BIDI.sub("", raw))


@text_lru(maxsize=8192, maxchars=500_000)
def user_from_link_target(target: str) -> str | None:
    """The user a link points to: a user or user talk page (subpages and
    anchors included) or their contributions, on any wiki, through any
    interwiki prefixes (``:de:Benutzer:X``, ``w:en:User talk:X``)."""
    target = target.replace("_", " ")
    if "&" in target:
        target = html.unescape(target)
    parts = target.split(":")
    for i, part in enumerate(parts[:-1]):
        ns = " ".join(part.split()).lower()
        if ns in _USER_NS:
            name = ":".join(parts[i + 1:])  # IPv6 addresses contain colons
            return username(name.split("/", 1)[0].split("#", 1)[0]) or None
        if ns in _CONTRIB_NS:
            page, slash, name = ":".join(parts[i + 1:]).partition("/")
            if slash and " ".join(page.split()).lower() in _CONTRIB_PAGES and "/" not in name:
                return username(name.split("#", 1)[0]) or None
            return None
        if not (ns == "" and i == 0) and not _INTERWIKI_PREFIX.fullmatch(ns):
            return None  # a namespace that is not a user's, e.g. Wikipedia:
    return None


def linked_user(text: str) -> str | None:
    """The user of the first user link in *text* (``[[User:X|Y]]``: X):
    a heading or a template parameter that links a user names that user,
    whatever text the link shows."""
    for m in LINK.finditer(text):
        user = user_from_link_target(m.group(1))
        if user:
            return user
    return None


def param_user(value: str) -> str:
    """The user a template parameter names: as text (``X``), as a user link
    (``[[User:X|Y]]``: X) or through markup (``{{u|X}}``); "" for none."""
    if "[[" in value:
        user = linked_user(value)
        if user:
            return user
    if "{{" in value or "[[" in value or "<" in value or "'" in value:
        value = render(value)
    return username(value.strip())


# ---------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------

_UNSIGNED_TEMPLATES = {"unsigned", "unsigned2", "unsignedip", "unsigned ip",
                       "unsigned-ip", "unsignedip2", "nicht signiert",
                       "unsigned3", "niet ondertekend"}
_UNSIGNED_LINE = re.compile(r"^\s*\{\{\s*(?:template\s*:\s*)?(?:unsigned|nicht signiert|"
                            r"niet ondertekend)", re.IGNORECASE)
_SIGNS = re.compile(r"\{\{\s*(?:template\s*:\s*)?(?:subst\s*:\s*)?(?:unsigned|nicht[ _]signiert|"
                    r"niet[ _]ondertekend)", re.IGNORECASE)
# A signature is at most 255 characters of markup (MediaWiki's limit) before
# its timestamp; a user link further back is a mention in the text.
_SIG_WINDOW = 300
_UNSIGNED_WINDOW = 4000


class Sig(NamedTuple):
    """A signature: who, when, and where it starts in the text it ends."""

    signer: str | None
    when: datetime | None
    start: int  # where the signature (or the timestamp) starts
    display: str = ""  # the signer's link text, as the heading may spell it

    @property
    def signed(self) -> bool:
        return self.signer is not None or self.when is not None


def is_signed(line: str) -> bool:
    """Whether *line* carries a signature (a timestamp or an
    ``{{unsigned}}``), which ends the contribution it belongs to."""
    return _last_timestamp(line) is not None or ("{{" in line and _SIGNS.search(line) is not None)


def opens_with_unsigned(line: str) -> bool:
    """Whether *line* is an ``{{unsigned}}`` someone added on a line of its
    own: it signs the text above it rather than starting anything."""
    return _UNSIGNED_LINE.match(line) is not None


def signature(text: str) -> Sig:
    """The last signature in *text*: signer, time and where it starts.

    The signer is the last user, user talk or contributions link shortly
    before the timestamp; ``{{unsigned|User|date}}`` names the signer when
    it comes after the last timestamp. Struck signatures still sign.
    """
    unsigned = None
    if _may_be_unsigned(text):
        # an {{unsigned}} ends what it signs: look at the end only, so a text
        # of a million braces is not matched up brace by brace
        lo = max(0, len(text) - _UNSIGNED_WINDOW)
        found = _unsigned_template(text[lo:])
        if found is not None:
            sig_, end = found
            unsigned = (sig_._replace(start=sig_.start + lo), end + lo)
    stamp = _last_timestamp(text)
    if unsigned is not None and (stamp is None or unsigned[1] >= stamp.end()):
        return unsigned[0]
    if stamp is None:
        return Sig(None, None, len(text))
    when = _timestamp_from_match(stamp)
    signer, start, display = _signature_links(text, stamp.start())
    return Sig(signer, when, start if signer else stamp.start(), display)


def _may_be_unsigned(text: str) -> bool:
    """A cheap test before looking for ``{{unsigned}}`` in every comment."""
    return "nsigned" in text or "NSIGNED" in text or "signiert" in text or "ondertekend" in text


def _unsigned_template(text: str) -> tuple[Sig, int] | None:
    """The last ``{{unsigned}}`` in *text* as a signature, and where it ends.

    The user is the first parameter that is not a date (``{{unsigned2}}``
    puts the date first), given as a name, a user link or ``{{u|X}}``; a
    date without "(UTC)" is accepted here because people fill it in by
    hand, and one the wiki fills in (``{{unsigned|X|{{date}}}}``) is no
    date we can read. A parameter holding a template or a link is
    split at its own pipes only (see ``markup.template_call``).
    """
    found = None
    for start, end in template_spans(text, CALL_DEPTH):
        call = template_call(text[start + 2:end - 2])
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
            user = param_user(value) or None
    return Sig(user, when, start), end


def _signature_links(text: str, stamp_start: int) -> tuple[str | None, int, str]:
    """(signer, where the signature starts, the signer's link text).

    The signature starts at the signer's first link in an unbroken run of
    their own links (``[[User:X|X]] ([[User talk:X|talk]])``), so a
    self-mention earlier in the text is not taken for the signature.
    """
    lo = max(0, stamp_start - _SIG_WINDOW)
    cands = []
    for m in LINK.finditer(text, lo, stamp_start):
        name = user_from_link_target(m.group(1))
        if name:
            cands.append((m.start(), m.end(), name, m.group(2) or ""))
    if not cands:
        return (None, stamp_start, "")
    signer = cands[-1][2]
    first = len(cands) - 1
    while first > 0 and cands[first - 1][2] == signer and cands[first][0] - cands[first - 1][1] <= 80:
        first -= 1
    return (signer, cands[first][0], cands[first][3])


_SIG_DEBRIS_CHARS = " \t\n\r\f\v\u00a0~([\u2014\u2013"
_SIG_DEBRIS_ENTITIES = ("&mdash;", "&ndash;", "&nbsp;")
_OPEN_TAG_TAIL = re.compile(r"<[a-zA-Z][^<>]*>")


def _run_start(text: str, end: int, chars: str) -> int:
    """Where the run of *chars* that ends at *end* starts. Looked at through
    a window that doubles while it is all run, so the cost follows the
    length of the run, not of the text."""
    size = 64
    while True:
        lo = max(0, end - size)
        kept = len(text[lo:end].rstrip(chars))
        if kept or lo == 0:
            return lo + kept
        size *= 2


def strip_sig_debris(text: str) -> str:
    """The text without what precedes a signature on the same line: dashes,
    tildes, an opening bracket or ``<span ...>``. Done from the end, run by
    run and without copying the text, because a right-anchored regex
    retries at every space of a long comment."""
    end = len(text)
    while True:
        before = end
        if end and text[end - 1] in _SIG_DEBRIS_CHARS:
            end = _run_start(text, end, _SIG_DEBRIS_CHARS)
        if text.endswith("--", 0, end):
            run = end - _run_start(text, end, "-")
            end -= run - run % 2  # pairs of dashes; a lone "-" is the text's
        elif text.endswith(_SIG_DEBRIS_ENTITIES, 0, end):
            end = text.rfind("&", 0, end)
        elif text.endswith(">", 0, end):
            i = text.rfind("<", max(0, end - 500), end)
            if i >= 0 and _OPEN_TAG_TAIL.fullmatch(text, i, end):
                end = i
        if end == before:
            return text[:end]

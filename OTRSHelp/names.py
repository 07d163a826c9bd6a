"""Usernames as MediaWiki sees them, and text made safe for IRC.

Everything that reaches IRC from the wiki passes through :func:`irc_safe`:
wiki text is written by anyone, and a signature or heading may carry CR/LF
(a second IRC command), mIRC colour codes, CTCP markers or bidi overrides.
"""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache
from typing import Iterable

ZWSP = "\u200b"

# C0/C1 control characters (IRC formatting: \x02 bold, \x03 colour, \x0f reset,
# \x16 reverse, \x1d italic, \x1e strike, \x1f underline, \x01 CTCP, \x04 hex
# colour), plus bidi embeddings/overrides/isolates that reorder what people see.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff]"
)
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*$")


def is_ip(name: str) -> bool:
    """True for IPv4/IPv6 addresses, which sign as temporary or anonymous users."""
    name = name.strip()
    if len(name) > 45:  # the longest address text; and the patterns backtrack on long input
        return False
    return bool(_IPV4.match(name) or (_IPV6.match(name) and name.count(":") >= 2))


def _strip_format_chars(name: str) -> str:
    """*name* without invisible format characters (Unicode category Cf:
    zero-width spaces and joiners, word joiner, BOM, bidi marks). MediaWiki
    drops the bidi ones from titles, and the bot itself puts a zero-width
    space into every name it announces (``no_ping``): a name copied from an
    announcement must still find its person."""
    if name.isascii():
        return name
    return "".join(ch for ch in name if ch.isascii() or unicodedata.category(ch) != "Cf")


_SPACES = re.compile(r"[\s\u00a0]+")


@lru_cache(maxsize=8192)
def normalize_username(name: str) -> str:
    """The canonical form MediaWiki stores: underscores as spaces, runs of
    spaces collapsed, first letter upper case, a leading ``User:`` dropped,
    invisible format characters (a pasted zero-width space) gone.

    IPv6 addresses are upper-cased as MediaWiki does, so one person signing
    with two spellings of an address is still one signer.
    """
    name = _strip_format_chars(name or "")
    if not name.isascii():
        name = unicodedata.normalize("NFC", name)
    name = _SPACES.sub(" ", name.replace("_", " ")).strip()
    if name.lower().startswith("user:"):
        name = name[5:].strip()
    if not name:
        return ""
    if is_ip(name):
        try:  # as MediaWiki writes it: 2001:db8::7 is 2001:DB8:0:0:0:0:0:7
            ip = ipaddress.ip_address(name)
        except ValueError:
            return name.upper()
        if ip.version == 6:
            return ":".join(f"{int(h, 16):X}" for h in ip.exploded.split(":"))
        return str(ip)
    return name[0].upper() + name[1:]


def username_key(name: str) -> str:
    """A key for fuzzy lookups (case-insensitive), not for storage."""
    return normalize_username(name).casefold()


_COLOUR = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?")


def irc_safe(text: str, limit: int | None = None) -> str:
    """One line of plain text for IRC: no control or formatting characters
    (colour codes with their numbers), no bidi overrides, whitespace
    collapsed, cut with an ellipsis at *limit* characters."""
    text = _COLOUR.sub("", text or "")
    text = _UNSAFE.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "\u2026"
    return text


def no_ping(name: str) -> str:
    """The name with a zero-width space after its first letter, so IRC
    clients do not highlight the person each time the bot mentions them."""
    name = irc_safe(name)
    if len(name) < 2:
        return name
    return name[0] + ZWSP + name[1:]


# Characters IRC nicks are made of, besides letters and digits: a nick's
# highlight ends where one of these does not follow.
_NICK_CHARS = r"\w\-\[\]\\`^{}|"
_AT_NAME = re.compile(r"@\s?(?=[^\W_])")
_USER_NS_NAME = re.compile(r"\b(?:user|benutzer|gebruiker|utilisateur|usuario)(?: talk)?:\s?(?=[^\W_])",
                           re.IGNORECASE)
# "Masum Reza: FYI ..." / "GMG, thanks": up to three words opening the text, then ":" or ","
_ADDRESSEE = re.compile(r"^\W{0,3}((?:[^\W_][\w.'\-]*\s){0,2}[^\W_][\w.'\-]*)\s?[:,](?=\s|$)")


def _break_at(text: str, positions: list[int]) -> str:
    """*text* with a zero-width space after the letter at each position."""
    if not positions:
        return text
    out, last = [], 0
    for p in sorted(set(positions)):
        if p < last or p >= len(text):
            continue
        out.append(text[last:p + 1])
        out.append(ZWSP)
        last = p + 1
    out.append(text[last:])
    return "".join(out)


# One pattern for every name, not one per set of names: a pattern made of
# the channel's nicks is ~23 KB compiled at 200 nicks, and each join or part
# made a new one that Python's ``re`` cache kept (up to 512 of them: 10 MB
# and more after a few busy days on Libera).
_NICK_RUN = re.compile(r"[" + _NICK_CHARS + r"]+")
_NICK_CHAR = re.compile(r"[" + _NICK_CHARS + r"]")


def _lower(text: str) -> str:
    """Lower case, one character for one, so positions stay valid."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@lru_cache(maxsize=8)  # the channel's nicks change between batches, not within one
def _name_sets(names: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The names to find, in lower case: those that are one nick-like word
    (found by looking each word of the text up) and the others (with a
    space, a dot...: found by searching the text for them)."""
    words: set[str] = set()
    for name in names:
        name = irc_safe(name)
        words.add(name)
        words.update(w for w in name.split(" ") if len(w) >= 3)
    single: set[str] = set()
    other: set[str] = set()
    for w in words:
        if len(w) >= 2:
            (single if _NICK_RUN.fullmatch(w) else other).add(_lower(w))
    return frozenset(single), tuple(sorted(other, key=len, reverse=True))


def _name_starts(text: str, single: frozenset[str], other: tuple[str, ...]) -> list[int]:
    """Where a name starts in *text* as a whole word (no nick character
    before or after it), in any case, as IRC clients match: *single* are
    one nick-like word each, *other* the rest, all in ``_lower`` case."""
    found = [m.start() for m in _NICK_RUN.finditer(text) if _lower(m.group()) in single]
    if other:
        low = _lower(text)
        for name in other:
            at = low.find(name)
            while at != -1:
                end = at + len(name)
                if not (at and _NICK_CHAR.match(text, at - 1)) and not _NICK_CHAR.match(text, end):
                    found.append(at)
                at = low.find(name, at + 1)
    return found


def mentions(text: str, name: str) -> bool:
    """Does *text* name *name* as a whole word, in any case?"""
    if not name:
        return False
    low = _lower(name)
    if _NICK_RUN.fullmatch(name):
        return bool(_name_starts(text, frozenset([low]), ()))
    return bool(_name_starts(text, frozenset(), (low,)))


def deping(text: str, names: Iterable[str] = (), more: Iterable[str] = ()) -> str:
    """*text* (already ``irc_safe``) written so that no name in it
    highlights anyone: a zero-width space after the first letter of every
    addressed name -- ``@X`` (what ``{{ping|X}}`` renders to), ``User:X``, a
    leading ``X:`` or ``X,`` -- and of every occurrence of *names* (the
    nicks in the channel, the applicant and the actor), as whole words and
    in any case, as IRC clients match them. Each word of a multi-word name
    is broken, since a nick may be any one of them. *more* are names that
    change from call to call (the applicant): kept apart from *names*, whose
    word sets are made once for as long as the channel's nicks stay."""
    positions: list[int] = []
    for m in _AT_NAME.finditer(text):
        positions.append(m.end())
    for m in _USER_NS_NAME.finditer(text):
        positions.append(m.end())
    addressee = _ADDRESSEE.match(text)
    if addressee:
        m = addressee
        start = m.start(1)
        for w in re.finditer(r"\S{2,}", m.group(1)):
            positions.append(start + w.start())
    for group in (names, more):
        positions.extend(_name_starts(text, *_name_sets(tuple(group))))
    return _break_at(text, positions)


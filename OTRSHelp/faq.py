"""FAQ knowledge base and question matcher for #wikimedia-vrtconnect.

Prospective volunteers ask in plain words how to join the Volunteer Response
Team (VRT, formerly OTRS); most never type a bot command.  This module holds
the answers (``conf/faq.json``) and decides which answer, if any, fits a line
of chat.

Design choices, and why:

* Plain Python, no Limnoria import: the matcher is used by the plugin, by
  ``run_bot.py faq`` and by tests/benchmarks without a running bot.
* No machine learning: the topic set is small, curated and multilingual, and
  admins must be able to see *why* a line matched.  Each topic carries
  weighted trigger phrases per language, ``require`` groups (a topic is only
  eligible when the line mentions one term of every group) and ``exclude``
  terms.  A line's score for a topic is the sum of the weights of the
  triggers it contains.
* Precision beats recall for channel lines (:meth:`KnowledgeBase.match_chat`):
  a wrong answer in a busy channel is worse than silence.  A line must look
  like a question, mention the VRT domain, not be agent chatter or addressed
  to someone else, and its best topic must clear a score threshold with a
  margin over the runner-up.  The ``faq`` command (:meth:`KnowledgeBase.lookup`)
  is lenient instead, because the user asked the bot explicitly.
* Everything that depends only on the knowledge base (stems, phrase index,
  typo index) is computed once at load time, so a channel line costs a
  tokenisation plus a few dictionary look-ups.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = [
    "LANGUAGES",
    "DEFAULT_PATH",
    "Match",
    "Queue",
    "Override",
    "KnowledgeBase",
]

#: Languages every topic must answer in.
LANGUAGES: tuple[str, ...] = ("en", "de", "nl")

#: The knowledge base shipped with the bot.
DEFAULT_PATH: Path = Path(__file__).parent.parent / "conf" / "faq.json"

#: Hard limit for an answer text in the file (one IRC line, before the link).
MAX_TEXT_CHARS = 350
#: Limit for a full line (text + space + link); keeps one PRIVMSG under 512 bytes.
MAX_LINE_CHARS = 400

#: Scores below this never answer a channel line.
CHAT_MIN_SCORE = 3.0
#: The best topic must beat the runner-up by this much on a channel line.
CHAT_MIN_MARGIN = 1.0
#: Minimum score for the lenient ``faq`` command.
LOOKUP_MIN_SCORE = 1.5
#: Score reported for an exact topic id or alias.
EXACT_SCORE = 100.0

#: Tokens allowed between consecutive words of a trigger phrase.
_MAX_GAP = 2

_SOURCE_RE = re.compile(r"^https://(meta\.wikimedia\.org|de\.wikipedia\.org)/wiki/\S+$")
_URL_END_RE = re.compile(r"https?://\S+$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-@.][a-z0-9]+)*")
_SPLIT_RE = re.compile(r"[-@.]")
_TICKET_RE = re.compile(r"ticket\s*#|ticket:\s*\d|\b\d{10,16}\b", re.IGNORECASE)
_ADDRESSED_RE = re.compile(r"^\s*([A-Za-z_\[\]\\`^{}|][\w\-\[\]\\`^{}|]*)\s*:\s+\S")


# --------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    """One answer the bot would give.

    ``score`` is the raw trigger score (``EXACT_SCORE`` for an exact topic id
    or alias), so admins can see how sure the matcher was.
    """

    topic: str
    score: float
    lang: str
    answer: str


@dataclass(frozen=True)
class Queue:
    """A VRT queue as people ask about it: its languages and how to join it.

    ``process`` is ``None`` when the queue uses the standard application on
    Meta; otherwise it says what is different (info-de, info-nl ...).
    ``languages`` holds ISO codes; ``"mul"`` means any language.
    """

    name: str
    languages: list[str]
    purpose: str
    process: str | None = None


@dataclass
class Override:
    """An admin's change to the knowledge base, made from IRC.

    Overrides are layered over the file (see
    :meth:`KnowledgeBase.with_overrides`) instead of editing it, so the file
    stays the reviewed source and the store can persist and undo changes.

    * ``text``: new answer text; ``lang=None`` sets it for every language
      (a corrected fact must not survive in a translation).  The topic's
      source link is appended unless the text already ends with a URL.
      A topic id that does not exist yet creates a new topic.
    * ``aliases``: extra names for ``faq <name>``; they also become trigger
      phrases.
    * ``forgotten``: the topic disappears (no answers, no matches).  A later
      override of the same topic with ``forgotten=False`` brings it back.
    """

    topic: str
    lang: str | None = None
    text: str | None = None
    aliases: list[str] = field(default_factory=list)
    forgotten: bool = False


# --------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------

# IRC shorthand and English contractions (apostrophes are dropped first).
_EXPAND: dict[str, tuple[str, ...]] = {
    "whats": ("what", "is"),
    "wheres": ("where", "is"),
    "hows": ("how", "is"),
    "whos": ("who", "is"),
    "hw": ("how",),
    "u": ("you",),
    "ur": ("your",),
    "r": ("are",),
    "pls": ("please",),
    "plz": ("please",),
    "wanna": ("want", "to"),
    "fuer": ("fur",),
    "fürs": ("fur", "das"),
    "furs": ("fur", "das"),
    "e-mail": ("email",),
    "e-mails": ("emails",),
}

# One pass, first match wins; the stem keeps at least 3 characters.  Crude,
# but the same function runs over triggers and chat, so it only has to be
# consistent, not linguistically right.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ies", "y"), ("ied", "y"), ("ungen", ""), ("ung", ""), ("ingen", ""),
    ("ing", ""), ("ed", ""), ("es", ""), ("en", ""), ("e", ""), ("s", ""),
)


def _fold(text: str) -> str:
    """Casefold, drop accents and apostrophes: "Zurück" and "zuruck" are one word."""
    text = text.casefold().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("'", "")


def _stem(word: str) -> str:
    """Strip one common en/de/nl suffix so "queues", "queue" and "applied"/"apply" meet."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            stem = word[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and stem[-1] == stem[-2] and stem[-1] in _UNDOUBLE:
                stem = stem[:-1]  # "getting" -> "get", "submitted" -> "submit"
            return stem
    return word


# Consonants English doubles before -ing/-ed (not l, s, d, f, z: "calling",
# "passing", "adding", "staffing" keep their double letter).
_UNDOUBLE = frozenset("bgmnprt")


_PART_RE = re.compile(r"[a-z0-9]+")


def _stem_compound(word: str) -> str:
    """Stem each part of a compound: "non-admins" -> "non-admin", "info-de" stays."""
    return _PART_RE.sub(lambda m: _stem(m.group()), word)


# The team's full name is the acronym: "what does the volunteer response team
# do" must meet "what vrt do", and its words must not count as "volunteer"
# (apply) or "response" (how-long).  Longest first; the last word may carry a
# plural or possessive "s".
_NAME_SYNONYMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("volunteer", "response", "team"), "vrt"),
    (("volunteers", "response", "team"), "vrt"),
    (("volunteer", "response", "teams"), "vrt"),
    (("response", "team"), "vrt"),
    (("response", "teams"), "vrt"),
)


def _collapse_names(words: list[str]) -> list[str]:
    if "response" not in words:
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        for seq, repl in _NAME_SYNONYMS:
            if tuple(words[i:i + len(seq)]) == seq:
                out.append(repl)
                i += len(seq)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _words(text: str) -> list[str]:
    """Folded words with shorthand expanded; compounds ("info-de") kept whole."""
    out: list[str] = []
    for raw in _TOKEN_RE.findall(_fold(text)):
        out.extend(_EXPAND.get(raw, (raw,)))
    return _collapse_names(out)


def _key(text: str) -> str:
    """Normal form of a topic id or alias: "How to apply" -> "how-to-apply"."""
    return "-".join(_fold(text).split())


def _phrase(text: str) -> tuple[str, ...]:
    """Stems of a trigger or term (compounds stay single tokens)."""
    return tuple(_stem_compound(w) if _SPLIT_RE.search(w) else _stem(w) for w in _words(text))


def _parse_trigger(text: str) -> tuple[tuple[tuple[str, ...], ...], float]:
    """Parse a trigger into (phrases that must all occur, weight).

    'how long^4' -> ((('how', 'long'),), 4.0): an ordered phrase.
    'wie + bewerben^3' -> ((('wie',), ('bewerb',)), 3.0): both anywhere in the
    line, in any order; German and Dutch put the verb last, so "wie kann ich
    mich beim VRT bewerben" is too far apart for an ordered phrase.
    Default weight: 1 per word, at most 3.
    """
    weight: float | None = None
    if "^" in text:
        body, _, w = text.rpartition("^")
        try:
            weight = float(w)
            text = body
        except ValueError:
            weight = None
    parts = tuple(p for p in (_phrase(part) for part in text.split(" + ")) if p)
    if weight is None:
        weight = float(min(3, sum(len(p) for p in parts)))
    return parts, weight


class _Line:
    """A chat line analysed once: stems with positions, raw words, flags."""

    __slots__ = ("words", "pos", "raws", "stems")

    def __init__(self, text: str, vocab: frozenset[str] | None = None,
                 fuzzy: "_Fuzzy | None" = None) -> None:
        self.words = _words(text)
        self.pos: dict[str, list[float]] = {}
        self.raws: set[str] = set(self.words)
        for i, word in enumerate(self.words):
            if _SPLIT_RE.search(word):
                self._add(_stem_compound(word), float(i))
                for j, part in enumerate(p for p in _SPLIT_RE.split(word) if p):
                    self.raws.add(part)
                    self._add(self._norm(_stem(part), vocab, fuzzy), i + (j + 1) / 100.0)
            else:
                self._add(self._norm(_stem(word), vocab, fuzzy), float(i))
        self.stems = self.pos.keys()

    @staticmethod
    def _norm(stem: str, vocab: frozenset[str] | None, fuzzy: "_Fuzzy | None") -> str:
        if fuzzy is None or vocab is None or stem in vocab:
            return stem
        return fuzzy.correct(stem) or stem

    def _add(self, stem: str, position: float) -> None:
        self.pos.setdefault(stem, []).append(position)

    def has_phrase(self, tokens: tuple[str, ...]) -> bool:
        """True if the tokens occur in order, at most _MAX_GAP words apart."""
        first = self.pos.get(tokens[0])
        if not first:
            return False
        if len(tokens) == 1:
            return True
        rest = [self.pos.get(t) for t in tokens[1:]]
        if any(r is None for r in rest):
            return False

        def walk(prev: float, k: int) -> bool:
            if k == len(rest):
                return True
            for p in rest[k]:  # type: ignore[union-attr]
                if prev < p <= prev + 1 + _MAX_GAP:
                    if walk(p, k + 1):
                        return True
            return False

        return any(walk(p, 0) for p in first)


class _Fuzzy:
    """Single-typo correction ("aplly", "volunter") against the trigger vocabulary.

    A deletion index (one character removed) covers one insertion, deletion
    or substitution; it is built once per knowledge base.
    """

    def __init__(self, vocab: Iterable[str], protected: Iterable[str]) -> None:
        self.vocab = frozenset(v for v in vocab if len(v) >= 5 and v.isalpha())
        self.protected = frozenset(protected)
        index: dict[str, str | None] = {}
        for word in self.vocab:
            for i in range(len(word)):
                d = word[:i] + word[i + 1:]
                if d in index and index[d] != word:
                    index[d] = None  # ambiguous: never guess
                else:
                    index[d] = word
        self.index = index

    def correct(self, token: str) -> str | None:
        if len(token) < 4 or not token.isalpha() or token in self.protected:
            return None
        hit = self.index.get(token)
        if hit:
            return hit  # a letter left out: "aply" -> "apply", "volunter" -> "volunteer"
        if len(token) < 6:
            return None  # "later" must not become "alter": short words are real words
        for i in range(len(token)):
            d = token[:i] + token[i + 1:]
            if d in self.vocab:
                return d
            hit = self.index.get(d)
            if hit:
                return hit
        return None


# --------------------------------------------------------------------------
# Chat heuristics: what is a question, what is the VRT domain
# --------------------------------------------------------------------------

_GREETINGS = frozenset(_fold(w) for w in """
hi hello hey heya hiya hai yo hallo moin servus hoi goedemorgen goedemiddag goedenavond
morning evening good all everyone guys folks people ok okay so um uh hmm sorry excuse me
pls please quick question q noob newbie also and but well btw there again zusammen allemaal
iedereen leute thanks thank thx dag hee hej hei
""".split())

_OPENERS = frozenset(_fold(w) for w in """
how what where when why who whom which can could may might do does did is are am should would
will must shall any anyone anybody someone somebody has have isnt arent dont doesnt cant
wondering
wie was wo wann warum wieso weshalb welche welcher welches welchen welchem wer wen wem kann
könnte konnte muss darf soll sollte gibt brauche braucht ist sind hat habe weiß weiss bin
kennt woher
hoe wat waar wanneer waarom welke welk kan kun kunnen moet mag zijn heb heeft weet ben wordt
word hebben
reicht geht klappt zählt lohnt stimmt bekomme bekommt wird werde soll sollte
duurt krijg krijgt werkt telt volstaat klopt geldt gaat
""".split())

# A later clause ("im new here, where do I ...") is a question when it opens
# with a question word, possibly after a preposition ("an welche Adresse",
# "for how long"), or with an auxiliary followed by its subject ("..., can I
# still join", "..., kann ich mich nochmal bewerben").  A bare auxiliary is not
# enough there: "..., will do", "..., have a nice day", "..., habe aber ...".
_WH = frozenset(_fold(w) for w in """
how what where when why who whom which wie was wo wann warum wieso weshalb welche welcher
welches welchen welchem wer wen wem woher hoe wat waar wanneer waarom welke welk
""".split())
_PREPOSITIONS = frozenset(_fold(w) for w in """
to for with at from in on about by an auf mit bei für fur von zu nach über uber aan op met bij
voor van naar over
""".split())
_AUX = (_OPENERS - _WH) - frozenset(_fold(w) for w in """
any anyone anybody someone somebody wondering
""".split())
_SUBJECTS = frozenset(_fold(w) for w in """
i you we it this that there one someone anyone ich du man es das wir ihr jemand ik je jij u
het dat er we men iemand
""".split())
# English puts auxiliary before subject only in questions, anywhere in the
# line: "im 15 can i still join".  (German and Dutch invert in statements
# too, "dann kann ich ...", so for them only the clause start counts.)
_INVERSIONS = tuple(" " + p + " " for p in (
    "can i", "could i", "may i", "should i", "must i", "would i", "am i", "can we",
    "should we", "can one", "is it possible", "is that normal", "is it normal",
    "do i need", "do i have", "do you need", "do you have to", "does one",
))
_CLAUSE_RE = re.compile(r"[,;:!.()]+(?=\s|$)|\s[-\u2013\u2014]+\s|\s(?:but|and|aber|und|maar|en)\s")

_QUESTION_PATTERNS = tuple(" " + _fold(p) + " " for p in (
    "how do i", "how can i", "how to", "i want to", "i would like to", "id like to",
    "i wanna", "want to join", "wondering", "any idea", "anyone know", "can someone",
    "can anyone", "tell me", "ich möchte", "ich mochte", "ich will", "ich würde gern",
    "ik wil", "ik zou graag", "ik vroeg me af",
    # a question after a clause: "sorry if this is dumb but is there a minimum age"
    "is there", "are there", "gibt es", "is er", "zijn er",
))

_SECOND_PERSON_VERBS = frozenset(_fold(w) for w in
    "did have are were hast bist habt seid heb hebt ben was waren warst".split())
_SECOND_PERSON = frozenset("you ya du ihr je jij jullie".split())
_GENERIC_YOU = frozenset("required allowed supposed able verplicht verpflichtet erlaubt".split())

_STRONG_DOMAIN = tuple(_phrase(t) for t in (
    "vrt", "vrts", "otrs", "queue", "queues", "warteschlange", "warteschlangen", "wachtrij",
    "wachtrijen", "support-team", "volunteers-vrt", "volunteers-otrs", "vrt-wiki",
    "otrswiki", "ticket", "tickets", "volunteer response team", "response team",
))
_STRONG_PREFIXES = ("info-", "permissions-", "vrt-", "otrs-", "vrts-")
# Agent chatter: a ticket or queue plus a word for working it.  Newcomers ask
# about queues; agents merge, escalate and split the backlog.
_WORK_OBJECTS = tuple(_phrase(t) for t in (
    "ticket", "tickets", "queue", "queues", "warteschlange", "wachtrij", "wachtrijen",
))
_AGENT_WORK = tuple(_fold(w) for w in """
merg duplicat dupe backlog escalat spam reopen unlock snooz closed closing reassign unassign
zusammengef zusammenf duplikat
dublett samengevoeg samenvoeg achterstand ruckstau rückstau
""".split())
_AGENT_PHRASES = tuple(_phrase(t) for t in ("on duty", "im dienst", "dienst hebben"))
# Without a VRT word, only application verbs count: "join" is used for
# channels, calls and meetups too ("can I join the call later?").
_JOIN_DOMAIN = frozenset(_phrase(t)[0] for t in (
    "apply", "applying", "application", "volunteer", "volunteering", "bewerben",
    "bewerbung", "mitmachen", "mitarbeiten", "mithelfen", "aanmelden", "aanmelding",
    "aanvraag", "solliciteren", "solliciteer", "vrijwilliger", "meedoen",
))
_OTHER_MATTERS = frozenset(_phrase(t)[0] for t in (
    "rfa", "rfb", "rfas", "adminship", "adminwahl", "upload", "uploaden", "hochladen", "afd",
    "afds", "deletion", "löschdiskussion", "block", "blocked", "unblock", "unblocked",
    "rollback", "grant", "grants", "scholarship", "scholarships", "wikimania", "hackathon",
    "steward", "stewards", "oversight", "username", "usurp", "cite", "citation", "template",
    "moderatorverkiezing", "arbcom", "election", "elections", "wahl", "verkiezing",
    "discord", "telegram", "meetup", "call",
))

# Small function-word lists for language detection.  Words shared by two
# languages count for both; letters only German uses (umlauts, ß) and the
# Dutch "ij" add evidence.
_LANG_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(_fold(w) for w in """
the a an is are do does did i im you to for of in on what how where when why who which can could
should would will my me it that this have has be get need and or not with about there any
apply join long take old much many if after before still just so again other want help know
already more same thing now write put send ask speak am does dont whats hi hello hey thanks
""".split()),
    "de": frozenset(_fold(w) for w in """
ich ist sind wie was wo wann warum wer welche welcher welches der die das den dem des und oder
nicht ein eine einer einen mich mir man kann muss darf soll bin habe hat gibt es für fürs zu zum
zur beim bei mit auf von noch schon nochmal auch sein werden meine meinen mein dauert lange alt
bewerben bewerbe bewerbung brauche eigentlich nach um gerade viel hallo danke jemand weiß
zusammen guten morgen soll schreiben welchen melde ab vom ins aber weil dass wenn dort diese
dieser kein keine nur jetzt dann wende welchem bereits normalerweise finde braucht gerne alle
nächste
""".split()),
    "nl": frozenset(_fold(w) for w in """
ik je jij het een de en is van voor om te bij niet wat hoe waar wanneer waarom welke welk wie kan
kun moet mag ben heb zijn er mijn me mij naar over lang duurt oud al meer nog ook wel dat die
dit hoi dank aanmelden aanmelding aanvraag wachtrij wachtrijen opnieuw precies krijg toegang
tot heeft gaat goedemorgen allemaal zetten word vrijwilliger solliciteer stellen als iemand
hetzelfde zoals omdat maar nu dan daar deze geen uit wordt worden kunnen moeten willen wil zou
graag vanaf ongeveer vind zoekt tekenen komen doen volgende
""".split()),
}

_LANGUAGE_NAMES: dict[str, str] = {}
for _code, _names in {
    "en": "english englisch engels",
    "de": "german deutsch duits allemand",
    "nl": "dutch nederlands niederländisch flemish vlaams néerlandais",
    "fr": "french französisch frans français",
    "es": "spanish spanisch spaans español",
    "it": "italian italienisch italiaans italiano",
    "pt": "portuguese portugiesisch portugees português",
    "pl": "polish polnisch pools polski",
    "ru": "russian russisch russisch",
    "ja": "japanese japanisch japans",
    "zh": "chinese chinesisch chinees",
    "ar": "arabic arabisch arabisch",
    "mul": "multilingual mehrsprachig meertalig any",
}.items():
    _LANGUAGE_NAMES[_code] = _code
    for _n in _names.split():
        _LANGUAGE_NAMES[_fold(_n)] = _code


def _lang_code(language: str | None) -> str | None:
    """'German', 'Deutsch', 'de', 'DE' -> 'de'; unknown -> None."""
    if not language:
        return None
    key = _fold(language).strip()
    if key in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[key]
    if re.fullmatch(r"[a-z]{2,3}", key):
        return key
    return None


def _compose(text: str, source: str | None) -> str:
    """Answer line = text + source link, unless the text already ends with a URL."""
    text = " ".join(text.split())
    if source and not _URL_END_RE.search(text):
        return f"{text} {source}"
    return text


# --------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------

def _fail(origin: str, where: str, problem: str) -> ValueError:
    return ValueError(f"{origin}: {where}: {problem}")


def _check_terms(origin: str, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(origin, where, "must be a list of non-empty strings")
    return value


def _validate(data: Any, origin: str) -> dict[str, Any]:
    """Check the whole file and raise a ValueError that names the place and the problem.

    Admins edit faq.json by hand; a bad entry must stop the load with a
    message they can act on, not surface later as a wrong answer.
    """
    if not isinstance(data, dict):
        raise _fail(origin, "top level", "must be a JSON object")
    topics = data.get("topics")
    if not isinstance(topics, list) or not topics:
        raise _fail(origin, "topics", "missing or not a non-empty list")
    names: dict[str, str] = {}
    for i, topic in enumerate(topics):
        where = f"topics[{i}]"
        if not isinstance(topic, dict):
            raise _fail(origin, where, "must be an object")
        tid = topic.get("id")
        if not isinstance(tid, str) or not _ID_RE.match(tid):
            raise _fail(origin, f"{where}.id", f"{tid!r} is not a lower-case id like 'how-long'")
        where = f"topics[{i}] ({tid!r})"
        if tid in names:
            raise _fail(origin, where, f"id is already used by topic {names[tid]!r}")
        names[tid] = tid
        for alias in _check_terms(origin, f"{where}.aliases", topic.get("aliases", [])):
            key = _key(alias)
            if key in names and names[key] != tid:
                raise _fail(origin, f"{where}.aliases", f"{alias!r} is already a name of topic {names[key]!r}")
            names[key] = tid
        sources = topic.get("source")
        if isinstance(sources, str):
            sources = {lang: sources for lang in LANGUAGES}
        if not isinstance(sources, dict):
            raise _fail(origin, f"{where}.source", "missing: every answer must end with its source page")
        answers = topic.get("answers")
        if not isinstance(answers, dict):
            raise _fail(origin, f"{where}.answers", "missing or not an object of language -> text")
        for lang in LANGUAGES:
            text = answers.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise _fail(origin, f"{where}.answers.{lang}", "missing answer")
            if "\n" in text or "\r" in text:
                raise _fail(origin, f"{where}.answers.{lang}", "must be one IRC line (no line breaks)")
            if len(text) > MAX_TEXT_CHARS:
                raise _fail(origin, f"{where}.answers.{lang}",
                            f"is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
            src = sources.get(lang)
            if not isinstance(src, str) or not _SOURCE_RE.match(src):
                raise _fail(origin, f"{where}.source",
                            f"{src!r} for {lang!r} is not a https://meta.wikimedia.org/wiki/... "
                            "(or de.wikipedia.org) link")
            full = _compose(text, src)
            if len(full) > MAX_LINE_CHARS:
                raise _fail(origin, f"{where}.answers.{lang}",
                            f"is {len(full)} characters with its link; the limit is {MAX_LINE_CHARS}")
        triggers = topic.get("triggers", {})
        if not isinstance(triggers, dict):
            raise _fail(origin, f"{where}.triggers", "must be an object of language -> list of phrases")
        for lang, phrases in triggers.items():
            _check_terms(origin, f"{where}.triggers.{lang}", phrases)
        require = topic.get("require", [])
        if not isinstance(require, list):
            raise _fail(origin, f"{where}.require", "must be a list of term groups")
        for j, group in enumerate(require):
            _check_terms(origin, f"{where}.require[{j}]", group)
        _check_terms(origin, f"{where}.exclude", topic.get("exclude", []))
        if not isinstance(topic.get("fallback", False), bool):
            raise _fail(origin, f"{where}.fallback", "must be true or false")
    queues = data.get("queues", {})
    if not isinstance(queues, dict):
        raise _fail(origin, "queues", "must be an object of queue name -> details")
    for name, q in queues.items():
        where = f"queues[{name!r}]"
        if not isinstance(q, dict):
            raise _fail(origin, where, "must be an object")
        langs = q.get("languages")
        if not isinstance(langs, list) or not langs or not all(
                isinstance(x, str) and re.fullmatch(r"[a-z]{2,3}", x) for x in langs):
            raise _fail(origin, f"{where}.languages", "must be a non-empty list of language codes")
        if not isinstance(q.get("purpose"), str) or not q["purpose"].strip():
            raise _fail(origin, f"{where}.purpose", "missing")
        if q.get("process") is not None and not isinstance(q["process"], str):
            raise _fail(origin, f"{where}.process", "must be text or null")
    return data


# --------------------------------------------------------------------------
# The knowledge base
# --------------------------------------------------------------------------

@dataclass
class _Topic:
    id: str
    aliases: list[str]
    answers: dict[str, str]
    sources: dict[str, str | None]
    require: list[list[tuple[str, Any]]]
    exclude: list[tuple[str, Any]]
    fallback: bool = False


class KnowledgeBase:
    """Answers for #wikimedia-vrtconnect and the matcher that picks them.

    Build it with :meth:`load` (the JSON file) or :meth:`from_dict`; it is
    immutable afterwards, so one instance can serve every channel and thread.
    :meth:`with_overrides` returns a new instance with admins' edits.
    """

    queues: dict[str, Queue]

    def __init__(self, data: Mapping[str, Any], origin: str = "<faq>") -> None:
        """Compile an already validated knowledge-base dict (see :meth:`from_dict`)."""
        self._data = data
        self._origin = origin
        self._topics: dict[str, _Topic] = {}
        self._names: dict[str, str] = {}
        single: dict[str, list[tuple[int, float]]] = {}
        multi: dict[str, list[tuple[int, tuple[tuple[str, ...], ...], float]]] = {}
        vocab: set[str] = set()
        order: list[str] = []

        for t in data["topics"]:
            tid = t["id"]
            idx = len(order)
            order.append(tid)
            src = t.get("source")
            sources = dict(src) if isinstance(src, dict) else {lang: src for lang in LANGUAGES}
            answers = {lang: text for lang, text in t.get("answers", {}).items() if text}
            self._names[tid] = tid
            for alias in t.get("aliases", []):
                self._names.setdefault(_key(alias), tid)

            seen: dict[tuple[tuple[str, ...], ...], float] = {}
            phrases = [p for ps in t.get("triggers", {}).values() for p in ps]
            for text in phrases:
                parts, weight = _parse_trigger(text)
                if parts and weight > seen.get(parts, 0.0):
                    seen[parts] = weight
            for parts, weight in seen.items():
                for tokens in parts:
                    vocab.update(tokens)
                if len(parts) == 1 and len(parts[0]) == 1:
                    single.setdefault(parts[0][0], []).append((idx, weight))
                else:
                    multi.setdefault(parts[0][0], []).append((idx, parts, weight))

            require = [[self._term(x) for x in group] for group in t.get("require", [])]
            for group in require:
                for kind, val in group:
                    if kind == "p":
                        vocab.update(val)
            exclude = [self._term(x) for x in t.get("exclude", [])]
            self._topics[tid] = _Topic(tid, list(t.get("aliases", [])), answers, sources,
                                       require, exclude, bool(t.get("fallback", False)))

        self._order = order
        self._rank = {tid: i for i, tid in enumerate(order)}
        self._single = single
        self._multi = multi
        for tokens in _STRONG_DOMAIN:
            vocab.update(tokens)
        vocab.update(_JOIN_DOMAIN)
        protected = {_stem(w) for words in _LANG_WORDS.values() for w in words}
        protected |= set(_OTHER_MATTERS)
        self._fuzzy = _Fuzzy(vocab, protected)
        self._vocab = frozenset(vocab)

        self.queues = {}
        for name, q in data.get("queues", {}).items():
            self.queues[name] = Queue(name=name, languages=list(q["languages"]),
                                      purpose=q["purpose"], process=q.get("process"))
        self.queue_default_process: str | None = data.get("queue_default_process")

    # ---------------------------------------------------------------- loading

    @classmethod
    def load(cls, path: str | Path | None = None) -> "KnowledgeBase":
        """Read and validate a faq.json (default: the repository's conf/faq.json).

        Raises ValueError naming the file and the broken entry, so a typo in
        the knowledge base stops the bot at start-up instead of misleading
        people later.
        """
        p = Path(path) if path is not None else DEFAULT_PATH
        raw = p.read_text(encoding="utf-8")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}: not valid JSON: {exc.msg} at line {exc.lineno} "
                             f"column {exc.colno}") from exc
        return cls.from_dict(data, origin=str(p))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<dict>") -> "KnowledgeBase":
        """Validate and compile a knowledge base held in memory (tests, benchmarks)."""
        return cls(_validate(copy.deepcopy(dict(data)), origin), origin)

    def _term(self, text: str) -> tuple[str, Any]:
        text = text.strip()
        if text.endswith("*"):
            return ("x", _fold(text[:-1]))
        return ("p", _phrase(text))

    # ---------------------------------------------------------------- answers

    def topics(self) -> list[str]:
        """Topic ids in file order (forgotten topics left out)."""
        return list(self._order)

    def _resolve(self, topic: str) -> str | None:
        return self._names.get(_key(topic)) if topic else None

    def answer(self, topic: str, lang: str = "en") -> str | None:
        """The answer line for a topic id or alias, in ``lang`` (falls back to English).

        The line ends with the topic's source link, so people can check it.
        """
        tid = self._resolve(topic)
        if tid is None:
            return None
        t = self._topics[tid]
        code = _lang_code(lang) or "en"
        for candidate in (code, "en", *t.answers.keys()):
            if candidate in t.answers:
                src = t.sources.get(candidate) or t.sources.get("en")
                return _compose(t.answers[candidate], src)
        return None

    # --------------------------------------------------------------- matching

    def _line(self, text: str) -> _Line:
        return _Line(text, vocab=self._vocab, fuzzy=self._fuzzy)

    @staticmethod
    def _has(line: _Line, term: tuple[str, Any]) -> bool:
        kind, val = term
        if kind == "x":
            return any(w.startswith(val) for w in line.raws) or any(
                s.startswith(val) for s in line.stems)
        return line.has_phrase(val)

    def _scores(self, line: _Line, strict: bool) -> list[tuple[float, str]]:
        """Score every topic that has a trigger in the line, best first.

        ``strict``: a topic whose ``require`` groups are not all met scores 0
        (channel); otherwise its score is halved (the lenient ``faq`` command).
        Fallback topics ("apply") drop out when a specific topic qualifies:
        "how long does applying take" is about the wait, not the procedure.
        """
        acc: dict[int, float] = {}
        for stem in line.stems:
            for idx, weight in self._single.get(stem, ()):
                acc[idx] = acc.get(idx, 0.0) + weight
            for idx, parts, weight in self._multi.get(stem, ()):
                if all(line.has_phrase(tokens) for tokens in parts):
                    acc[idx] = acc.get(idx, 0.0) + weight
        out: list[tuple[float, str]] = []
        for idx, score in acc.items():
            t = self._topics[self._order[idx]]
            if any(self._has(line, term) for term in t.exclude):
                continue
            if not all(any(self._has(line, term) for term in group) for group in t.require):
                if strict:
                    continue
                score *= 0.5
            out.append((score, t.id))
        floor = CHAT_MIN_SCORE if strict else LOOKUP_MIN_SCORE
        if any(score >= floor and not self._topics[tid].fallback for score, tid in out):
            out = [(score, tid) for score, tid in out if not self._topics[tid].fallback]
        out.sort(key=lambda st: (-st[0], self._rank[st[1]]))
        return out

    def lookup(self, query: str, lang: str | None = None) -> Match | None:
        """For ``faq <topic or question>``: an exact id/alias, else the best-scoring topic.

        Lenient on purpose: the user asked the bot directly, so no question
        or domain test and a lower threshold than :meth:`match_chat`.
        """
        query = (query or "").strip()
        if not query:
            return None
        tid = self._resolve(query)
        if tid is not None:
            code = _lang_code(lang) or "en"
            text = self.answer(tid, code)
            return Match(tid, EXACT_SCORE, code, text) if text else None
        code = _lang_code(lang) or self.detect_language(query)
        scores = self._scores(self._line(query), strict=False)
        if not scores or scores[0][0] < LOOKUP_MIN_SCORE:
            return None
        score, tid = scores[0]
        text = self.answer(tid, code)
        return Match(tid, round(score, 3), code, text) if text else None

    def suggest(self, query: str, n: int = 3) -> list[str]:
        """Nearest topic ids for a query that did not match, best first.

        Mixes spelling similarity to ids/aliases ("aplly" -> apply) with the
        lenient trigger score, so both typos and vague questions get hints.
        """
        key = _key(query or "")
        if not key or n <= 0:
            return []
        rank: dict[str, float] = {}
        for name, tid in self._names.items():
            ratio = difflib.SequenceMatcher(None, key, name).ratio()
            if ratio > rank.get(tid, 0.0):
                rank[tid] = ratio
        for score, tid in self._scores(self._line(query), strict=False):
            rank[tid] = rank.get(tid, 0.0) + min(score / 5.0, 1.0)
        best = sorted(rank.items(), key=lambda kv: (-kv[1], self._rank[kv[0]]))
        return [tid for tid, r in best if r >= 0.45][:n]

    def is_question(self, text: str) -> bool:
        """Does the line ask something?  A '?', an opener, or "i want to join"-style wording.

        Statements ("I sent the email") and greetings must not trigger answers.
        """
        if "?" in text:
            return True
        words = _words(text)
        i = 0
        while i < len(words) and words[i] in _GREETINGS:
            i += 1
        if i < len(words) and words[i] in _OPENERS:
            return True
        padded = " " + " ".join(words) + " "
        if any(p in padded for p in _QUESTION_PATTERNS) or any(p in padded for p in _INVERSIONS):
            return True
        clauses = _CLAUSE_RE.split(text)
        return any(self._clause_asks(_words(c)) for c in clauses)

    @staticmethod
    def _clause_asks(words: list[str]) -> bool:
        """A clause that opens like a question: question word (after at most one
        preposition), or auxiliary + subject (see _WH, _AUX, _SUBJECTS)."""
        i = 0
        while i < len(words) and words[i] in _GREETINGS:
            i += 1
        if i < len(words) and words[i] in _PREPOSITIONS:
            i += 1
            return i < len(words) and words[i] in _WH
        if i >= len(words):
            return False
        if words[i] in _WH:
            return True
        return words[i] in _AUX and i + 1 < len(words) and words[i + 1] in _SUBJECTS

    def _is_for_someone_else(self, text: str) -> bool:
        """Lines addressed to a nick ("Foo: did you...") or asking "did you / have you"."""
        m = _ADDRESSED_RE.match(text)
        if m and _fold(m.group(1)) not in _GREETINGS:
            return True
        words = _words(text)
        i = 0
        while i < len(words) and words[i] in _GREETINGS:
            i += 1
        if i + 1 < len(words) and words[i] in _SECOND_PERSON_VERBS and words[i + 1] in _SECOND_PERSON:
            nxt = words[i + 2] if i + 2 < len(words) else ""
            return nxt not in _GENERIC_YOU
        return False

    @staticmethod
    def _is_agent_talk(line: _Line) -> bool:
        """Agents working a queue ("can someone merge these tickets", "who is on duty")."""
        if not any(line.has_phrase(t) for t in _WORK_OBJECTS) and not any(
                w.startswith(_STRONG_PREFIXES) for w in line.raws):
            return False
        return any(w.startswith(_AGENT_WORK) for w in line.raws) or any(
            line.has_phrase(t) for t in _AGENT_PHRASES)

    def _in_domain(self, line: _Line) -> bool:
        """Does the line talk about the VRT (or, in this channel, about joining)?"""
        strong = any(line.has_phrase(t) for t in _STRONG_DOMAIN) or any(
            w.startswith(_STRONG_PREFIXES) for w in line.raws)
        if strong:
            return True
        if any(s in _OTHER_MATTERS for s in line.stems):
            return False  # "how do I apply for adminship?" is not about the VRT
        return any(s in _JOIN_DOMAIN for s in line.stems)

    def match_chat(self, line: str) -> Match | None:
        """The answer for a plain channel line, or None (the usual case).

        Precision first: the line must be a question to the channel, about the
        VRT, not agent talk about a ticket, not addressed to someone else, and
        its best topic must score at least CHAT_MIN_SCORE and beat the
        runner-up by CHAT_MIN_MARGIN.  German and Dutch lines get German and
        Dutch answers.
        """
        if not line or len(line) > 600:
            return None
        if not self.is_question(line) or _TICKET_RE.search(line) or self._is_for_someone_else(line):
            return None
        analysed = self._line(line)
        if not self._in_domain(analysed) or self._is_agent_talk(analysed):
            return None
        scores = self._scores(analysed, strict=True)
        if not scores:
            return None
        best, tid = scores[0]
        runner_up = scores[1][0] if len(scores) > 1 else 0.0
        if best < CHAT_MIN_SCORE or best - runner_up < CHAT_MIN_MARGIN:
            return None
        lang = self.detect_language(line)
        text = self.answer(tid, lang)
        return Match(tid, round(best, 3), lang, text) if text else None

    def explain(self, line: str) -> dict[str, Any]:
        """Why a line did or did not match (for admins and tests): gates and top scores."""
        analysed = self._line(line)
        return {
            "question": self.is_question(line),
            "ticket_talk": bool(_TICKET_RE.search(line)),
            "for_someone_else": self._is_for_someone_else(line),
            "domain": self._in_domain(analysed),
            "lang": self.detect_language(line),
            "scores": self._scores(analysed, strict=True)[:5],
            "lenient": self._scores(analysed, strict=False)[:5],
        }

    # --------------------------------------------------------------- language

    def detect_language(self, text: str) -> str:
        """"en", "de" or "nl" from function words and spelling; English when unsure.

        Good enough for one chat line: the three languages share few function
        words, and umlauts/ß (German) or "ij" (Dutch) settle most ties.
        """
        folded_words = _TOKEN_RE.findall(_fold(text))
        score = {"en": 0.0, "de": 0.0, "nl": 0.0}
        for w in folded_words:
            for lang, words in _LANG_WORDS.items():
                if w in words:
                    score[lang] += 1.0
            if "ij" in w and w.isalpha():
                score["nl"] += 0.5
        lowered = text.casefold()
        if any(ch in lowered for ch in "äöüß"):
            score["de"] += 1.5
        best = max(score.values())
        if best <= 0:
            return "en"
        for lang in ("en", "de", "nl"):
            if score[lang] == best:
                return lang
        return "en"  # pragma: no cover

    # ----------------------------------------------------------------- queues

    def queues_for_language(self, language: str, include_multilingual: bool = True) -> list[Queue]:
        """Queues that handle ``language`` ("German", "Deutsch" or "de" all work).

        Multilingual queues (languages ``["mul"]``, e.g. permissions-commons)
        are included unless ``include_multilingual`` is False, because a
        German speaker can help there too.
        """
        code = _lang_code(language)
        if code is None:
            return []
        out = [q for q in self.queues.values()
               if code in q.languages or (include_multilingual and "mul" in q.languages)]
        return sorted(out, key=lambda q: ("mul" in q.languages, q.name))

    # -------------------------------------------------------------- overrides

    def with_overrides(self, overrides: Iterable[Override]) -> "KnowledgeBase":
        """A new knowledge base with admins' edits layered over this one.

        Applied in order, later wins.  The file is never touched; the plugin's
        store keeps the overrides.  Raises ValueError for an override that
        cannot be applied (bad language, unknown topic without text, an alias
        that already names another topic, text that does not fit one line).
        """
        data = copy.deepcopy(dict(self._data))
        shelved: list[dict[str, Any]] = list(data.pop("_forgotten_topics", []))
        topics: list[dict[str, Any]] = list(data["topics"]) + shelved
        by_id = {t["id"]: t for t in topics}
        forgotten: set[str] = {t["id"] for t in shelved}
        for o in overrides:
            tid = _key(o.topic)
            if not tid or not _ID_RE.match(tid):
                raise ValueError(f"override: {o.topic!r} is not a valid topic id")
            if tid not in by_id:
                tid = self._names.get(tid) or next(
                    (t["id"] for t in topics if tid in map(_key, t.get("aliases", []))), tid)
            lang = None
            if o.lang:  # None or "" = every language
                lang = _lang_code(o.lang)
                if lang not in LANGUAGES:
                    raise ValueError(f"override for {tid!r}: language {o.lang!r} is not one of {LANGUAGES}")
            if o.forgotten:
                forgotten.add(tid)
                continue
            forgotten.discard(tid)
            topic = by_id.get(tid)
            if topic is None:
                if o.text is None:
                    if not o.aliases:
                        continue
                    raise ValueError(f"override: topic {tid!r} does not exist; give it a text first")
                topic = {"id": tid, "aliases": [], "answers": {}, "source": None, "triggers": {}}
                topics.append(topic)
                by_id[tid] = topic
            if o.text is not None:
                text = " ".join(o.text.split())
                if not text:
                    raise ValueError(f"override for {tid!r}: empty text")
                src = topic.get("source")
                srcs = src if isinstance(src, dict) else {x: src for x in LANGUAGES}
                answers = dict(topic.get("answers") or {})
                for x in ([lang] if lang else list(LANGUAGES)):
                    full = _compose(text, srcs.get(x))
                    if len(full) > MAX_LINE_CHARS:
                        raise ValueError(f"override for {tid!r}: the answer would be {len(full)} "
                                         f"characters with its link; the limit is {MAX_LINE_CHARS}")
                    answers[x] = text
                topic["answers"] = answers
            for alias in o.aliases:
                key = _key(alias)
                if not key:
                    continue
                owner = self._names.get(key) or next(
                    (t["id"] for t in topics if key == t["id"] or key in map(_key, t.get("aliases", []))),
                    None)
                if owner is not None and owner != tid:
                    raise ValueError(f"override for {tid!r}: alias {alias!r} already names topic {owner!r}")
                aliases = list(topic.get("aliases", []))
                if key not in map(_key, aliases) and key != tid:
                    aliases.append(alias)
                topic["aliases"] = aliases
                trig = dict(topic.get("triggers") or {})
                trig[lang or "en"] = list(trig.get(lang or "en", [])) + [alias]
                topic["triggers"] = trig
        data["topics"] = [t for t in topics if t["id"] not in forgotten]
        # kept so that a later override can bring a forgotten topic back
        data["_forgotten_topics"] = [t for t in topics if t["id"] in forgotten]
        if not data["topics"]:
            raise ValueError("override: every topic is forgotten")
        return KnowledgeBase(data, self._origin + " + overrides")

"""The FAQ matcher: which answer, if any, fits a line of chat.

Prospective volunteers ask in plain words how to join the Volunteer Response
Team (VRT, formerly OTRS); most never type a bot command. The answers and
the matcher's word lists are data (``data/faq.json``, ``data/vocabulary.json``,
validated by :mod:`OTRSHelp.kbdata`); this module is only the reading of a
line.

Why it works this way:

* No machine learning: the topic set is small, curated and multilingual, and
  admins must be able to see *why* a line matched (:meth:`KnowledgeBase.decide`
  says it, and ``run_bot.py faq --explain`` prints it). Each topic carries
  weighted trigger phrases per language, ``require`` groups and ``exclude``
  terms; a line's score for a topic is the sum of its triggers' weights.
* Precision beats recall on channel lines: a wrong answer in a busy channel
  is worse than silence. A line must ask something, not be for someone else
  or agent talk, and its best topic must clear a threshold with a margin over
  the runner-up. In the VRT channel every question is about the VRT, so the
  line need not name it; a channel with a wider topic can ask for that
  (``require_domain``). The ``faq`` command (:meth:`KnowledgeBase.lookup`)
  is lenient, because the person asked the bot.
* Everything that depends only on the knowledge base (stems, phrase index,
  typo index) is computed once at load time, so a channel line costs a
  tokenisation plus a few dictionary look-ups.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .kbdata import (LANGUAGES, MAX_LINE_CHARS, MAX_TEXT_CHARS, Match, Override, Queue,
                     apply_overrides, compose, read_kb, read_vocabulary, topic_key,
                     topic_sources, validate_kb)

__all__ = ["LANGUAGES", "MAX_LINE_CHARS", "MAX_TEXT_CHARS", "Match", "Queue", "Override",
           "Decision", "KnowledgeBase", "LANGUAGE_LABELS"]

#: Scores below this never answer a channel line.
CHAT_MIN_SCORE = 3.0
#: The best topic must beat the runner-up by this much on a channel line.
CHAT_MIN_MARGIN = 1.0
#: Minimum score for the lenient ``faq`` command.
LOOKUP_MIN_SCORE = 1.5
#: Score reported for an exact topic id or alias.
EXACT_SCORE = 100.0
#: A person's line scoring this much for a pending answer's topic is taken
#: as their answer to it.
HUMAN_ANSWER_SCORE = 2.0

#: Tokens allowed between consecutive words of a trigger phrase.
_MAX_GAP = 2

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-@.][a-z0-9]+)*")
_SPLIT_RE = re.compile(r"[-@.]")
_TICKET_RE = re.compile(r"ticket\s*#|ticket:\s*\d|\b\d{10,16}\b", re.IGNORECASE)
_ADDRESSED_RE = re.compile(r"^\s*([A-Za-z_\[\]\\`^{}|][\w\-\[\]\\`^{}|]*)\s*:\s+\S")
_LINK_RE = re.compile(r"https?://|\b(?:meta|vrt)[:/]", re.IGNORECASE)

#: How ``queues`` names a language code.
LANGUAGE_LABELS: dict[str, str] = {
    "en": "English", "de": "German", "nl": "Dutch", "fr": "French", "es": "Spanish",
    "it": "Italian", "pt": "Portuguese", "pl": "Polish", "ru": "Russian", "ja": "Japanese",
    "zh": "Chinese", "ar": "Arabic", "mul": "any language",
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



# --------------------------------------------------------------------------
# The vocabulary (data/vocabulary.json), compiled once at import
# --------------------------------------------------------------------------

def _folded(words: Iterable[str]) -> frozenset[str]:
    return frozenset(_fold(w) for w in words)


def _padded(phrases: Iterable[str]) -> tuple[str, ...]:
    return tuple(" " + " ".join(_fold(p).split()) + " " for p in phrases)


_V = read_vocabulary()
_EXPAND: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _V["expand"].items()}
# The team's full name is the acronym: "what does the volunteer response team
# do" must meet "what vrt do", and its words must not count as "volunteer"
# (apply) or "response" (how-long). Longest first.
_NAME_SYNONYMS: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (tuple(seq), repl) for seq, repl in sorted(_V["team_name"], key=lambda p: -len(p[0])))
_GREETINGS = _folded(_V["greetings"])
_OPENERS = _folded(_V["openers"])
# A later clause ("im new here, where do I ...") asks when it opens with a
# question word, possibly after a preposition, or with an auxiliary followed
# by its subject. A bare auxiliary is not enough: "..., will do".
_WH = _folded(_V["question_words"])
_PREPOSITIONS = _folded(_V["prepositions"])
_AUX = (_OPENERS - _WH) - _folded(_V["not_auxiliaries"])
_SUBJECTS = _folded(_V["subjects"])
# English puts auxiliary before subject only in questions, anywhere in the
# line ("im 15 can i still join"); German and Dutch invert in statements too.
_INVERSIONS = _padded(_V["inversions"])
_QUESTION_PATTERNS = _padded(_V["question_patterns"])
# Statements that are questions: "i applied 2 weeks ago, nobody answered".
_STATEMENT_QUESTIONS = _padded(_V["statement_questions"])
_CLAUSE_RE = re.compile(r"[,;:!.()]+(?=\s|$)|\s[-\u2013\u2014]+\s|\s(?:but|and|aber|und|maar|en)\s")
_SECOND_PERSON_VERBS = _folded(_V["second_person_verbs"])
_SECOND_PERSON = _folded(_V["second_person"])
_GENERIC_YOU = _folded(_V["generic_you"])
_STRONG_PREFIXES = tuple(_V["strong_prefixes"])
_AGENT_WORK = tuple(_fold(w) for w in _V["agent_work_prefixes"])
_LANG_WORDS: dict[str, frozenset[str]] = {k: _folded(v) for k, v in _V["language_words"].items()}
_LANGUAGE_NAMES: dict[str, str] = {}
for _code, _names in _V["language_names"].items():
    _LANGUAGE_NAMES[_code] = _code
    for _n in _names:
        _LANGUAGE_NAMES[_fold(_n)] = _code


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


_key = topic_key

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



# phrases need _phrase, so they come after it
_STRONG_DOMAIN = tuple(_phrase(t) for t in _V["strong_domain"])
# Agent chatter: a ticket or queue plus a word for working it.
_WORK_OBJECTS = tuple(_phrase(t) for t in _V["work_objects"])
_AGENT_PHRASES = tuple(_phrase(t) for t in _V["agent_phrases"])
# Without a VRT word, only application verbs count as the VRT domain (for
# channels with a wider topic): "join" is used for channels and calls too.
_JOIN_DOMAIN = frozenset(_phrase(t)[0] for t in _V["join_domain"])
# Other Wikimedia matters: "how do I apply for adminship?" is not about the VRT.
_OTHER_MATTERS = frozenset(_phrase(t)[0] for t in _V["other_matters"])


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


# --------------------------------------------------------------------------
# The knowledge base
# --------------------------------------------------------------------------

@dataclass
class _Topic:
    id: str
    aliases: list[str]
    answers: dict[str, str]
    sources: list[str]
    require: list[list[tuple[str, Any]]]
    exclude: list[tuple[str, Any]]
    fallback: bool = False


@dataclass(frozen=True)
class Decision:
    """What the bot does with a channel line and why: ``match`` is the answer
    (None: silence) and ``reason`` the gate that decided, in words an admin
    reads in the log or in ``run_bot.py faq --explain``."""

    match: Match | None
    reason: str
    lang: str
    scores: list[tuple[str, float]] = field(default_factory=list)
    gates: dict[str, bool] = field(default_factory=dict)


class KnowledgeBase:
    """Answers for #wikimedia-vrtconnect and the matcher that picks them.

    Build it with :meth:`load` (the package's data/faq.json) or
    :meth:`from_dict`; it is immutable afterwards, so one instance serves every
    channel and thread. :meth:`with_overrides` returns a new instance with
    admins' edits.
    """

    queues: dict[str, Queue]

    def __init__(self, data: Mapping[str, Any], origin: str = "<faq>") -> None:  # noqa: C901
        """Compile an already validated knowledge base (see :meth:`from_dict`)."""
        self._data = data
        self._origin = origin
        self._topics: dict[str, _Topic] = {}
        self._names: dict[str, str] = {}
        single: dict[str, list[tuple[int, float]]] = {}
        multi: dict[str, list[tuple[int, tuple[tuple[str, ...], ...], float]]] = {}
        phrases: list[tuple[int, tuple[tuple[str, ...], ...], float]] = []
        vocab: set[str] = set()
        order: list[str] = []

        for t in data["topics"]:
            tid = t["id"]
            idx = len(order)
            order.append(tid)
            answers = {lang: text for lang, text in t.get("answers", {}).items() if text}
            self._names[tid] = tid
            for alias in t.get("aliases", []):
                self._names.setdefault(_key(alias), tid)
            seen: dict[tuple[tuple[str, ...], ...], float] = {}
            for text in (p for ps in t.get("triggers", {}).values() for p in ps):
                parts, weight = _parse_trigger(text)
                if parts and weight > seen.get(parts, 0.0):
                    seen[parts] = weight
            for parts, weight in seen.items():
                for tokens in parts:
                    vocab.update(tokens)
                if len(parts) == 1 and len(parts[0]) == 1:
                    single.setdefault(parts[0][0], []).append((idx, weight))
                else:
                    phrases.append((idx, parts, weight))
            require = [[self._term(x) for x in group] for group in t.get("require", [])]
            for group in require:
                for kind, val in group:
                    if kind == "p":
                        vocab.update(val)
            exclude = [self._term(x) for x in t.get("exclude", [])]
            self._topics[tid] = _Topic(tid, list(t.get("aliases", [])), answers, topic_sources(t),
                                       require, exclude, bool(t.get("fallback", False)))

        # A phrase trigger needs all its words: file it under its rarest one,
        # so a line with common words ("how", "vrt") tries few phrases.
        counts: dict[str, int] = {}
        for _idx, parts, _weight in phrases:
            for tok in {t for part in parts for t in part}:
                counts[tok] = counts.get(tok, 0) + 1
        for idx, parts, weight in phrases:
            rarest = min((t for part in parts for t in part), key=lambda t: (counts[t], t))
            multi.setdefault(rarest, []).append((idx, parts, weight))
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

        default_join = data.get("queue_join_default") or ""
        self.queues = {}
        for name, q in data.get("queues", {}).items():
            self.queues[name] = Queue(name=name, languages=list(q["languages"]),
                                      purpose=q["purpose"], join=q.get("join") or default_join)

    # ---------------------------------------------------------------- loading

    @classmethod
    def load(cls, path: str | Path | None = None) -> "KnowledgeBase":
        """The knowledge base shipped in the package (or the file at ``path``).

        Raises ValueError naming the file and the broken entry, so a typo
        stops the bot at start-up instead of misleading people later.
        """
        data, origin = read_kb(path)
        return cls(data, origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<dict>") -> "KnowledgeBase":
        """Validate and compile a knowledge base held in memory (tests, benchmarks)."""
        import copy

        return cls(validate_kb(copy.deepcopy(dict(data)), origin), origin)

    def with_overrides(self, overrides: Iterable[Override], on_error=None) -> "KnowledgeBase":
        """A new knowledge base with admins' edits layered over this one.

        Each edit passes the same validation as the file. Without ``on_error``
        a bad edit raises ValueError (``faq set`` refuses it before storing);
        with it, the bad edit is reported and skipped and the others apply.
        """
        data = apply_overrides(self._data, list(overrides), on_error=on_error)
        return KnowledgeBase(data, self._origin + " + overrides")

    def _term(self, text: str) -> tuple[str, Any]:
        text = text.strip()
        if text.endswith("*"):
            return ("x", _fold(text[:-1]))
        return ("p", _phrase(text))

    # ---------------------------------------------------------------- answers

    def topics(self) -> list[str]:
        """Topic ids in file order (forgotten topics left out)."""
        return list(self._order)

    def sources(self, topic: str) -> list[str]:
        """The pages a topic's facts come from (empty: the answer ends in its own link)."""
        tid = self._resolve(topic)
        return list(self._topics[tid].sources) if tid else []

    def _resolve(self, topic: str) -> str | None:
        return self._names.get(_key(topic)) if topic else None

    def answer(self, topic: str, lang: str = "en") -> str | None:
        """The answer line for a topic id or alias in ``lang`` (else English),
        ending with its source link so people can check it."""
        tid = self._resolve(topic)
        if tid is None:
            return None
        t = self._topics[tid]
        code = _lang_code(lang) or "en"
        for candidate in (code, "en", *t.answers.keys()):
            if candidate in t.answers:
                return compose(t.answers[candidate], t.sources[0] if t.sources else None)
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

    def _scores(self, line: _Line, strict: bool, drop_fallback: bool = True) -> list[tuple[float, str]]:
        """Every topic with a trigger in the line, best first.

        ``strict``: a topic whose ``require`` groups are not all met scores 0
        (channel); otherwise its score is halved (the ``faq`` command).
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
        if drop_fallback and any(score >= floor and not self._topics[tid].fallback for score, tid in out):
            out = [(score, tid) for score, tid in out if not self._topics[tid].fallback]
        out.sort(key=lambda st: (-st[0], self._rank[st[1]]))
        return out

    def lookup(self, query: str, lang: str | None = None) -> Match | None:
        """For ``faq <topic or question>``: an exact id/alias, else the best topic.

        Lenient on purpose: the person asked the bot, so no question or
        domain test and a lower threshold than a channel line.
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
        """Nearest topic ids for a query that did not match, best first:
        spelling similarity to names ("aplly") plus the lenient score."""
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
        """Does the line ask something? A '?', an opener, "i want to join"-style
        wording, or a statement that waits for an answer ("nobody answered")."""
        if "?" in text:
            return True
        words = _words(text)
        i = 0
        while i < len(words) and words[i] in _GREETINGS:
            i += 1
        if i < len(words) and words[i] in _OPENERS:
            return True
        padded = " " + " ".join(words) + " "
        if any(p in padded for p in _QUESTION_PATTERNS) or any(p in padded for p in _INVERSIONS) \
                or any(p in padded for p in _STATEMENT_QUESTIONS):
            return True
        return any(self._clause_asks(_words(c)) for c in _CLAUSE_RE.split(text))

    @staticmethod
    def _clause_asks(words: list[str]) -> bool:
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

    @staticmethod
    def _names_vrt(line: _Line) -> bool:
        return any(line.has_phrase(t) for t in _STRONG_DOMAIN) or any(
            w.startswith(_STRONG_PREFIXES) for w in line.raws)

    def _in_domain(self, line: _Line) -> bool:
        """Does the line name the VRT, or (without other matters) joining it?"""
        if self._names_vrt(line):
            return True
        if any(s in _OTHER_MATTERS for s in line.stems):
            return False
        return any(s in _JOIN_DOMAIN for s in line.stems)

    def decide(self, line: str, require_domain: bool = False, addressed: bool = False,  # noqa: C901
               full: bool = False) -> Decision:
        """The channel path: the answer for a plain line, or silence and why.

        ``require_domain`` is for channels with a wider topic: the line must
        name the VRT or joining it. ``addressed``: the line was said to the
        bot, so it is not "for someone else". Gates run cheapest first and
        stop at the first that says no (every line in the channel comes
        here); ``full`` evaluates them all, for ``--explain``.
        """
        gates: dict[str, bool] = {"require_domain": require_domain}
        scores: list[tuple[str, float]] = []
        reason = ""

        def gate(name: str, value: bool, why: str) -> bool:
            nonlocal reason
            gates[name] = value
            if why and not reason:
                reason = why
            return bool(reason) and not full

        if not line or len(line) > 600:
            return Decision(None, "empty or too long", "en")
        question = self.is_question(line)
        if gate("question", question, "" if question else "not a question"):
            return Decision(None, reason, "en", scores, gates)
        ticket = bool(_TICKET_RE.search(line))
        if gate("ticket_talk", ticket, "talks about a ticket" if ticket else ""):
            return Decision(None, reason, "en", scores, gates)
        other = (not addressed) and self._is_for_someone_else(line)
        if gate("for_someone_else", other, "addressed to someone else" if other else ""):
            return Decision(None, reason, "en", scores, gates)
        analysed = self._line(line)
        names_vrt = self._names_vrt(analysed)
        off_topic = not names_vrt and any(s in _OTHER_MATTERS for s in analysed.stems)
        gates["names_vrt"] = names_vrt
        if gate("other_matter", off_topic, "about another Wikimedia matter" if off_topic else ""):
            return Decision(None, reason, "en", scores, gates)
        domain = names_vrt or self._in_domain(analysed)
        if gate("domain", domain, "does not name the VRT (this channel requires it)"
                if require_domain and not domain else ""):
            return Decision(None, reason, "en", scores, gates)
        agent = self._is_agent_talk(analysed)
        if gate("agent_talk", agent, "agents' talk about their queues" if agent else ""):
            return Decision(None, reason, "en", scores, gates)
        strict = self._scores(analysed, strict=True)
        scores = [(tid, round(sc, 3)) for sc, tid in strict[:5]]
        lang = self.detect_language(line)
        if not reason:
            if not strict:
                reason = "no topic matched"
            else:
                best, tid = strict[0]
                runner_up = strict[1][0] if len(strict) > 1 else 0.0
                if best < CHAT_MIN_SCORE:
                    reason = f"best topic {tid} scored {best:g}, below {CHAT_MIN_SCORE:g}"
                elif best - runner_up < CHAT_MIN_MARGIN:
                    reason = f"{tid} ({best:g}) too close to {strict[1][1]} ({runner_up:g})"
                else:
                    text = self.answer(tid, lang)
                    if text:
                        return Decision(Match(tid, round(best, 3), lang, text), "answer", lang, scores, gates)
                    reason = f"{tid} has no answer"  # pragma: no cover - validated data
        return Decision(None, reason, lang, scores, gates)

    def match_chat(self, line: str, require_domain: bool = False) -> Match | None:
        """The answer for a plain channel line, or None (the usual case)."""
        return self.decide(line, require_domain).match

    def explain(self, line: str, require_domain: bool = False) -> dict[str, Any]:
        """Why a line did or did not match: gates, top scores, the lenient ones."""
        d = self.decide(line, require_domain, full=True)
        lenient = self._scores(self._line(line or ""), strict=False)[:5]
        return {"topic": d.match.topic if d.match else None, "reason": d.reason, "lang": d.lang,
                **d.gates, "scores": d.scores,
                "lenient": [(tid, round(s, 3)) for s, tid in lenient]}

    def speaks_to(self, line: str, topic: str) -> bool:
        """Does a person's line answer on ``topic`` (a link, or the topic's
        own words), so that the bot's pending answer would repeat it? A
        question on the topic is not an answer."""
        if _LINK_RE.search(line or ""):
            return True
        if self.is_question(line):
            return False
        for score, tid in self._scores(self._line(line), strict=False, drop_fallback=False):
            if tid == topic and score >= HUMAN_ANSWER_SCORE:
                return True
        return False

    # --------------------------------------------------------------- language

    def detect_language(self, text: str) -> str:
        """"en", "de" or "nl" from function words and spelling; English when unsure."""
        score = {"en": 0.0, "de": 0.0, "nl": 0.0}
        for w in _TOKEN_RE.findall(_fold(text)):
            for lang, words in _LANG_WORDS.items():
                if w in words:
                    score[lang] += 1.0
            if "ij" in w and w.isalpha():
                score["nl"] += 0.5
        if any(ch in text.casefold() for ch in "äöüß"):
            score["de"] += 1.5
        best = max(score.values())
        if best <= 0:
            return "en"
        return next(lang for lang in ("en", "de", "nl") if score[lang] == best)

    # ----------------------------------------------------------------- queues

    def queues_for_language(self, language: str, include_multilingual: bool = True) -> list[Queue]:
        """Queues that handle ``language`` ("German", "Deutsch" or "de"); the
        multilingual ones too unless ``include_multilingual`` is False."""
        code = _lang_code(language)
        if code is None:
            return []
        out = [q for q in self.queues.values()
               if code in q.languages or (include_multilingual and "mul" in q.languages)]
        return sorted(out, key=lambda q: ("mul" in q.languages, q.name))

    @staticmethod
    def language_label(code: str) -> str:
        return LANGUAGE_LABELS.get(code, code)

    def queue_line(self, name: str) -> str | None:
        """``queue NAME``: what the queue is for, its languages and how to join it."""
        q = self.queues.get((name or "").strip().lower())
        if q is None:
            return None
        langs = ", ".join(self.language_label(x) for x in q.languages)
        return f"{q.name} ({langs}): {q.purpose} To join: {q.join}"

    def queues_line(self, queues: Iterable[Queue]) -> str:
        """``queues``: names with their languages spelled out, and where the list is."""
        items = [f"{q.name} ({', '.join(self.language_label(x) for x in q.languages)})" for q in queues]
        return ("Queues (in brackets: the language of the mail; 'any language': mail in every "
                "language): " + "; ".join(items) + ". More: queue <name>.")

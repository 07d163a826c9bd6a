"""The FAQ's data: the knowledge base and the matcher's vocabulary, as files
shipped inside the package, and the one place that validates them.

Both files are edited by people who do not read Python (VRTS admins, a
translator), so a mistake must stop the load with a message that names the
file, the entry and the problem. Admins' changes made from IRC (overrides)
are applied to the same data and pass the same validation, so an answer
that would be refused in the file is refused from IRC too, before it is
stored.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "LANGUAGES", "MAX_TEXT_CHARS", "MAX_LINE_CHARS", "SOURCE_HOSTS",
    "Match", "Queue", "Override", "load_json", "read_kb", "read_vocabulary",
    "validate_kb", "validate_vocabulary", "apply_overrides", "topic_key", "compose",
]

#: Languages every topic must answer in.
LANGUAGES: tuple[str, ...] = ("en", "de", "nl")
#: Hard limit for an answer text (one IRC line, before the link).
MAX_TEXT_CHARS = 350
#: Limit for a full line (text + space + link); keeps one PRIVMSG under 512 bytes.
MAX_LINE_CHARS = 400
#: Where a source page may live: the pages that define the process.
SOURCE_HOSTS = ("meta.wikimedia.org", "de.wikipedia.org", "foundation.wikimedia.org")

_SOURCE_RE = re.compile(r"^https://(%s)/wiki/\S+$" % "|".join(re.escape(h) for h in SOURCE_HOSTS))
_URL_END_RE = re.compile(r"https?://\S+$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

KB_FILE = "faq.json"
VOCABULARY_FILE = "vocabulary.json"


@dataclass(frozen=True)
class Match:
    """One answer the bot would give; ``score`` shows how sure the matcher was
    (100 for an exact topic name)."""

    topic: str
    score: float
    lang: str
    answer: str


@dataclass(frozen=True)
class Queue:
    """A VRT queue as people ask about it. ``languages`` holds ISO codes;
    ``"mul"`` means any language. ``join`` says how to join it."""

    name: str
    languages: list[str]
    purpose: str
    join: str


@dataclass
class Override:
    """An admin's change made from IRC, layered over the file so the file
    stays the reviewed source and the store can keep and undo changes.

    ``text`` with ``lang=None`` sets every language (a corrected fact must not
    survive in a translation); a text ending in a link names its own source.
    ``aliases`` are extra names for ``faq <name>``. ``forgotten`` hides the
    topic until a later override of it brings it back.
    """

    topic: str
    lang: str | None = None
    text: str | None = None
    aliases: list[str] = field(default_factory=list)
    forgotten: bool = False


def topic_key(text: str) -> str:
    """Normal form of a topic id or alias: "How to apply" -> "how-to-apply"."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("'", "")
    return "-".join(text.split())


def compose(text: str, source: str | None) -> str:
    """Answer line = text + source link, unless the text already ends with a link."""
    text = " ".join(text.split())
    if source and not _URL_END_RE.search(text):
        return f"{text} {source}"
    return text


def _data_file(name: str) -> Any:
    return resources.files(__package__).joinpath("data", name) if __package__ else \
        Path(__file__).parent / "data" / name


def load_json(path: str | Path | None, default: str) -> tuple[Any, str]:
    """Parsed JSON and where it came from: the package's own file unless a
    path is given. A syntax error names the file, line and column."""
    if path is None:
        ref = _data_file(default)
        origin = str(ref)
        raw = ref.read_text(encoding="utf-8")
    else:
        origin = str(path)
        raw = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(raw), origin
    except json.JSONDecodeError as exc:
        raise ValueError(f"{origin}: not valid JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from exc


def read_kb(path: str | Path | None = None) -> tuple[dict[str, Any], str]:
    data, origin = load_json(path, KB_FILE)
    return validate_kb(data, origin), origin


def read_vocabulary(path: str | Path | None = None) -> dict[str, Any]:
    data, origin = load_json(path, VOCABULARY_FILE)
    return validate_vocabulary(data, origin)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------

def _fail(origin: str, where: str, problem: str) -> ValueError:
    return ValueError(f"{origin}: {where}: {problem}")


def _terms(origin: str, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(origin, where, "must be a list of non-empty strings")
    return value


#: vocabulary.json: key -> "words" (list of words), "map" (word -> list of words),
#: "langmap" (language -> list of words), "pairs" (list of [[words], word])
VOCABULARY_SCHEMA: dict[str, str] = {
    "expand": "map", "team_name": "pairs", "greetings": "words", "openers": "words",
    "question_words": "words", "prepositions": "words", "not_auxiliaries": "words",
    "subjects": "words", "inversions": "words", "question_patterns": "words",
    "statement_questions": "words", "second_person_verbs": "words",
    "second_person": "words", "generic_you": "words", "strong_domain": "words",
    "strong_prefixes": "words", "work_objects": "words", "agent_work_prefixes": "words",
    "agent_phrases": "words", "join_domain": "words", "other_matters": "words",
    "language_words": "langmap", "language_names": "map",
}


def validate_vocabulary(data: Any, origin: str = "<vocabulary>") -> dict[str, Any]:  # noqa: C901
    """Every list the matcher reads must be there and hold words: a missing
    list would silently change what counts as a question."""
    if not isinstance(data, dict):
        raise _fail(origin, "top level", "must be a JSON object")
    for key, kind in VOCABULARY_SCHEMA.items():
        if key not in data:
            raise _fail(origin, key, "missing")
        value = data[key]
        if kind == "words":
            _terms(origin, key, value)
        elif kind in ("map", "langmap"):
            if not isinstance(value, dict):
                raise _fail(origin, key, "must be an object of word -> list of words")
            for k, v in value.items():
                _terms(origin, f"{key}.{k}", v)
            if kind == "langmap" and set(value) != set(LANGUAGES):
                raise _fail(origin, key, f"must have exactly the languages {list(LANGUAGES)}")
        elif kind == "pairs":
            if not isinstance(value, list) or not all(
                    isinstance(p, list) and len(p) == 2 and isinstance(p[1], str)
                    and _terms(origin, key, p[0]) for p in value):
                raise _fail(origin, key, "must be a list of [[words], replacement]")
    unknown = set(data) - set(VOCABULARY_SCHEMA) - {"_comment"}
    if unknown:
        raise _fail(origin, ", ".join(sorted(unknown)), "unknown list (a typo in its name?)")
    return data


def topic_sources(topic: Mapping[str, Any]) -> list[str]:
    """The pages a topic's facts come from. A text that ends in a link (an
    admin's override) names its own page."""
    sources = topic.get("sources")
    if isinstance(sources, list):
        return [s for s in sources if isinstance(s, str)]
    return []


def validate_kb(data: Any, origin: str = "<faq>") -> dict[str, Any]:  # noqa: C901
    """Check the whole knowledge base; raise a ValueError that names the place.

    No claim without a source: every topic lists the page(s) its facts come
    from, on a wiki that defines the process, or its answer ends in a link.
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
        for alias in _terms(origin, f"{where}.aliases", topic.get("aliases", [])):
            key = topic_key(alias)
            if key in names and names[key] != tid:
                raise _fail(origin, f"{where}.aliases", f"{alias!r} is already a name of topic {names[key]!r}")
            names[key] = tid
        sources = topic.get("sources")
        if sources is not None:
            _terms(origin, f"{where}.sources", sources)
            for src in sources:
                if not _SOURCE_RE.match(src):
                    raise _fail(origin, f"{where}.sources",
                                f"{src!r} is not a https://meta.wikimedia.org/wiki/... "
                                f"(or {', '.join(SOURCE_HOSTS[1:])}) page")
        answers = topic.get("answers")
        if not isinstance(answers, dict):
            raise _fail(origin, f"{where}.answers", "missing or not an object of language -> text")
        first = (sources or [None])[0]
        for lang in LANGUAGES:
            text = answers.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise _fail(origin, f"{where}.answers.{lang}", "missing answer")
            if "\n" in text or "\r" in text:
                raise _fail(origin, f"{where}.answers.{lang}", "must be one IRC line (no line breaks)")
            if len(text) > MAX_TEXT_CHARS:
                raise _fail(origin, f"{where}.answers.{lang}",
                            f"is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
            if first is None and not _URL_END_RE.search(text.strip()):
                raise _fail(origin, f"{where}.sources",
                            "missing: every answer must say where its facts come from "
                            "(list the page in sources, or end the text with its link)")
            full = compose(text, first)
            if len(full) > MAX_LINE_CHARS:
                raise _fail(origin, f"{where}.answers.{lang}",
                            f"is {len(full)} characters with its link; the limit is {MAX_LINE_CHARS}")
        triggers = topic.get("triggers", {})
        if not isinstance(triggers, dict):
            raise _fail(origin, f"{where}.triggers", "must be an object of language -> list of phrases")
        for lang, phrases in triggers.items():
            _terms(origin, f"{where}.triggers.{lang}", phrases)
        require = topic.get("require", [])
        if not isinstance(require, list):
            raise _fail(origin, f"{where}.require", "must be a list of term groups")
        for j, group in enumerate(require):
            _terms(origin, f"{where}.require[{j}]", group)
        _terms(origin, f"{where}.exclude", topic.get("exclude", []))
        if not isinstance(topic.get("fallback", False), bool):
            raise _fail(origin, f"{where}.fallback", "must be true or false")
    queues = data.get("queues", {})
    if not isinstance(queues, dict):
        raise _fail(origin, "queues", "must be an object of queue name -> details")
    default_join = data.get("queue_join_default")
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
        join = q.get("join")
        if join is None and not isinstance(default_join, str):
            raise _fail(origin, f"{where}.join", "missing, and there is no queue_join_default")
        if join is not None and (not isinstance(join, str) or not join.strip()):
            raise _fail(origin, f"{where}.join", "must be text or null (null: queue_join_default)")
    return data


# --------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------

def _names(topics: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in topics:
        out.setdefault(t["id"], t["id"])
        for alias in t.get("aliases", []):
            out.setdefault(topic_key(alias), t["id"])
    return out


def _lang_of(o: Override, tid: str) -> str | None:
    if not o.lang:
        return None
    code = o.lang.strip().lower()
    if code not in LANGUAGES:
        raise ValueError(f"override for {tid!r}: language {o.lang!r} is not one of {LANGUAGES}")
    return code


def _apply_one(data: dict[str, Any], o: Override) -> None:  # noqa: C901
    shelved: list[dict[str, Any]] = data.setdefault("_forgotten_topics", [])
    topics: list[dict[str, Any]] = data["topics"]
    tid = topic_key(o.topic)
    if not tid or not _ID_RE.match(tid):
        raise ValueError(f"override: {o.topic!r} is not a valid topic id")
    tid = _names(topics + shelved).get(tid, tid)
    lang = _lang_of(o, tid)
    by_id = {t["id"]: t for t in topics}
    shelf = {t["id"]: t for t in shelved}
    if o.forgotten:
        if tid in by_id:
            shelved.append(by_id[tid])
            data["topics"] = [t for t in topics if t["id"] != tid]
        elif tid not in shelf:
            raise ValueError(f"override: there is no topic {tid!r} to forget")
        if not data["topics"]:
            raise ValueError("override: every topic would be forgotten")
        return
    if tid in shelf:  # any later change brings a forgotten topic back
        data["_forgotten_topics"] = [t for t in shelved if t["id"] != tid]
        topics.append(shelf[tid])
    topic = next((t for t in data["topics"] if t["id"] == tid), None)
    if topic is None:
        if o.text is None:
            if not o.aliases:
                return
            raise ValueError(f"override: topic {tid!r} does not exist; give it a text first")
        topic = {"id": tid, "aliases": [], "answers": {}, "triggers": {}}
        data["topics"].append(topic)
    if o.text is not None:
        text = " ".join(o.text.split())
        if not text:
            raise ValueError(f"override for {tid!r}: empty text")
        answers = dict(topic.get("answers") or {})
        for x in ([lang] if lang else list(LANGUAGES)):
            answers[x] = text
        if any(not answers.get(x) for x in LANGUAGES):  # a new topic set in one language
            for x in LANGUAGES:
                answers.setdefault(x, text)
        topic["answers"] = answers
    for alias in o.aliases:
        key = topic_key(alias)
        if not key:
            continue
        owner = _names(data["topics"]).get(key)
        if owner is not None and owner != tid:
            raise ValueError(f"override for {tid!r}: alias {alias!r} already names topic {owner!r}")
        if key != tid and key not in map(topic_key, topic.get("aliases", [])):
            topic["aliases"] = list(topic.get("aliases", [])) + [alias]
        trig = dict(topic.get("triggers") or {})
        trig[lang or "en"] = list(trig.get(lang or "en", [])) + [alias]
        topic["triggers"] = trig


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[Override],
                    on_error: Callable[[Override, ValueError], None] | None = None,
                    origin: str = "override") -> dict[str, Any]:
    """The knowledge base with admins' changes, in order (later wins).

    Each change is applied to a copy and validated like the file: a change
    that breaks the knowledge base raises, or with ``on_error`` is reported
    and skipped, so one bad stored row never disables the others.
    """
    current = copy.deepcopy(dict(data))
    for o in overrides:
        candidate = copy.deepcopy(current)
        try:
            _apply_one(candidate, o)
            validate_kb(candidate, f"{origin} of {o.topic!r}")
        except ValueError as e:
            if on_error is None:
                raise
            on_error(o, e)
            continue
        current = candidate
    return current

"""How events read in the channel: one line each, readable at a glance.

Everything from the wiki is untrusted and passes through
:func:`OTRSHelp.names.irc_safe`; names get a zero-width space so nobody is
pinged each time their name is announced; the link survives when a long line
is cut; a flood of events (catch-up after downtime) becomes one line per
application.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from string import Template
from typing import Collection, Iterable, Mapping
from urllib.parse import quote

from .model import (STATUSES, VOTE_KINDS, ArchivedDetail, Detail, Event, OpenedDetail, RemarkDetail,
                    StatusDetail, VoteDetail)
from .names import deping, irc_safe, no_ping

__all__ = ["DEFAULT_FORMATS", "Links", "format_event", "summarize", "lines_for", "rest_line"]

DEFAULT_FORMATS: dict[str, str] = {
    "opened": "New VRT application by $applicant ($queues; $languages): \u201c$excerpt\u201d $link",
    "vote": "$actor $vote the application of $applicant: \u201c$excerpt\u201d $link",
    "comment": "$actor commented on $applicant's application: \u201c$excerpt\u201d $link",
    "question": "$actor asked $applicant a question: \u201c$excerpt\u201d $link",
    "reply": "$applicant replied on their application: \u201c$excerpt\u201d $link",
    "status": "$applicant's application is now $status (by $actor) $link",
    "archived": "$applicant's application ($status) was archived by $actor $link",
}
# How each of the model's votes and statuses reads (a status is announced
# when it changes, so "open" is a reopening).
_VOTE_VERBS = dict(zip(VOTE_KINDS, ("supports", "opposes", "is neutral on"), strict=True))
_STATUS_WORDS = dict(zip(STATUSES, ("open again", "approved", "declined", "withdrawn", "on hold"),
                         strict=True))
# An IRC line is 512 bytes with the command, target and the bot's own prefix.
MAX_BYTES = 400


@dataclass(frozen=True)
class Links:
    """Links into the wiki: ``article`` is like https://meta.wikimedia.org/wiki/$1,
    ``script`` like https://meta.wikimedia.org/w/index.php."""

    article: str
    script: str
    title: str

    @classmethod
    def from_api(cls, api_url: str, title: str) -> "Links":
        """Guess the article path from api.php's URL (Wikimedia's layout:
        /w/api.php with articles at /wiki/); the plugin refines it from
        siteinfo when it can."""
        base = api_url.rsplit("/", 1)[0]
        if base.endswith("/w"):
            return cls(base[:-2] + "/wiki/$1", base + "/index.php", title)
        return cls(base + "/index.php?title=$1", base + "/index.php", title)

    def section(self, anchor: str) -> str:
        page = quote(self.title.replace(" ", "_"), safe="/:,()!*'@$")
        frag = quote(anchor.replace(" ", "_"), safe="/:,()!*'@$-._~")
        return self.article.replace("$1", page) + ("#" + frag if frag else "")

    def history(self) -> str:
        sep = "&" if "?" in self.script else "?"
        page = quote(self.title.replace(" ", "_"), safe="/:,()!*'@$")
        return f"{self.script}{sep}title={page}&action=history"

    def diff(self, revid: int | None) -> str:
        if not revid:
            return self.section("")
        sep = "&" if "?" in self.script else "?"
        return f"{self.script}{sep}diff={revid}"


def _link(event: Event, links: Links, max_bytes: int = MAX_BYTES) -> str:
    """The section for an application or its status, the diff otherwise; a
    section link too long for the line (a long non-Latin name, percent-encoded)
    gives way to the diff, which always fits."""
    if event.kind in ("opened", "status"):
        link = links.section(event.anchor)
        if len(link.encode("utf-8")) <= max_bytes // 2:
            return link
    return links.diff(event.revid)


def format_event(event: Event, links: Links, formats: Mapping[str, str] | None = None,
                 max_bytes: int = MAX_BYTES, nicks: Collection[str] = ()) -> str:
    """One IRC line for *event*; the quoted excerpt is what gets cut.

    The excerpt is the wiki's words, which address people ("@X", "X: FYI",
    pings rendered): every name in it is de-pinged like the applicant's and
    the actor's, and so is every one of *nicks* (the people in the
    channel), so that no announcement highlights anyone."""
    fmt = (formats or {}).get(event.kind) or DEFAULT_FORMATS.get(event.kind, "$kind: $applicant $link")
    values = {
        "kind": event.kind,
        "applicant": no_ping(event.applicant),
        "actor": no_ping(event.actor or "someone"),
        **_detail_values(event.detail),
        "link": _link(event, links, max_bytes),
        "excerpt": "",
    }
    excerpt = deping(irc_safe(_excerpt(event.detail)), nicks,
                     [event.applicant, *([event.actor] if event.actor else [])])
    template = Template(fmt)
    # measure with a one-character stand-in, so the whitespace around
    # $excerpt is counted as it will be sent (irc_safe collapses "  ")
    values["excerpt"] = "\u2026"
    line = irc_safe(template.safe_substitute(values))
    room = max_bytes - len(line.encode("utf-8")) + len("\u2026".encode("utf-8"))
    if room < len(excerpt.encode("utf-8")):
        excerpt = _cut_bytes(excerpt, max(room, 0))
    values["excerpt"] = excerpt
    line = irc_safe(template.safe_substitute(values))
    line = line.replace("\u201c\u201d ", "").replace(" \u201c\u201d", "")
    if len(line.encode("utf-8")) > max_bytes:  # a format without $excerpt, or huge names
        link = values["link"]
        head = line.replace(link, "").rstrip()
        line = _cut_bytes(head, max_bytes - len(link.encode("utf-8")) - 1) + " " + link
    return line


def _detail_values(d: Detail) -> dict[str, str]:
    """The placeholders an event's detail fills; a format that names one its
    kind lacks gets a neutral word, never a raw "$vote"."""
    status = d.status if isinstance(d, (StatusDetail, ArchivedDetail)) else None
    previous = d.previous if isinstance(d, StatusDetail) else None
    queues = d.queues if isinstance(d, OpenedDetail) else ()
    languages = d.languages if isinstance(d, OpenedDetail) else ()
    return {
        "vote": _VOTE_VERBS.get(d.vote or "", "voted on") if isinstance(d, VoteDetail) else "voted on",
        "status": _STATUS_WORDS.get(status or "", irc_safe(status or "")),
        "previous": _STATUS_WORDS.get(previous or "", ""),
        "queues": irc_safe(", ".join(queues) or "no queue given", 120),
        "languages": irc_safe(", ".join(languages) or "languages not given", 80),
    }


def _excerpt(d: Detail) -> str:
    return d.excerpt if isinstance(d, (OpenedDetail, RemarkDetail)) else ""


def _cut_bytes(text: str, limit: int) -> str:
    if len(text.encode("utf-8")) <= limit:
        return text
    if limit <= 1:
        return ""
    out = text.encode("utf-8")[: max(limit - 3, 0)].decode("utf-8", "ignore").rstrip()
    return out + "\u2026"


def summarize(events: Iterable[Event], links: Links, max_bytes: int = MAX_BYTES) -> list[str]:
    """One line per application for a burst of events."""
    groups: "OrderedDict[str, list[Event]]" = OrderedDict()
    for e in events:
        groups.setdefault(e.applicant, []).append(e)
    lines = []
    for applicant, evs in groups.items():
        parts: list[str] = []
        if any(e.kind == "opened" for e in evs):
            parts.append("new application")
        votes = [e.detail.vote for e in evs if isinstance(e.detail, VoteDetail)]
        if votes:
            counted = ", ".join(f"{votes.count(v)} {v}" for v in ("support", "oppose", "neutral") if v in votes)
            parts.append(f"{len(votes)} vote{'s' if len(votes) != 1 else ''} ({counted})")
        for kind, word in (("question", "question"), ("reply", "reply by the applicant"),
                           ("comment", "comment")):
            n = sum(1 for e in evs if e.kind == kind)
            if n:
                parts.append(f"{n} {word}{'s' if n != 1 and kind != 'reply' else ''}"
                             if kind != "reply" else f"{n} {'replies' if n != 1 else 'reply'} by the applicant")
        statuses = [e.detail.status for e in evs if isinstance(e.detail, StatusDetail)]
        if statuses:
            parts.append("now " + _STATUS_WORDS.get(statuses[-1], str(statuses[-1])))
        if any(e.kind == "archived" for e in evs):
            parts.append("archived")
        last = evs[-1]
        link = links.section(last.anchor) if last.kind != "archived" else links.diff(last.revid)
        if len(link.encode("utf-8")) > max_bytes // 2:
            link = links.diff(last.revid)
        line = irc_safe(f"{no_ping(applicant)}: {'; '.join(parts)}")
        line = _cut_bytes(line, max_bytes - len(link.encode()) - 1) + " " + link
        lines.append(line)
    return lines


def lines_for(events: list[Event], links: Links, formats: Mapping[str, str] | None = None,
              burst: int = 5, max_bytes: int = MAX_BYTES,
              max_lines: int | None = None,
              nicks: Collection[str] = ()) -> list[tuple[str, list[int]]]:
    """The lines to send for *events*, each with the ids of the events it
    covers (so each can be marked announced when its line is delivered).
    *nicks*: who is in the channel, de-pinged in excerpts.

    However many events come at once (one edit adding 300 sections, a
    catch-up after a day offline), the channel gets at most ``max_lines``
    lines (default: ``burst``): up to ``burst`` events one line each; more
    become one line per application; more applications than that become
    lines for the first few and one line for all the rest."""
    max_lines = max(1, max_lines or burst)
    if len(events) <= min(burst, max_lines):
        return [(format_event(e, links, formats, max_bytes, nicks), [e.id] if e.id is not None else [])
                for e in events]
    by_app: "OrderedDict[str, list[Event]]" = OrderedDict()
    for e in events:
        by_app.setdefault(e.applicant, []).append(e)
    groups = list(by_app.values())
    own = groups if len(groups) <= max_lines else groups[:max_lines - 1]
    out = []
    for evs in own:
        line = summarize(evs, links, max_bytes)[0]
        out.append((line, [e.id for e in evs if e.id is not None]))
    rest = [e for evs in groups[len(own):] for e in evs]
    if rest:
        out.append((rest_line(rest, links, len(groups) - len(own), max_bytes),
                    [e.id for e in rest if e.id is not None]))
    return out


_REST_WORDS = (("opened", "new application", "new applications"), ("vote", "vote", "votes"),
               ("question", "question", "questions"), ("reply", "reply", "replies"),
               ("comment", "comment", "comments"), ("status", "decision", "decisions"),
               ("archived", "archived", "archived"))


def rest_line(events: list[Event], links: Links, applications: int, max_bytes: int = MAX_BYTES) -> str:
    """One line for many applications at once: what happened, by whom when
    it was one edit, and where to read it (the diff, or the page history)."""
    counts = [f"{n} {one if n == 1 else many}"
              for kind, one, many in _REST_WORDS
              if (n := sum(1 for e in events if e.kind == kind))]
    revids = {e.revid for e in events}
    actors = {e.actor for e in events}
    lead = "…and" if applications else ""
    text = f"{lead} {applications} more application{'s' if applications != 1 else ''}: {', '.join(counts)}"
    if len(revids) == 1 and None not in revids:
        text += ", in one edit"
        actor = next(iter(actors)) if len(actors) == 1 else None
        if actor:
            text += f" by {no_ping(actor)}"
        link = links.diff(next(iter(revids)))
    else:
        link = links.history()
    line = irc_safe(text.strip())
    return _cut_bytes(line, max_bytes - len(link.encode()) - 1) + " " + link

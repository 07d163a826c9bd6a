"""What the volunteering page means, in one place: applications, comments,
statuses, the vote rules and the events the bot announces.

The parser fills these types from wikitext, the tracker turns their changes
into events, the announcer words the events and the admin views count votes
and questions with the same rules. A new status, vote rule or event field
is changed here and nowhere else; the words people read stay with whoever
writes them (``announce``, ``admin``).

Pure data and rules: no I/O, no wikitext, no database, no IRC.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal, Mapping, Protocol, Sequence, TypeAlias, get_args

__all__ = [
    "ANSWERED", "CLOSED_STATUSES", "COMMENT_KINDS", "EVENT_KINDS", "STATUSES", "VOTE_KINDS",
    "WAITING_STATUSES", "Application", "ArchivedDetail", "Comment", "CommentLike", "Detail",
    "Event", "EventKind", "OpenedDetail", "RemarkDetail", "StatusDetail", "VoteDetail", "current_votes",
    "detail_from_json", "event_kind", "iso", "mark_answered", "unanswered_questions",
]

# ---------------------------------------------------------------------------
# Statuses
# ---------------------------------------------------------------------------

# Where an application stands; ``scan --json`` spells them so (DESIGN.md).
STATUSES = ("open", "approved", "declined", "withdrawn", "on hold")
# Decided: nothing is waiting for an answer any more.
CLOSED_STATUSES = frozenset(("approved", "declined", "withdrawn"))
# Still waiting for the admins: what "pending" and the stale digest list.
WAITING_STATUSES = ("open", "on hold")

# ---------------------------------------------------------------------------
# Comments and votes
# ---------------------------------------------------------------------------

VOTE_KINDS = ("support", "oppose", "neutral")
# What one contribution below an application is. "status" closes or reopens
# it (``Comment.status`` says how); "reply" is indented under someone else's.
COMMENT_KINDS = (*VOTE_KINDS, "comment", "question", "reply", "status")
# The ``status`` of a question the page shows answered.
ANSWERED = "answered"
# A contribution of these kinds under a question does not answer it (unless
# the applicant wrote it).
_NOT_ANSWERS = frozenset(("question", *VOTE_KINDS, "status"))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class CommentLike(Protocol):
    """A parsed :class:`Comment` or a stored comment row: the vote rules
    read both, so the admin views count exactly as the tracker does."""

    @property
    def signer(self) -> str | None: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def struck_vote(self) -> bool: ...


@dataclass(frozen=True)
class Comment:
    """One signed contribution below an application.

    ``signer`` is ``None`` for unsigned text: the tracker credits it to the
    editor of the revision that added it, and recognises it by ``digest``.
    """

    signer: str | None
    time: datetime | None
    kind: str  # one of COMMENT_KINDS
    depth: int
    excerpt: str
    status: str | None = None  # kind "status": the closure; kind "question": ANSWERED or None
    struck_vote: bool = False  # a vote that was struck out afterwards
    digest: str = ""

    @property
    def key(self) -> tuple[str | None, str | None]:
        """Identity within its application: (signer, ISO time)."""
        return (self.signer, self.time.isoformat() if self.time else None)


def current_votes(comments: Sequence[CommentLike]) -> dict[str, list[str]]:
    """Signers by vote kind, each once, in order of voting.

    A person's latest unstruck vote is the one that counts: someone who
    moves from oppose to support is a supporter only. "Latest" is by
    signature time (page order for equal or missing times), because people
    insert their new vote wherever the thread suits them.
    """
    current: dict[str, tuple[tuple[datetime, int], str]] = {}
    for i, c in enumerate(comments):
        if c.kind in VOTE_KINDS and c.signer and not c.struck_vote:
            order = (c.time or _EPOCH, i)
            prev = current.get(c.signer)
            if prev is None or order >= prev[0]:
                current[c.signer] = (order, c.kind)
    out: dict[str, list[str]] = {k: [] for k in VOTE_KINDS}
    for signer, (_, kind) in sorted(current.items(), key=lambda item: item[1][0]):
        out[kind].append(signer)
    return out


def unanswered_questions(applicant: str, comments: Sequence[Any],
                         status: str | None = None) -> list[Any]:
    """Questions still waiting for an answer: not answered under them on the
    page (``status == ANSWERED``, see :func:`mark_answered`) and not
    followed by anything the applicant wrote later. A closed application
    (*status* in ``CLOSED_STATUSES``) waits for nothing. Takes and returns
    parsed comments or stored rows alike."""
    if status in CLOSED_STATUSES:
        return []
    last_word = max((c.time for c in comments if c.signer == applicant and c.time), default=None)
    return [q for q in comments if q.kind == "question" and q.status != ANSWERED
            and (not q.time or last_word is None or not last_word > q.time)]


def mark_answered(applicant: str, comments: list[Comment]) -> list[Comment]:
    """*comments* with each question that has a reply under it marked
    ``ANSWERED``. A reply is under a question when it is deeper than the
    question and nothing at the question's depth or shallower came between.
    It answers when the applicant wrote it, or someone other than the asker
    who is not asking, voting or closing themselves (an unsigned reply is
    usually the applicant's). One pass: the questions whose thread is still
    open are kept by depth, and a shallower contribution closes them."""
    out = list(comments)
    waiting: list[int] = []  # indexes of open questions, depths increasing
    for i, c in enumerate(out):
        while waiting and out[waiting[-1]].depth >= c.depth:
            waiting.pop()
        if waiting and (c.signer == applicant or c.kind not in _NOT_ANSWERS):
            still = []
            for qi in waiting:
                q = out[qi]
                if c.signer == applicant or c.signer != q.signer:
                    out[qi] = replace(q, status=ANSWERED)
                else:
                    still.append(qi)
            waiting = still
        if c.kind == "question" and c.status != ANSWERED:
            waiting.append(i)
    return out


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------

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
    status: str = "open"  # one of STATUSES
    closed: datetime | None = None
    closed_by: str | None = None
    comments: list[Comment] = field(default_factory=list)

    def votes(self, kind: str) -> list[str]:
        """Signers of current votes of *kind*, each once, in order of voting."""
        return current_votes(self.comments)[kind]

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
        """Questions nobody has answered yet, on an application still open."""
        return unanswered_questions(self.applicant, self.comments, self.status)

    @property
    def last_activity(self) -> tuple[datetime | None, str | None]:
        """The latest signature and its signer. One page cannot say which of
        two signatures of the same minute was saved last; the later one on
        the page is the better guess (the tracker, which sees revisions,
        decides by revision order)."""
        best: tuple[datetime | None, str | None] = (
            (self.opened, self.opened_by or self.applicant) if self.opened else (None, None))
        for c in self.comments:
            if c.time and (best[0] is None or c.time >= best[0]):
                best = (c.time, c.signer)
        return best

    def to_json(self) -> dict[str, Any]:
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
# Events
# ---------------------------------------------------------------------------

EventKind: TypeAlias = Literal["opened", "vote", "comment", "question", "reply", "status", "archived"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


class _Detail:
    """The JSON an event's detail is stored as: its fields, ``None`` left
    out (the shape databases written before these types hold)."""

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items() if v is not None}  # type: ignore[call-overload]


@dataclass(frozen=True)
class OpenedDetail(_Detail):
    """A new application: what the applicant asked for, and their statement."""

    queues: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    excerpt: str = ""


@dataclass(frozen=True)
class RemarkDetail(_Detail):
    """A comment, a question or the applicant's reply: the words, how deep
    in the thread, and whether it was signed (unsigned text is credited to
    the revision's editor)."""

    excerpt: str = ""
    depth: int = 0
    unsigned: bool = False


@dataclass(frozen=True)
class VoteDetail(RemarkDetail):
    """A vote is a remark with a side (one of ``VOTE_KINDS``)."""

    vote: str | None = None


@dataclass(frozen=True)
class StatusDetail(_Detail):
    """The application's status changed from *previous* to *status*."""

    status: str = "open"
    previous: str | None = None


@dataclass(frozen=True)
class ArchivedDetail(_Detail):
    """The section left the page; *status* is what it had then."""

    status: str | None = None


Detail: TypeAlias = OpenedDetail | RemarkDetail | VoteDetail | StatusDetail | ArchivedDetail

_DETAIL_TYPES: dict[str, type[_Detail]] = {
    "opened": OpenedDetail, "vote": VoteDetail, "comment": RemarkDetail,
    "question": RemarkDetail, "reply": RemarkDetail, "status": StatusDetail,
    "archived": ArchivedDetail,
}


def detail_from_json(kind: str, data: Mapping[str, Any] | None) -> Detail:
    """The typed detail of a stored event. Keys another kind uses are
    ignored and missing ones take their defaults, so every row ever written
    reads (``None`` too: the tracker never stores one); an unknown kind
    reads as a bare remark."""
    cls = _DETAIL_TYPES.get(kind, RemarkDetail)
    data = data or {}
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    values = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in data.items() if k in names and v is not None}
    return cls(**values)  # type: ignore[return-value]


def event_kind(comment: Comment, applicant: str) -> EventKind | None:
    """Which event a new comment makes, if any. A vote added already struck
    counts for nothing; a closure is announced as the application's status
    change, not as a comment; indented text is a reply only when the
    applicant wrote it."""
    if comment.struck_vote or comment.kind == "status":
        return None
    if comment.kind in VOTE_KINDS:
        return "vote"
    if comment.kind == "question":
        return "question"
    if comment.kind == "reply" and comment.signer == applicant:
        return "reply"
    return "comment"


@dataclass(frozen=True)
class Event:
    """Something that happened on the page, announced once: as the tracker
    makes it and the announcer words it (detached from the database)."""

    kind: str  # one of EVENT_KINDS
    applicant: str
    actor: str | None
    time: datetime | None
    revid: int | None
    anchor: str
    detail: Detail = field(default_factory=RemarkDetail)
    id: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> "Event":
        """From a stored ``EventRow``, whose ``detail`` is the JSON."""
        return cls(kind=row.kind, applicant=row.applicant, actor=row.actor,
                   time=row.time, revid=row.revid, anchor=row.anchor,
                   detail=detail_from_json(row.kind, row.detail), id=row.id)

"""From revisions to events: what changed on the page, once.

Compares the stored state with a new revision and writes the new state and
its events in the same transaction. What makes an event is *identity*, not
text: an application is its applicant, a comment is (applicant, signer, time),
so editing a comment, moving or renaming a section, fixing a heading's case or
processing a revision twice produces nothing.

A revision that removes most open applications at once (blanking, vandalism)
is held back: its revert then produces nothing, and only a removal that is
still there after ``hold_seconds`` is taken as an archive.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .names import normalize_username, username_key
from .model import (Application, ArchivedDetail, Comment, Event, OpenedDetail, RemarkDetail,
                    StatusDetail, VoteDetail, current_votes, event_kind, unanswered_questions)
from .parser import parse_page
from .store import ApplicationRow, CommentRow, EventRow, Store

__all__ = ["RevisionLike", "Tracker", "Result"]

# any wikitext heading: the lead has them, a blanked page has none
_HEADING = re.compile(r"^=+[^=\n].*=[ \t]*$", re.M)

class RevisionLike(Protocol):
    revid: int
    timestamp: datetime
    user: str
    text: str


@dataclass(frozen=True)
class Result:
    """What one revision did: its events, and whether it was skipped or held."""

    events: list[Event]
    skipped: bool = False
    seeded: bool = False
    held: list[str] | None = None


class Tracker:
    """Turns each new revision into events, exactly once.

    ``hold_fraction``/``hold_min``: a revision is held back when more than
    ``hold_fraction`` of the open applications vanish in it, with at least
    ``hold_min`` sections gone in all (or when it leaves the page without a
    heading). It is then held as a whole, closed sections included.
    Archiving many *closed* applications at once is routine and never held.
    """

    def __init__(self, store: Store, *, hold_fraction: float = 0.5, hold_min: int = 3,
                 hold_seconds: float = 6 * 3600, announce_first: bool = False) -> None:
        self.store = store
        self.hold_fraction = hold_fraction
        self.hold_min = hold_min
        self.hold_seconds = hold_seconds
        self.announce_first = announce_first

    # ------------------------------------------------------------------
    def process(self, rev: RevisionLike) -> Result:
        """Apply one revision. Revisions must come in order; an old or
        repeated one is skipped."""
        hidden = bool(getattr(rev, "hidden", False))
        apps = [] if hidden else parse_page(rev.text or "")
        with self.store.transaction() as s:
            state = self.store.page_state(s)
            if state.last_revid is not None and rev.revid <= state.last_revid:
                return Result(events=[], skipped=True)
            if hidden:
                # Deleted text is not a blanked page: the next visible
                # revision shows what changed.
                state.last_revid, state.last_timestamp = rev.revid, rev.timestamp
                return Result(events=[], skipped=True)
            seeding = state.last_revid is None and not self.announce_first
            # comments load lazily: only for sections that changed
            rows = list(s.scalars(select(ApplicationRow)
                                  .where(ApplicationRow.present.is_(True))))
            events: list[Event] = []
            held = self._apply(s, rows, apps, rev, events, state)
            state.last_revid = rev.revid
            state.last_timestamp = rev.timestamp
            state.updated_at = _now()
            if seeding:
                events = []
            stored = self._write_events(s, events)
            return Result(events=stored, seeded=seeding, held=held or None)

    def release_holds(self, now: datetime | None = None) -> list[Event]:
        """Archive applications whose mass removal has lasted long enough.

        Called on idle polls: a quiet page after a real mass archive must not
        keep the removals unannounced for ever."""
        now = now or _now()
        with self.store.transaction() as s:
            state = self.store.page_state(s)
            if state.held_revid is None or state.held_since is None:
                return []
            if (now - state.held_since).total_seconds() < self.hold_seconds:
                return []
            held = list(s.scalars(select(ApplicationRow).where(
                ApplicationRow.present.is_(True), ApplicationRow.missing_since_revid.is_not(None))))
            events: list[Event] = []
            for row in held:
                self._archive(row, state.held_revid, state.held_since, None, events)
            state.held_revid = state.held_since = None
            return self._write_events(s, events)

    # ------------------------------------------------------------------
    def _apply(self, s: Session, rows: list[ApplicationRow], apps: list[Application],
               rev: RevisionLike, events: list[Event], state) -> list[str]:
        editor = normalize_username(rev.user or "") or None
        unmatched_rows = list(rows)
        pairs: list[tuple[Application, ApplicationRow | None]] = []
        # 1. same applicant (prefer the same opening time for duplicates)
        for app in apps:
            key = username_key(app.applicant)
            row = (_take(unmatched_rows, applicant_key=key, opened=app.opened)
                   or _take(unmatched_rows, applicant_key=key))
            pairs.append((app, row))
        # 2. a renamed section: same opening signature under another heading
        for i, (app, row) in enumerate(pairs):
            if row is None and app.opened is not None:
                pairs[i] = (app, _take(unmatched_rows, opened=app.opened, opened_by=app.opened_by))
        # 3. removals: archive, unless the revision is a mass removal
        held: list[str] = []
        fresh = [r for r in unmatched_rows if r.missing_since_revid is None]
        mass = self._is_mass_removal(rows, fresh, apps, rev.text or "")
        if mass and state.held_revid is not None and (
                rev.timestamp - (state.held_since or rev.timestamp)).total_seconds() >= self.hold_seconds:
            # an earlier hold has lasted (no idle poll released it yet): its
            # sections are archived as release_holds would; this new mass
            # removal starts a hold of its own
            for row in [r for r in unmatched_rows if r.missing_since_revid is not None]:
                self._archive(row, state.held_revid, state.held_since, None, events)
                unmatched_rows.remove(row)
            state.held_revid = state.held_since = None
        if mass and state.held_revid is None:
            state.held_revid, state.held_since = rev.revid, rev.timestamp
        if not unmatched_rows:
            state.held_revid = state.held_since = None
        elif state.held_revid is not None and (  # page time, so a catch-up holds too
                rev.timestamp - (state.held_since or rev.timestamp)).total_seconds() < self.hold_seconds:
            # held as a whole: closed sections too, or a blanking would
            # archive every processed application in the vandal's name
            held = [r.applicant for r in unmatched_rows]
            for r in unmatched_rows:
                r.missing_since_revid = r.missing_since_revid or rev.revid
        else:
            for row in unmatched_rows:
                self._archive(row, rev.revid, rev.timestamp, editor, events)
            state.held_revid = state.held_since = None
        if mass and held:
            # Nothing else in a mass removal counts either (a vandal who also
            # rewrites or adds a section): the stored state stays as before
            # it, so the revert compares equal and says nothing.
            return held
        # 4. new and changed applications, in page order
        for app, row in pairs:
            digest = _digest(app)
            if row is not None:
                row.missing_since_revid = None
                if row.content_digest == digest:
                    continue  # the section did not change
            if row is None:
                row = self._restore_archived(s, app)
            if row is None:
                row = self._open(s, app, rev, editor, events)
            self._update(row, app, rev, editor, events)
            row.content_digest = digest
        return held

    def _is_mass_removal(self, rows: list[ApplicationRow], fresh: list[ApplicationRow],
                         apps: list[Application], text: str) -> bool:
        """Whether this revision, by itself, looks like blanking or vandalism.

        Only removals new in this revision count, so later edits during a
        hold are read normally. Removing processed (closed) sections alone
        is routine archiving, however many; removing most *open* ones is
        not. A page left without any heading at all is blanked even when it
        held no open application."""
        if not fresh:
            return False
        if not apps and not _HEADING.search(text):
            return True
        open_rows = [r for r in rows if r.status == "open"]
        fresh_open = [r for r in fresh if r.status == "open"]
        return (bool(fresh_open) and len(fresh) >= self.hold_min
                and len(fresh_open) > self.hold_fraction * max(len(open_rows), 1))

    def _restore_archived(self, s: Session, app: Application) -> ApplicationRow | None:
        """A section put back after it was archived (an undone archive) is
        the same application, not a new one."""
        if app.opened is None:
            return None
        row = s.scalars(select(ApplicationRow).where(
            ApplicationRow.applicant_key == username_key(app.applicant),
            ApplicationRow.opened == app.opened,
            ApplicationRow.present.is_(False)).options(
            selectinload(ApplicationRow.comments))).first()
        if row is not None:
            row.present, row.archived_at = True, None
        return row

    def _open(self, s: Session, app: Application, rev: RevisionLike, editor: str | None,
              events: list[Event]) -> ApplicationRow:
        opened = app.opened or rev.timestamp
        opened_by = app.opened_by if app.opened else (editor or app.applicant)
        row = ApplicationRow(applicant=app.applicant, applicant_key=username_key(app.applicant),
                             anchor=app.anchor, heading=app.heading, status="open",
                             opened=opened, opened_by=opened_by, present=True,
                             first_revid=rev.revid, queues=list(app.queues),
                             languages=list(app.languages), statement=app.statement)
        s.add(row)
        row.comments = []
        events.append(Event("opened", app.applicant, opened_by, opened, rev.revid, app.anchor,
                            OpenedDetail(queues=tuple(app.queues), languages=tuple(app.languages),
                                         excerpt=app.statement[:300])))
        return row

    def _update(self, row: ApplicationRow, app: Application, rev: RevisionLike,
                editor: str | None, events: list[Event]) -> None:
        row.applicant, row.applicant_key = app.applicant, username_key(app.applicant)
        row.anchor, row.heading = app.anchor, app.heading
        row.queues, row.languages, row.statement = list(app.queues), list(app.languages), app.statement
        if app.opened and not row.opened:
            row.opened = app.opened
        row.last_revid = rev.revid
        by_key = {(c.signer, c.time): c for c in row.comments if c.signed}
        by_digest = {c.digest: c for c in row.comments if c.digest}
        seen: set[int] = set()
        for comment in app.comments:
            existing = None
            if comment.signer and comment.time:
                existing = by_key.get((comment.signer, comment.time))
            if existing is None:
                existing = by_digest.get(comment.digest)
                if existing is not None and existing.signed and comment.signer and comment.time:
                    existing = None  # same words, another signature: a new comment
            if existing is not None:
                seen.add(id(existing))
                _refresh_comment(existing, comment)
                continue
            new = _comment_row(comment, rev, editor)
            row.comments.append(new)
            seen.add(id(new))
            kind = event_kind(comment, app.applicant)
            if kind:
                events.append(Event(kind, app.applicant, new.signer, new.time, rev.revid, app.anchor,
                                    _remark(kind, comment)))
        for c in list(row.comments):
            if id(c) not in seen:
                row.comments.remove(c)  # removed or refactored away: nothing to announce
        old_status = row.status
        new_status = app.status
        if new_status != old_status:
            events.append(Event("status", app.applicant, app.closed_by or editor,
                                app.closed or rev.timestamp, rev.revid, app.anchor,
                                StatusDetail(status=new_status, previous=old_status)))
        row.status = new_status
        row.closed, row.closed_by = (app.closed, app.closed_by) if new_status != "open" else (None, None)
        last, last_by = _last_activity(row)
        row.last_activity, row.last_by = last, last_by
        votes = current_votes(row.comments)
        row.support_count, row.oppose_count = len(votes["support"]), len(votes["oppose"])
        row.neutral_count = len(votes["neutral"])
        row.open_questions = len(unanswered_questions(row.applicant, row.comments, row.status))

    def _archive(self, row: ApplicationRow, revid: int, when: datetime | None,
                 editor: str | None, events: list[Event]) -> None:
        row.present = False
        row.missing_since_revid = None
        row.archived_at = when
        events.append(Event("archived", row.applicant, editor, when, revid, row.anchor,
                            ArchivedDetail(status=row.status)))

    @staticmethod
    def _write_events(s: Session, events: list[Event]) -> list[Event]:
        rows = [EventRow(kind=e.kind, applicant=e.applicant, actor=e.actor, time=e.time,
                         revid=e.revid, anchor=e.anchor,
                         detail=e.detail.to_json())
                for e in events]
        s.add_all(rows)
        s.flush()
        return [Event.from_row(r) for r in rows]


def _digest(app: Application) -> str:
    """What the tracker compares: identical for an untouched section."""
    parts = (app.applicant, app.anchor, app.heading, app.opened, app.opened_by, app.queues,
             app.languages, app.statement, app.status, app.closed, app.closed_by,
             [(c.signer, c.time, c.kind, c.depth, c.status, c.struck_vote, c.digest, c.excerpt)
              for c in app.comments])
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def _take(rows: list[ApplicationRow], **same: object) -> ApplicationRow | None:
    """Remove and return the first row whose attributes equal *same*."""
    for i, r in enumerate(rows):
        if all(getattr(r, k) == v for k, v in same.items()):
            return rows.pop(i)
    return None


def _comment_row(c: Comment, rev: RevisionLike, editor: str | None) -> CommentRow:
    signed = bool(c.signer and c.time)
    return CommentRow(signer=c.signer or editor, time=c.time or rev.timestamp, signed=signed,
                      kind=c.kind, status=c.status, depth=c.depth, excerpt=c.excerpt,
                      struck_vote=c.struck_vote, digest=c.digest, revid=rev.revid)


def _refresh_comment(row: CommentRow, c: Comment) -> None:
    """An edited or late-signed comment: keep it current, announce nothing."""
    if c.signer and c.time and not row.signed:
        row.signer, row.time, row.signed = c.signer, c.time, True
    row.kind, row.status, row.depth = c.kind, c.status, c.depth
    row.excerpt, row.struck_vote, row.digest = c.excerpt, c.struck_vote, c.digest


def _remark(kind: str, c: Comment) -> RemarkDetail:
    """What an announcement of comment *c* needs; a vote also says its side."""
    if kind == "vote":
        return VoteDetail(excerpt=c.excerpt, depth=c.depth, unsigned=not c.signer, vote=c.kind)
    return RemarkDetail(excerpt=c.excerpt, depth=c.depth, unsigned=not c.signer)


def _last_activity(row: ApplicationRow) -> tuple[datetime | None, str | None]:
    """The latest contribution and its author. Signatures have minute
    resolution, so equal times are told apart by the revision that added
    them (then by page order): whoever saved last acted last."""
    best: tuple[datetime | None, str | None] = (row.opened, row.opened_by)
    best_rev = row.first_revid or 0
    for c in row.comments:
        if c.time and (best[0] is None or (c.time, c.revid or 0) >= (best[0], best_rev)):
            best, best_rev = (c.time, c.signer), c.revid or 0
    return best


def _now() -> datetime:
    return datetime.now(timezone.utc)


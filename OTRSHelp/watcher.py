"""One poll of the page: the cheap change check, then every new revision.

The revision poll is the source of truth; the EventStreams trigger only makes
it run sooner. A poll that fails half-way (wiki down, slow, maxlag) loses
nothing: each revision is committed with its events, and the next poll starts
after the last one that was.

What a poll costs the wiki: an idle poll is one ``prop=info`` request. A
poll that finds new revisions lists them without content (one request),
then each revision's text comes from ``revtext.TextSource``: the previous
text plus the sections the edit touched, checked against the revision's
sha1, or the whole text when that cannot be done. The revision already
processed is never fetched again.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from .revtext import TextSource
from .store import Event, Store
from .tracker import Tracker
from .wikiclient import PageInfo, PageMissing, WikiClient, WikiError

log = logging.getLogger("OTRSHelp.watcher")

__all__ = ["PollResult", "Watcher"]


@dataclass
class PollResult:
    events: list[Event] = field(default_factory=list)
    revisions: int = 0
    error: str | None = None
    page: PageInfo | None = None


class Watcher:
    """Follows one page by id; the title is only used to find it once (and
    again if the page disappears), so a rename or a redirect changes nothing."""

    def __init__(self, client: WikiClient, tracker: Tracker, store: Store, title: str,
                 api_url: str) -> None:
        self.client = client
        self.tracker = tracker
        self.store = store
        self.title = title
        self.api_url = api_url
        self.page: PageInfo | None = None
        self.texts = TextSource(client)
        # After this many processed revisions the SQLite WAL is folded back
        # into the database file (Store.checkpoint), so the -wal file stays
        # small on a bot that runs for months.
        self.checkpoint_every = 20
        self._since_checkpoint = 0
        self._lock = threading.Lock()

    def poll(self, now: datetime | None = None) -> PollResult:
        """Process what is new. Never raises for wiki trouble: the error is
        in the result and the next poll tries again."""
        if not self._lock.acquire(blocking=False):
            return PollResult(error="a poll is already running")
        try:
            return self._poll(now)
        finally:
            self._lock.release()

    def _poll(self, now: datetime | None) -> PollResult:
        result = PollResult()
        try:
            state = self.store.state()
            if self.page is None or state.page_id is None:
                self._resolve()
            assert self.page is not None
            try:
                info = self.client.page_info(self.page.pageid)
            except PageMissing:
                self._resolve()  # deleted and recreated, or moved without redirect
                info = self.client.page_info(self.page.pageid)
            self.page = info
            result.page = info
            state = self.store.state()
            if state.last_revid is not None and info.lastrevid <= state.last_revid:
                result.events.extend(self.tracker.release_holds(now))
                return result
            if state.last_revid is None:
                self.texts.forget()
                revs = self.client.revisions_after(info.pageid, None)
                for rev in revs:
                    self._process(rev, result)
            else:
                if self.texts.last_revid != state.last_revid:
                    self.texts.forget()  # another process moved on, or a new start
                for meta in self.client.revision_list(info.pageid, state.last_revid):
                    self._process(self.texts.text_of(meta), result)
        except WikiError as e:
            log.debug("poll of %s failed: %s", self.title, e)  # the caller says it once
            result.error = str(e)
        return result

    def _process(self, rev, result: PollResult) -> None:
        outcome = self.tracker.process(rev)
        self.texts.accept(rev)
        if not outcome.skipped:
            result.revisions += 1
            result.events.extend(outcome.events)
        self._since_checkpoint += 1
        if self._since_checkpoint >= self.checkpoint_every:
            self._since_checkpoint = 0
            self.store.checkpoint()

    def _resolve(self) -> None:
        info = self.client.resolve_page(self.title)
        self.store.set_page(self.api_url, info.pageid, info.title)
        self.texts.forget()
        self.page = info
        if info.redirected_from:
            log.info("%s redirects to %s (page id %s)", info.redirected_from, info.title, info.pageid)

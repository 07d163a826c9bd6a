"""MediaWiki Action API client that keeps Wikimedia's API etiquette.

Why this module exists rather than a generic library: the bot polls one page
on Meta-Wiki for years, from a shared IP on Toolforge. What keeps such a bot
welcome is etiquette, not features:

* a User-Agent naming the bot, its version and a contact (Wikimedia's
  User-Agent policy: ``<client>/<version> (<contact>) <library>/<version>``);
* ``maxlag=5`` on every request, and waiting when the servers say they lag
  (a ``maxlag`` error is an HTTP 200 with a ``Retry-After`` header);
* ``Retry-After`` honoured on 429 and 5xx, otherwise bounded exponential
  back-off with jitter; timeouts on every request;
* one request at a time (a lock, because the poller thread and IRC command
  threads share one client);
* a change check that costs one small request (``prop=info`` gives
  ``lastrevid``); when it moved, the new revisions are listed without
  content (ids, editor, size, sha1), and their text is fetched only as far
  as ``revtext`` needs it (a diff, the sections it touched, or the whole);
* every wait (back-off, Retry-After, maxlag) is on ``stop``, a
  ``threading.Event``: the plugin sets it in ``die()`` and the client gives
  up at once instead of sleeping on.

Plain Python: nothing here imports supybot.
"""
from __future__ import annotations

import logging
import random
import threading
from urllib.parse import urlsplit
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator

import requests

try:  # the package's version names the bot in the User-Agent
    from . import __version__ as _PKG_VERSION
except Exception:  # pragma: no cover - imported outside the package
    _PKG_VERSION = ""

__all__ = [
    "PageInfo",
    "Revision",
    "WikiError",
    "PageMissing",
    "ClientStats",
    "WikiClient",
    "RevisionMeta",
    "Stopped",
    "default_user_agent",
    "parse_timestamp",
]

log = logging.getLogger("OTRSHelp.wikiclient")

BOT_NAME = "OTRSHelp"
BOT_VERSION = _PKG_VERSION or "0.1.0"
MAXLAG = 5
# MediaWiki allows at most 50 revisions with content per request (500 for bots).
MAX_CONTENT_BATCH = 50
# Revisions listed without content: 500 a request for anyone.
MAX_LIST_BATCH = 500


@dataclass(frozen=True)
class PageInfo:
    """What the cheap change check returns: the page id (stable across
    moves), its current title and the id of its latest revision."""

    pageid: int
    title: str
    lastrevid: int
    redirected_from: str | None = None
    ns: int = 0


@dataclass(frozen=True)
class Revision:
    """One revision with its wikitext. ``hidden`` is True when the text was
    revision-deleted or suppressed: ``text`` is then ``""`` and must not be
    read as the page having been blanked."""

    revid: int
    parentid: int
    timestamp: datetime
    user: str
    comment: str
    text: str
    hidden: bool = False


@dataclass(frozen=True)
class RevisionMeta:
    """A revision as the history lists it, without its text: enough to
    credit the editor and to check a rebuilt text (``sha1`` of the UTF-8
    text, ``size`` in bytes). ``hidden`` as in Revision."""

    revid: int
    parentid: int
    timestamp: datetime
    user: str
    comment: str
    size: int
    sha1: str | None
    hidden: bool = False

    def with_text(self, text: str, hidden: bool | None = None) -> "Revision":
        return Revision(self.revid, self.parentid, self.timestamp, self.user, self.comment,
                        text, self.hidden if hidden is None else hidden)


class WikiError(Exception):
    """A wiki request failed; ``str()`` is one line a person can act on.

    ``code`` is the API error code (or ``http-503``, ``network``...) and
    ``retry_after`` the seconds the server asked us to wait, when it did, so
    a caller can schedule its next attempt no earlier than that."""

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class Stopped(WikiError):
    """The client was told to stop (``stop`` set): the bot is shutting down."""


class PageMissing(WikiError):
    """The page (title or id) does not exist on the wiki (deleted, or never
    created): not a transient failure, so it is not retried."""


@dataclass
class ClientStats:
    """Counters for the benchmark and the status command: how much the bot
    asks of the wiki. ``bytes_received`` counts response bodies as decoded
    (what the API produced; on the wire gzip makes it smaller)."""

    requests: int = 0
    bytes_received: int = 0
    retries: int = 0
    failures: int = 0
    last_request_bytes: int = 0
    waited_seconds: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "bytes_received": self.bytes_received,
            "retries": self.retries,
            "failures": self.failures,
            "last_request_bytes": self.last_request_bytes,
            "waited_seconds": self.waited_seconds,
        }


def default_user_agent(contact: str = "") -> str:
    """The User-Agent Wikimedia's policy asks for: bot name and version, a
    way to reach the operator, then the HTTP library and its version."""
    contact = " ".join((contact or "").split())  # no CR/LF in a header
    middle = f" ({contact})" if contact else ""
    return f"{BOT_NAME}/{BOT_VERSION}{middle} python-requests/{requests.__version__}"


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO 8601 from the API (``2020-01-19T11:32:00Z``) as an aware UTC
    datetime; None for missing/empty values (very old accounts have no
    registration date)."""
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _retry_after_seconds(response: requests.Response) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _encode(value: Any) -> str | None:
    """API parameter encoding: lists joined with ``|``, booleans present or
    absent, everything else as text."""
    if value is None or value is False:
        return None
    if value is True:
        return "1"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "|".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class _Retry:
    """A failed attempt worth retrying: why, how long to wait, and what the
    server itself asked for (Retry-After), if anything."""

    reason: str
    wait: float
    code: str
    server_wait: float | None = None


class WikiClient:
    """Action API client for one wiki (``api_url`` ends in ``api.php``).

    Thread-safe: requests are serialised by a lock held for the whole retry
    loop, so while the server has asked us to wait nobody else in the
    process asks it anything either.
    """

    def __init__(
        self,
        api_url: str,
        *,
        contact: str = "",
        user_agent: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        if not api_url:
            raise ValueError("api_url is required (e.g. https://meta.wikimedia.org/w/api.php)")
        self.api_url = api_url
        self.user_agent = user_agent or default_user_agent(contact)
        host = (urlsplit(api_url).hostname or "").lower()
        wikimedia = host.endswith((".wikimedia.org", ".wikipedia.org", ".wikidata.org", ".wiktionary.org",
                                   ".wikibooks.org", ".wikisource.org", ".mediawiki.org"))
        if not contact and not user_agent and wikimedia:
            log.warning(
                "no contact for the User-Agent (set OTRSHELP_CONTACT): Wikimedia "
                "may block clients it cannot reach"
            )
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        # Waits are on the stop event so die() ends them at once; tests
        # inject ``sleep`` to record the waits instead of waiting.
        self.stop = stop or threading.Event()
        self._sleep = sleep
        self._lock = threading.Lock()
        self.stats = ClientStats()

    def close(self) -> None:
        """Stop and close the HTTP session (the plugin's die() calls this).

        Does not wait for a request in flight for longer than a second: a
        stopping bot must not hang on an unreachable wiki."""
        self.stop.set()
        got = self._lock.acquire(timeout=1.0)
        try:
            self.session.close()
        finally:
            if got:
                self._lock.release()

    def _wait(self, seconds: float) -> None:
        """Wait before a retry; raises Stopped as soon as ``stop`` is set."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif seconds > 0:
            self.stop.wait(seconds)
        if self.stop.is_set():
            raise Stopped("the wiki client was stopped", code="stopped")

    # ------------------------------------------------------------------ core

    def _delay(self, attempt: int) -> float:
        """Bounded exponential back-off with jitter: the n-th retry waits
        between half and all of ``backoff * 2**(n-1)``, never more than
        ``max_backoff``, so restarts of many clients do not synchronise."""
        base = min(self.max_backoff, self.backoff * (2 ** max(0, attempt - 1)))
        return base / 2 + random.uniform(0, base / 2)

    def get(self, **params: Any) -> dict:
        """One API GET with etiquette, retried on lag, throttling, server
        errors and network trouble; returns the decoded JSON.

        Raises WikiError for API errors (with their code and info), for
        non-JSON answers and when ``max_retries`` retries did not help."""
        query: dict[str, str] = {}
        for key, value in params.items():
            encoded = _encode(value)
            if encoded is not None:
                query[key] = encoded
        query.setdefault("action", "query")
        query["format"] = "json"
        query["formatversion"] = "2"
        query["maxlag"] = str(MAXLAG)
        what = self._describe(query)
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}

        with self._lock:
            attempt = 0
            while True:
                if self.stop.is_set():
                    raise Stopped(f"{what}: the wiki client was stopped", code="stopped")
                attempt += 1
                outcome = self._attempt(query, headers, attempt)
                if isinstance(outcome, dict):
                    return outcome
                if attempt > self.max_retries:
                    self.stats.failures += 1
                    raise WikiError(
                        f"{what} failed after {attempt} attempt"
                        f"{'s' if attempt != 1 else ''}: {outcome.reason}",
                        code=outcome.code,
                        retry_after=outcome.server_wait,
                    )
                if outcome.server_wait is not None and outcome.server_wait > self.max_backoff:
                    # Honour the server: do not come back early; the caller
                    # can schedule its next try after ``retry_after``.
                    self.stats.failures += 1
                    raise WikiError(
                        f"{what} failed: {outcome.reason}; the server asks to wait "
                        f"{outcome.server_wait:.0f} s, more than max_backoff "
                        f"({self.max_backoff:g} s)",
                        code=outcome.code,
                        retry_after=outcome.server_wait,
                    )
                self.stats.retries += 1
                self.stats.waited_seconds += outcome.wait
                log.info("%s: %s; retrying in %.1f s (attempt %d of %d)",
                         what, outcome.reason, outcome.wait, attempt + 1, self.max_retries + 1)
                self._wait(outcome.wait)

    def _attempt(self, query: dict[str, str], headers: dict[str, str],
                 attempt: int) -> "dict | _Retry":
        """One HTTP exchange: the decoded JSON on success, a ``_Retry`` for
        a failure worth retrying; raises WikiError for failures that
        retrying cannot fix (4xx, API errors, non-JSON answers)."""
        what = self._describe(query)
        try:
            response = self.session.get(
                self.api_url, params=query, headers=headers, timeout=self.timeout
            )
            body = response.content  # read fully here: a drop mid-body is a network error
        except requests.Timeout:
            self.stats.requests += 1
            return _Retry(f"no answer within {self.timeout:g} s (timeout)",
                          self._delay(attempt), "timeout")
        except requests.RequestException as exc:
            self.stats.requests += 1
            return _Retry(f"network error ({type(exc).__name__}: {_short(exc)})",
                          self._delay(attempt), "network")

        self.stats.requests += 1
        self.stats.bytes_received += len(body)
        self.stats.last_request_bytes = len(body)
        status = response.status_code
        server_wait = _retry_after_seconds(response)

        if status == 429 or status >= 500:
            reason = f"HTTP {status} {response.reason or ''}".rstrip()
            wait = server_wait if server_wait is not None else self._delay(attempt)
            return _Retry(reason, wait, f"http-{status}", server_wait)
        if status != 200:
            raise WikiError(
                f"{what} failed: HTTP {status} {response.reason or ''}".rstrip(),
                code=f"http-{status}",
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise WikiError(
                f"{what} failed: the answer is not API JSON (Content-Type "
                f"{response.headers.get('Content-Type', '?')}); is {self.api_url} the api.php URL?",
                code="not-json",
            )
        error = data.get("error")
        if error:
            err_code = str(error.get("code", "unknown"))
            info = " ".join(str(error.get("info", "")).split())
            if err_code == "maxlag":
                wait = server_wait
                if wait is None:
                    try:
                        wait = max(float(MAXLAG), float(error.get("lag")))
                    except (TypeError, ValueError):
                        wait = float(MAXLAG)
                return _Retry(f"the wiki's database lags ({info or 'maxlag'})",
                              wait, "maxlag", wait)
            raise WikiError(f"{what} failed: API error {err_code}: {info}", code=err_code)
        if data.get("warnings"):
            # e.g. deprecations, or CentralAuth missing on a test wiki
            log.debug("%s: API warnings %s", what, data["warnings"])
        return data

    def _describe(self, query: dict[str, str]) -> str:
        action = query.get("action", "query")
        parts = [f"action={action}"]
        for key in ("prop", "list", "meta"):
            if key in query:
                parts.append(f"{key}={query[key]}")
        return f"Wiki API request ({' '.join(parts)}) to {self.api_url}"

    # ----------------------------------------------------------- high level

    def resolve_page(self, title: str) -> PageInfo:
        """Title -> page id, following redirects (``OTRS/Volunteering`` is a
        redirect today): the bot then tracks the id, which survives moves."""
        data = self.get(action="query", prop="info", titles=title, redirects=True)
        query = data.get("query", {})
        page = self._single_page(query, f"page {title!r}")
        redirects = query.get("redirects") or []
        redirected_from = redirects[0].get("from") if redirects else None
        return self._page_info(page, redirected_from)

    def page_info(self, pageid: int) -> PageInfo:
        """The cheap change check: one small request (``prop=info`` by page
        id, no content; a few hundred bytes) whose ``lastrevid`` says whether
        anything needs fetching."""
        data = self.get(action="query", prop="info", pageids=int(pageid))
        page = self._single_page(data.get("query", {}), f"page id {pageid}")
        return self._page_info(page, None)

    def revisions_after(self, pageid: int, after_revid: int | None,
                        batch: int = 20) -> Iterator[Revision]:
        """Every revision of the page newer than ``after_revid``, oldest
        first, with its whole text. With ``after_revid=None`` only the
        latest revision: a first start does not replay the page's history.

        The history is listed without content first, so the revision
        already processed costs a line of metadata, never its text; the
        texts then come ``batch`` at a time by revision id. The watcher
        uses ``revision_list`` and ``revtext`` instead, which fetch less."""
        batch = max(1, min(int(batch), MAX_CONTENT_BATCH))
        if after_revid is None:
            data = self.get(action="query", prop="revisions", pageids=int(pageid),
                            rvprop="ids|timestamp|user|comment|content", rvslots="main")
            page = self._single_page(data.get("query", {}), f"page id {pageid}")
            for rev in page.get("revisions") or []:
                yield _revision(rev)
            return
        pending: list[RevisionMeta] = []
        for meta in self.revision_list(pageid, after_revid):
            pending.append(meta)
            if len(pending) >= batch:
                yield from self._with_texts(pageid, pending)
                pending = []
        if pending:
            yield from self._with_texts(pageid, pending)

    def _with_texts(self, pageid: int, metas: list[RevisionMeta]) -> Iterator[Revision]:
        texts = self.revision_texts([m.revid for m in metas if not m.hidden])
        for meta in metas:
            if meta.revid in texts:
                text, hidden = texts[meta.revid]
                yield meta.with_text(text, hidden or meta.hidden)
            else:
                yield meta.with_text("", True)

    def revision_list(self, pageid: int, after_revid: int) -> Iterator[RevisionMeta]:
        """The revisions newer than ``after_revid``, oldest first, without
        content: ids, editor, time, summary, size and sha1 (a few hundred
        bytes each). Follows continuation; if ``after_revid`` was deleted,
        starts at the first revision after it."""
        start = int(after_revid)
        skip: int | None = start
        params: dict[str, Any] = dict(
            action="query", prop="revisions", pageids=int(pageid),
            rvprop="ids|timestamp|user|comment|size|sha1", rvdir="newer",
            rvstartid=start, rvlimit=MAX_LIST_BATCH,
        )
        try:
            data = self.get(**params)
        except WikiError as exc:
            if exc.code not in ("badid_rvstartid", "nosuchrevid"):
                raise
            # The last processed revision was deleted: find the first one
            # after it by id (cheap, no content), then enumerate from there.
            start_at = self._first_revision_after(pageid, start, MAX_CONTENT_BATCH)
            if start_at is None:
                return
            params["rvstartid"] = start_at
            skip = None
            data = self.get(**params)
        while True:
            page = self._single_page(data.get("query", {}), f"page id {pageid}")
            for rev in page.get("revisions") or []:
                if skip is not None and rev.get("revid") == skip:
                    continue
                yield _revision_meta(rev)
            cont = data.get("continue")
            if not cont:
                return
            data = self.get(**{**params, **cont})

    def revision_texts(self, revids: list[int]) -> dict[int, tuple[str, bool]]:
        """The whole text of each revision (at most 50 a request): revid ->
        (text, hidden)."""
        out: dict[int, tuple[str, bool]] = {}
        ids = [int(r) for r in revids]
        for i in range(0, len(ids), MAX_CONTENT_BATCH):
            chunk = ids[i:i + MAX_CONTENT_BATCH]
            data = self.get(action="query", prop="revisions", revids=chunk,
                            rvprop="ids|content", rvslots="main")
            for page in (data.get("query") or {}).get("pages") or []:
                for rev in page.get("revisions") or []:
                    r = _revision(rev)
                    out[r.revid] = (r.text, r.hidden)
        return out

    def section_text(self, revid: int, section: int) -> str | None:
        """Section ``section`` of revision ``revid`` as MediaWiki numbers
        sections (0 is the lead; a section includes its subsections; the
        text comes without trailing whitespace). None when the revision has
        no such section or its text is hidden."""
        try:
            data = self.get(action="query", prop="revisions", revids=int(revid),
                            rvprop="content", rvslots="main", rvsection=int(section))
        except WikiError as exc:
            if exc.code in ("rvnosuchsection", "nosuchsection"):
                return None
            raise
        for page in (data.get("query") or {}).get("pages") or []:
            for rev in page.get("revisions") or []:
                slot = (rev.get("slots") or {}).get("main") or {}
                if slot.get("texthidden") or slot.get("textmissing") or "content" not in slot:
                    return None
                return str(slot["content"])
        return None

    def compare(self, fromrev: int, torev: int) -> str | None:
        """The diff between two revisions as MediaWiki renders it (HTML
        table rows with line numbers), or None when the wiki will not give
        one (hidden text, deleted revision)."""
        try:
            data = self.get(action="compare", fromrev=int(fromrev), torev=int(torev),
                            prop="diff")
        except WikiError as exc:
            if exc.code in ("nosuchrevid", "missingcontent", "permissiondenied",
                            "missingtitle", "baddiff"):
                return None
            raise
        body = (data.get("compare") or {}).get("body")
        return None if body is None else str(body)

    def _first_revision_after(self, pageid: int, after_revid: int, batch: int) -> int | None:
        """Walk the history newest first (ids only) to the oldest revision
        whose id is greater than ``after_revid``."""
        params: dict[str, Any] = dict(action="query", prop="revisions", pageids=int(pageid),
                                      rvprop="ids", rvlimit=max(batch, 50))
        found: int | None = None
        while True:
            data = self.get(**params)
            page = self._single_page(data.get("query", {}), f"page id {pageid}")
            for rev in page.get("revisions") or []:
                if rev.get("revid", 0) <= after_revid:
                    return found
                found = rev["revid"]
            cont = data.get("continue")
            if not cont:
                return found
            params.update(cont)

    # --------------------------------------------------------------- helpers

    def _single_page(self, query: dict, what: str) -> dict:
        pages = query.get("pages") or []
        if not pages:
            raise WikiError(f"{what}: the wiki at {self.api_url} returned no page", code="nopage")
        page = pages[0]
        if page.get("invalid"):
            reason = page.get("invalidreason", "invalid title")
            raise WikiError(f"{what} is not a valid title on {self.api_url}: {reason}",
                            code="invalidtitle")
        if page.get("missing") or "pageid" not in page:
            raise PageMissing(f"{what} does not exist on {self.api_url}", code="missingtitle")
        return page

    @staticmethod
    def _page_info(page: dict, redirected_from: str | None) -> PageInfo:
        return PageInfo(
            pageid=int(page["pageid"]),
            title=str(page.get("title", "")),
            lastrevid=int(page.get("lastrevid", 0)),
            redirected_from=redirected_from,
            ns=int(page.get("ns", 0)),
        )


def _revision(rev: dict) -> Revision:
    """API revision (formatversion=2, rvslots=main) -> Revision. Hidden
    text, user or comment (revision deletion, suppression) become empty
    strings instead of crashing."""
    slot = (rev.get("slots") or {}).get("main") or {}
    hidden = bool(slot.get("texthidden") or slot.get("textmissing")
                  or rev.get("texthidden") or rev.get("textmissing"))
    text = slot.get("content")
    if text is None:
        text = rev.get("content")  # pre-MCR shape, in case a wiki answers so
    if text is None:
        text = ""
        hidden = True
    return Revision(**_revision_fields(rev), text=str(text), hidden=hidden)


def _revision_meta(rev: dict) -> RevisionMeta:
    """API revision without content -> RevisionMeta."""
    hidden = bool(rev.get("sha1hidden") or rev.get("texthidden") or rev.get("suppressed"))
    sha1 = rev.get("sha1")
    return RevisionMeta(**_revision_fields(rev), size=int(rev.get("size") or 0),
                        sha1=str(sha1) if sha1 and not hidden else None, hidden=hidden)


def _revision_fields(rev: dict) -> dict[str, Any]:
    """What every revision has: ids, time, and the editor and summary
    unless they were hidden (revision deletion)."""
    return {
        "revid": int(rev["revid"]),
        "parentid": int(rev.get("parentid") or 0),
        "timestamp": parse_timestamp(rev.get("timestamp")) or datetime.fromtimestamp(0, timezone.utc),
        "user": "" if rev.get("userhidden") else str(rev.get("user") or ""),
        "comment": "" if rev.get("commenthidden") else str(rev.get("comment") or ""),
    }


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

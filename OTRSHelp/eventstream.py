"""Wikimedia EventStreams (``recentchange``, Server-Sent Events) as a trigger.

Why: polling every minute announces an edit up to a minute late. The
``recentchange`` stream tells us within a second or two that *something*
happened to the page, so the poller can run early. The stream is only a
wake-up call: the revision poll stays the source of truth (a dropped
connection or a missed event costs at most one poll interval).

What it costs: the stream has no server-side filter. It carries every change
of every Wikimedia wiki, tens of events a second, each about 1 KB of JSON
(on the order of several GB a day). So each event is filtered as cheaply as
possible *before* JSON decoding: the raw ``data:`` text must contain
``"<wiki>"`` (``"metawiki"``) and, optionally, one of the ``prefilter``
strings; only survivors are decoded and passed to ``match``.

Resuming: every SSE event carries an ``id:`` (for Wikimedia a JSON array of
Kafka topic/partition/timestamp-or-offset). The last one seen is sent back
as ``Last-Event-ID`` when reconnecting, and handed to ``save_event_id`` so a
restart can resume too. Connections are re-opened with bounded back-off;
the thread never dies of an exception.

SSE parsing uses ``sseclient-py`` (a small maintained parser over any byte
iterator); the HTTP connection, headers, reconnects and stopping are ours.
Plain Python: nothing here imports supybot.
"""
from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from typing import Callable, Iterable, Iterator

import requests
import sseclient

__all__ = ["StreamTrigger", "page_matcher"]

log = logging.getLogger("OTRSHelp.eventstream")



def _norm_title(title: str) -> str:
    return " ".join(str(title or "").replace("_", " ").split())


def wiki_id(api_url: str) -> str:
    """The ``wiki`` field EventStreams uses for the wiki behind *api_url*
    (database names: Meta is metawiki). A wiki Wikimedia does not host, such
    as a local test wiki, is taken to stand for Meta."""
    host = api_url.split("/")[2] if "//" in api_url else api_url
    known = {"meta.wikimedia.org": "metawiki", "commons.wikimedia.org": "commonswiki",
             "www.wikidata.org": "wikidatawiki", "species.wikimedia.org": "specieswiki"}
    if host in known:
        return known[host]
    parts = host.split(".")
    if len(parts) == 3 and parts[1] in ("wikipedia", "wiktionary", "wikibooks", "wikinews",
                                        "wikiquote", "wikisource", "wikiversity", "wikivoyage"):
        suffix = "wiki" if parts[1] == "wikipedia" else parts[1]
        return parts[0].replace("-", "_") + suffix
    return "metawiki"


def page_matcher(titles: Iterable[str], namespace: int | None = None) -> Callable[[dict], bool]:
    """A ``match`` function for one page known by its title(s): an edit,
    creation or log entry (delete, protect...) on one of ``titles``, or a
    move of it (``log_type`` move, new title in ``log_params.target``).

    recentchange events carry no page id, so titles are what we match on;
    pass the current title and the redirect's (e.g. ``OTRS/Volunteering``
    and ``Volunteer Response Team/Volunteering``). Titles are compared with
    underscores as spaces, as MediaWiki does; ``namespace`` limits edits to
    that namespace number when given."""
    wanted = {_norm_title(t) for t in titles if t}

    def match(event: dict) -> bool:
        if namespace is not None and event.get("namespace") not in (None, namespace):
            return False
        if _norm_title(event.get("title", "")) in wanted:
            return True
        if event.get("type") == "log" and event.get("log_type") == "move":
            params = event.get("log_params") or {}
            if isinstance(params, dict) and _norm_title(params.get("target", "")) in wanted:
                return True
        return False

    return match


class StreamTrigger:
    """Follows an SSE ``recentchange`` stream in a daemon thread and calls
    ``on_change(event)`` for each event of ``wiki`` that ``match(event)``
    accepts. ``on_change`` should be quick (e.g. set a threading.Event that
    wakes the poller): it runs on the stream thread.

    Status for people: ``connected``, ``events_seen``, ``events_matched``,
    ``reconnects``, ``bytes_received``, ``last_event_id``, ``last_error``.
    """

    def __init__(
        self,
        url: str,
        *,
        wiki: str = "metawiki",
        match: Callable[[dict], bool],
        on_change: Callable[[dict], None],
        user_agent: str,
        last_event_id: str | None = None,
        save_event_id: Callable[[str], None] | None = None,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 30,
        prefilter: Iterable[str] = (),
        save_interval: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        if not url:
            raise ValueError("url is required (empty means: do not start a stream)")
        self.url = url
        self.wiki = wiki
        self.match = match
        self.on_change = on_change
        self.user_agent = " ".join((user_agent or "").split())
        self.last_event_id = _valid_id(last_event_id)
        self.save_event_id = save_event_id
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.save_interval = save_interval
        self._needle = f'"{wiki}"'
        self._prefilter = tuple(p for p in prefilter if p)
        self._session = session or requests.Session()

        self.connected = False
        self.events_seen = 0
        self.events_matched = 0
        self.reconnects = 0
        self.bytes_received = 0
        self.last_error: str | None = None

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response_lock = threading.Lock()
        self._response: requests.Response | None = None
        self._saved_id: str | None = self.last_event_id
        self._last_save = 0.0

    # --------------------------------------------------------------- control

    def start(self) -> None:
        """Start following the stream in a daemon thread (no-op if running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="OTRSHelp-eventstream",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop promptly: close the open response (which unblocks the read)
        and wait up to ``timeout`` seconds for the thread. Saves the last
        event id one final time."""
        self._stop.set()
        self._close_response(from_other_thread=True)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("event stream thread did not stop within %.1f s", timeout)
        self.connected = False
        self._save(force=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ loop

    def _delay(self, failures: int) -> float:
        base = min(self.max_backoff, self.backoff * (2 ** max(0, failures - 1)))
        return base / 2 + random.uniform(0, base / 2)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            server_wait: float | None = None
            seen_before = self.events_seen
            try:
                server_wait = self._follow()
            except Exception as exc:  # never let the thread die
                if self._stop.is_set():
                    break
                self.last_error = f"{type(exc).__name__}: {_short(exc)}"
                log.warning("event stream %s: %s", self.url, self.last_error)
            finally:
                self.connected = False
                self._close_response()
                self._save(force=True)
            if self._stop.is_set():
                break
            # A connection that delivered events was healthy: start the
            # back-off afresh (EventStreams closes long connections itself).
            failures = 1 if self.events_seen > seen_before else failures + 1
            delay = self._delay(failures)
            if server_wait is not None:
                delay = max(delay, server_wait)
            self.reconnects += 1
            log.info("event stream: reconnecting in %.1f s (last id %s)", delay,
                     self.last_event_id or "none")
            if self._stop.wait(delay):
                break

    def _follow(self) -> float | None:
        """One connection: read events until the server closes it, the read
        times out, or stop() is called. Returns the server's Retry-After for
        429/5xx, if any."""
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
        }
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        response = self._session.get(self.url, headers=headers, stream=True,
                                     timeout=(min(10.0, self.timeout), self.timeout))
        with self._response_lock:
            self._response = response
        if self._stop.is_set():
            return None
        if response.status_code != 200:
            retry_after = response.headers.get("Retry-After")
            self.last_error = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
            log.warning("event stream %s: %s", self.url, self.last_error)
            if 400 <= response.status_code < 500 and response.status_code != 429 \
                    and self.last_event_id:
                # Perhaps the saved position is refused (too old, garbled):
                # start from "now" rather than failing forever.
                log.warning("event stream: dropping resume id %s", self.last_event_id)
                self.last_event_id = None
            try:
                return max(0.0, float(retry_after)) if retry_after else None
            except ValueError:
                return None
        self.connected = True
        self.last_error = None
        log.info("event stream connected to %s%s", self.url,
                 f" (resuming after {self.last_event_id})" if self.last_event_id else "")
        client = sseclient.SSEClient(self._chunks(response))
        for event in client.events():
            if self._stop.is_set():
                break
            self._handle(event)
        return None

    def _chunks(self, response: requests.Response) -> Iterator[bytes]:
        """Bytes as they arrive, cut at event boundaries. ``read1`` returns
        whatever is available (chunked or not, gzip decoded) instead of
        waiting for a full buffer, so a quiet stream is not delayed. An
        event cut off by a dropped connection is discarded, as the SSE
        standard says, so its id never becomes our resume point."""
        raw = response.raw
        read1 = getattr(raw, "read1", None)
        pending = b""
        while not self._stop.is_set():
            if read1 is not None:
                chunk = read1(65536, decode_content=True)
            else:  # pragma: no cover - urllib3 < 2
                chunk = raw.read(1024, decode_content=True)
            if not chunk:
                break
            self.bytes_received += len(chunk)
            pending += chunk
            cut = _last_boundary(pending)
            if cut:
                yield pending[:cut]
                pending = pending[cut:]
        if pending.strip():
            log.debug("event stream: discarding %d bytes of an unfinished event", len(pending))

    def _handle(self, event: sseclient.Event) -> None:
        self.events_seen += 1
        if event.id and _valid_id(event.id):
            self.last_event_id = event.id
        if event.event not in ("message", None, ""):
            self._save()
            return
        data = event.data
        # Cheap filters first: most events are other wikis'.
        if self._needle not in data or (
            self._prefilter and not any(p in data for p in self._prefilter)
        ):
            self._save()
            return
        try:
            change = json.loads(data)
        except ValueError:
            log.debug("event stream: undecodable event %r", data[:200])
            self._save()
            return
        if not isinstance(change, dict) or change.get("wiki") != self.wiki:
            self._save()
            return
        if (change.get("meta") or {}).get("domain") == "canary":
            return  # Wikimedia's monitoring events, not real changes
        try:
            matched = bool(self.match(change))
        except Exception:
            log.exception("event stream: match() failed on %s", change.get("title"))
            matched = False
        if matched:
            self.events_matched += 1
            try:
                self.on_change(change)
            except Exception:
                log.exception("event stream: on_change() failed")
            self._save(force=True)
        else:
            self._save()

    # --------------------------------------------------------------- helpers

    def _save(self, force: bool = False) -> None:
        """Hand the last event id to ``save_event_id``, at most every
        ``save_interval`` seconds (the stream is busy; the caller's store
        should not be written tens of times a second)."""
        if self.save_event_id is None or not self.last_event_id:
            return
        if self.last_event_id == self._saved_id:
            return
        now = time.monotonic()
        if not force and now - self._last_save < self.save_interval:
            return
        self._last_save = now
        self._saved_id = self.last_event_id
        try:
            self.save_event_id(self.last_event_id)
        except Exception:
            log.exception("event stream: save_event_id() failed")

    def _close_response(self, from_other_thread: bool = False) -> None:
        """Close the current response. Shutting the socket down first wakes
        a reader blocked in recv() at once. From another thread (stop())
        the close itself runs in a helper thread: it can block on the
        reader's buffer lock until the read returns, and stop() must not."""
        with self._response_lock:
            response, self._response = self._response, None
        if response is None:
            return
        sock = _socket_of(response)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if from_other_thread:
            threading.Thread(target=_quiet_close, args=(response,),
                             name="OTRSHelp-eventstream-close", daemon=True).start()
        else:
            _quiet_close(response)


def _quiet_close(response: requests.Response) -> None:
    try:
        response.close()
    except Exception:  # pragma: no cover - closing twice, already gone
        pass


def _valid_id(value: str | None) -> str | None:
    """An event id usable as a Last-Event-ID header, else None (the SSE
    standard ignores ids with NUL; CR/LF would break the header)."""
    if not value or any(c in value for c in "\0\r\n"):
        return None
    return value.strip() or None


def _last_boundary(buf: bytes) -> int:
    """Index just past the last blank line (event end) in ``buf``, or 0."""
    best = 0
    for sep in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        i = buf.rfind(sep)
        if i >= 0:
            best = max(best, i + len(sep))
    return best


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket under a streaming requests response (urllib3 2.x), if it
    can be found."""
    raw = getattr(response, "raw", None)
    for path in (("_connection", "sock"), ("connection", "sock"),
                 ("_fp", "fp", "raw", "_sock")):
        obj = raw
        try:
            for attr in path:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        if isinstance(obj, socket.socket):
            return obj
    return None


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

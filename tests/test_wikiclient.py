"""WikiClient: etiquette, retries and the Action API formats.

Two kinds of tests:
* a local HTTP server (``FakeWiki``) answering with recorded MediaWiki JSON
  (formatversion=2, ``tests/recorded/``) and injecting faults: 5xx, 429 with
  Retry-After, maxlag errors, slow answers, dropped connections;
* the real MediaWiki from ``tests/realservers.py`` (``mediawiki`` fixture).

Waits go through an injected ``sleep`` that records them, so the suite runs
in seconds while still checking every back-off.
"""
from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from localhttp import QuietHandler, serve
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

HERE = Path(__file__).resolve().parent
for _p in (str(HERE), str(HERE.parent)):
    if _p not in sys.path:  # also works with --noconftest
        sys.path.insert(0, _p)

from OTRSHelp.wikiclient import (  # noqa: E402
    PageInfo,
    PageMissing,
    Revision,
    WikiClient,
    WikiError,
    default_user_agent,
)


RECORDED = HERE / "recorded"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------- fake wiki

class Reply:
    """An HTTP answer: JSON (dict) or raw bytes, a status and headers."""

    def __init__(self, body: dict | bytes = b"{}", status: int = 200,
                 headers: dict | None = None, delay: float = 0.0) -> None:
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.delay = delay


class Drop:
    """Close the connection without answering (a network drop)."""


class FakeWiki:
    """A tiny api.php on 127.0.0.1: scripted answers first (``push``), then
    ``route(params)``; records every request's parameters and headers."""

    def __init__(self, route=None) -> None:
        self.script: deque = deque()
        self.route = route or (lambda params: Reply(recorded("info_pageid.json")))
        self.requests: list[tuple[dict, dict]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            wbufsize = 1 << 16  # headers and body in one send: no delayed-ACK stalls

            def do_GET(self):
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                fake.requests.append((params, dict(self.headers)))
                with fake._count_lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    action = fake.script.popleft() if fake.script else fake.route(params)
                    if isinstance(action, Drop):
                        self.drop()
                        return
                    if action.delay:
                        time.sleep(action.delay)
                    body = action.body
                    if isinstance(body, dict):
                        body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
                    try:
                        self.send_response(action.status)
                        ctype = "application/json; charset=utf-8"
                        self.send_header("Content-Type", action.headers.get("Content-Type", ctype))
                        for key, value in action.headers.items():
                            if key != "Content-Type":
                                self.send_header(key, value)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up (timeout test)
                finally:
                    with fake._count_lock:
                        fake.in_flight -= 1

        self.server = serve(Handler, poll_interval=0.02)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/w/api.php"

    def push(self, *actions) -> None:
        self.script.extend(actions)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Sleeps(list):
    """An injected sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake():
    wiki = FakeWiki()
    yield wiki
    wiki.close()


@pytest.fixture
def sleeps():
    return Sleeps()


def make_client(fake: FakeWiki, sleeps: Sleeps, **kw) -> WikiClient:
    kw.setdefault("contact", "https://meta.wikimedia.org/wiki/User:Example; ops@example.org")
    kw.setdefault("timeout", 2.0)
    kw.setdefault("max_retries", 5)
    kw.setdefault("backoff", 1.0)
    kw.setdefault("max_backoff", 60.0)
    return WikiClient(fake.api_url, sleep=sleeps, **kw)


# ------------------------------------------------------------- etiquette

def test_user_agent_names_bot_version_and_contact(fake, sleeps):
    client = make_client(fake, sleeps, contact="ops@example.org")
    client.page_info(10738406)
    params, headers = fake.requests[0]
    ua = headers["User-Agent"]
    assert re.fullmatch(r"OTRSHelp/\d+\.\d+\S* \(ops@example\.org\) python-requests/\S+", ua), ua
    assert ua == default_user_agent("ops@example.org")


def test_every_request_carries_format_formatversion_and_maxlag(fake, sleeps):
    client = make_client(fake, sleeps)
    fake.push(Reply(status=503), Reply(recorded("maxlag.json"), headers={"Retry-After": "1"}))
    client.page_info(10738406)
    assert len(fake.requests) == 3
    for params, _headers in fake.requests:
        assert params["format"] == "json"
        assert params["formatversion"] == "2"
        assert params["maxlag"] == "5"


def test_contact_cannot_inject_header_lines():
    assert "\n" not in default_user_agent("a@example.org\r\nX-Evil: 1")


# ---------------------------------------------------------- the idle poll

def test_page_info_is_one_small_request(fake, sleeps):
    client = make_client(fake, sleeps)
    info = client.page_info(10738406)
    assert info == PageInfo(pageid=10738406, title="Volunteer Response Team/Volunteering",
                            lastrevid=26731455, redirected_from=None, ns=0)
    assert len(fake.requests) == 1
    params, _ = fake.requests[0]
    assert params["action"] == "query" and params["prop"] == "info"
    assert params["pageids"] == "10738406"
    assert not any(k.startswith("rv") for k in params)  # no content asked for
    assert client.stats.requests == 1
    assert client.stats.bytes_received < 2048


def test_resolve_page_follows_redirect_to_page_id(fake, sleeps):
    fake.route = lambda params: Reply(recorded("info_redirect.json"))
    client = make_client(fake, sleeps)
    info = client.resolve_page("OTRS/Volunteering")
    assert info.pageid == 10738406
    assert info.title == "Volunteer Response Team/Volunteering"
    assert info.redirected_from == "OTRS/Volunteering"
    params, _ = fake.requests[0]
    assert params["titles"] == "OTRS/Volunteering" and params["redirects"] == "1"


def test_missing_page_is_page_missing_not_retried(fake, sleeps):
    fake.route = lambda params: Reply({"batchcomplete": True, "query": {"pages": [
        {"ns": 0, "title": "Nope", "missing": True}]}})
    client = make_client(fake, sleeps)
    with pytest.raises(PageMissing, match="does not exist"):
        client.resolve_page("Nope")
    assert len(fake.requests) == 1 and sleeps == []


def test_invalid_title_is_a_clear_error(fake, sleeps):
    fake.route = lambda params: Reply({"batchcomplete": True, "query": {"pages": [
        {"title": "Bad[[x", "invalidreason": "The requested page title contains invalid characters: \"[\".",
         "invalid": True}]}})
    client = make_client(fake, sleeps)
    with pytest.raises(WikiError, match="not a valid title"):
        client.resolve_page("Bad[[x")


# ------------------------------------------------------------ resilience

def test_retries_server_errors_with_bounded_jittered_backoff(fake, sleeps):
    fake.push(Reply(status=500), Reply(status=502), Reply(status=503))
    client = make_client(fake, sleeps, backoff=1.0, max_backoff=60.0)
    assert client.page_info(10738406).lastrevid == 26731455
    assert len(fake.requests) == 4
    assert len(sleeps) == 3
    for n, wait in enumerate(sleeps, start=1):
        base = 1.0 * 2 ** (n - 1)
        assert base / 2 <= wait <= base, (n, wait)
    assert client.stats.retries == 3


def test_backoff_never_exceeds_max_backoff(fake, sleeps):
    fake.push(*[Reply(status=500) for _ in range(6)])
    client = make_client(fake, sleeps, backoff=1.0, max_backoff=3.0, max_retries=6)
    client.page_info(10738406)
    assert max(sleeps) <= 3.0


def test_429_honours_retry_after(fake, sleeps):
    fake.push(Reply({"error": {"code": "ratelimited"}}, status=429, headers={"Retry-After": "7"}))
    client = make_client(fake, sleeps)
    assert client.page_info(10738406).pageid == 10738406
    assert sleeps == [7.0]


def test_503_honours_retry_after_http_date(fake, sleeps):
    from email.utils import format_datetime
    when = datetime.fromtimestamp(time.time() + 4, timezone.utc)
    fake.push(Reply(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    client = make_client(fake, sleeps)
    client.page_info(10738406)
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 4.5


def test_maxlag_error_waits_retry_after_then_retries(fake, sleeps):
    fake.push(Reply(recorded("maxlag.json"), status=200,
                    headers={"Retry-After": "5", "X-Database-Lag": "7"}))
    client = make_client(fake, sleeps)
    assert client.page_info(10738406).lastrevid == 26731455
    assert sleeps == [5.0]
    assert len(fake.requests) == 2


def test_maxlag_without_retry_after_waits_the_lag(fake, sleeps):
    fake.push(Reply(recorded("maxlag.json")))
    client = make_client(fake, sleeps)
    client.page_info(10738406)
    assert sleeps == [7.0]  # "lag": 7 in the error


def test_timeout_is_retried(fake, sleeps):
    fake.push(Reply(recorded("info_pageid.json"), delay=1.0))
    client = make_client(fake, sleeps, timeout=0.2)
    started = time.monotonic()
    assert client.page_info(10738406).pageid == 10738406
    assert time.monotonic() - started < 3
    assert len(sleeps) == 1 and len(fake.requests) == 2


def test_network_drop_is_retried(fake, sleeps):
    fake.push(Drop(), Drop())
    client = make_client(fake, sleeps)
    assert client.page_info(10738406).pageid == 10738406
    assert len(sleeps) == 2


def test_gives_up_after_max_retries_with_clear_message(fake, sleeps):
    fake.route = lambda params: Reply(status=503)
    client = make_client(fake, sleeps, max_retries=3)
    with pytest.raises(WikiError) as err:
        client.page_info(10738406)
    message = str(err.value)
    assert "\n" not in message
    assert "failed after 4 attempts" in message and "HTTP 503" in message
    assert fake.api_url in message and "prop=info" in message
    assert len(fake.requests) == 4 and len(sleeps) == 3
    assert client.stats.failures == 1


def test_gives_up_on_persistent_maxlag(fake, sleeps):
    fake.route = lambda params: Reply(recorded("maxlag.json"), headers={"Retry-After": "5"})
    client = make_client(fake, sleeps, max_retries=2)
    with pytest.raises(WikiError, match="lags") as err:
        client.page_info(10738406)
    assert err.value.code == "maxlag" and err.value.retry_after == 5.0
    assert sleeps == [5.0, 5.0]


def test_gives_up_on_network_errors(sleeps):
    # A port nobody listens on: connection refused every time.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = WikiClient(f"http://127.0.0.1:{port}/w/api.php", contact="x", max_retries=2,
                        sleep=sleeps, timeout=1)
    with pytest.raises(WikiError, match="network error"):
        client.page_info(1)
    assert len(sleeps) == 2


def test_retry_after_longer_than_max_backoff_is_not_cut_short(fake, sleeps):
    fake.push(Reply(status=429, headers={"Retry-After": "600"}))
    client = make_client(fake, sleeps, max_backoff=60)
    with pytest.raises(WikiError) as err:
        client.page_info(10738406)
    assert err.value.retry_after == 600 and sleeps == []
    assert "600 s" in str(err.value)


def test_api_error_is_not_retried_and_names_code_and_info(fake, sleeps):
    fake.route = lambda params: Reply({"error": {
        "code": "badvalue", "info": "Unrecognized value for parameter \"action\": foo.",
        "docref": "See https://meta.wikimedia.org/w/api.php for API usage."}})
    client = make_client(fake, sleeps)
    with pytest.raises(WikiError) as err:
        client.get(action="foo")
    assert err.value.code == "badvalue"
    assert "badvalue" in str(err.value) and "Unrecognized value" in str(err.value)
    assert len(fake.requests) == 1 and sleeps == []


def test_html_instead_of_json_is_a_clear_error(fake, sleeps):
    fake.route = lambda params: Reply(b"<html>Main Page</html>",
                                      headers={"Content-Type": "text/html"})
    client = make_client(fake, sleeps)
    with pytest.raises(WikiError, match="api.php URL"):
        client.page_info(1)


def test_one_request_at_a_time_across_threads(fake, sleeps):
    fake.route = lambda params: Reply(recorded("info_pageid.json"), delay=0.02)
    client = make_client(fake, sleeps)
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(3):
                client.page_info(10738406)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(fake.requests) == 12
    assert fake.max_in_flight == 1


# -------------------------------------------------------------- revisions

def _recorded_revisions() -> list[dict]:
    """The recorded history (two API batches) as one list of revisions."""
    revs = []
    for name in ("revisions_batch1.json", "revisions_batch2.json"):
        revs += recorded(name)["query"]["pages"][0]["revisions"]
    return revs


def _history_route(revs: list[dict], page_size: int = 3):
    """Answers as MediaWiki does: a history listing without content (with
    size and sha1, continued every ``page_size`` revisions) and texts by
    revision id."""
    def meta(rev: dict) -> dict:
        out = {k: v for k, v in rev.items() if k != "slots"}
        text = ((rev.get("slots") or {}).get("main") or {}).get("content")
        if text is None:
            out["sha1hidden"] = True
        else:
            out["size"] = len(text.encode())
            out["sha1"] = __import__("hashlib").sha1(text.encode()).hexdigest()
        return out

    def route(params):
        assert params["prop"] == "revisions"
        if "revids" in params:
            wanted = {int(r) for r in params["revids"].split("|")}
            assert "content" in params["rvprop"]
            return Reply({"query": {"pages": [{"pageid": 10738406, "ns": 0, "revisions": [
                r for r in revs if r["revid"] in wanted]}]}})
        assert "content" not in params["rvprop"]
        start = int(params["rvstartid"])
        newer = [r for r in revs if r["revid"] >= start]
        offset = int(params.get("rvcontinue", 0))
        chunk = newer[offset:offset + page_size]
        body: dict = {"query": {"pages": [{"pageid": 10738406, "ns": 0,
                                           "revisions": [meta(r) for r in chunk]}]}}
        if offset + page_size < len(newer):
            body["continue"] = {"rvcontinue": str(offset + page_size), "continue": "||"}
        return Reply(body)

    return route


def test_revisions_after_pages_through_continuation_in_order(fake, sleeps):
    fake.route = _history_route(_recorded_revisions())
    client = make_client(fake, sleeps)
    revs = list(client.revisions_after(10738406, 26731300, batch=3))
    assert [r.revid for r in revs] == [26731377, 26731390, 26731402, 26731455]
    assert [r.user for r in revs] == ["Helper", "", "Reverter", "Example"]
    assert all(isinstance(r, Revision) for r in revs)
    assert revs[0].timestamp == datetime(2024, 5, 2, 7, 55, 13, tzinfo=timezone.utc)
    assert revs[0].parentid == 26731300 and "{{support}}" in revs[0].text
    assert revs[-1].comment == "add language" and "en, de" in revs[-1].text
    listings = [p for p, _ in fake.requests if "rvstartid" in p]
    assert len(listings) == 2  # continued
    for params in listings:
        assert params["pageids"] == "10738406"
        assert params["rvdir"] == "newer" and params["rvstartid"] == "26731300"
        assert set(params["rvprop"].split("|")) == {"ids", "timestamp", "user", "comment",
                                                    "size", "sha1"}
    # the text of the revision already processed is never asked for
    texts = [p for p, _ in fake.requests if "revids" in p]
    asked = {int(r) for p in texts for r in p["revids"].split("|")}
    assert 26731300 not in asked and asked == {26731377, 26731402, 26731455}
    assert all(p["rvslots"] == "main" for p in texts)


def test_hidden_revision_does_not_crash_and_is_flagged(fake, sleeps):
    fake.route = _history_route(_recorded_revisions())
    client = make_client(fake, sleeps)
    hidden = [r for r in client.revisions_after(10738406, 26731300, batch=3) if r.hidden]
    assert [r.revid for r in hidden] == [26731390]
    assert hidden[0].text == "" and hidden[0].user == "" and hidden[0].comment == ""
    assert all(not r.hidden for r in client.revisions_after(10738406, 26731300, batch=3)
               if r.revid != 26731390)


def test_revisions_after_none_gives_only_the_latest(fake, sleeps):
    latest = recorded("revisions_batch2.json")
    latest["query"]["pages"][0]["revisions"] = latest["query"]["pages"][0]["revisions"][-1:]
    fake.route = lambda params: Reply(latest)
    client = make_client(fake, sleeps)
    revs = list(client.revisions_after(10738406, None))
    assert [r.revid for r in revs] == [26731455]
    params, _ = fake.requests[0]
    assert "rvstartid" not in params and "rvdir" not in params and "rvlimit" not in params


def test_revisions_after_a_deleted_start_revision(fake, sleeps):
    """The last processed revision was deleted: rvstartid is refused, so the
    client finds the first newer revision by id and goes on from there."""
    ids_only = {"batchcomplete": True, "query": {"pages": [{"pageid": 10738406, "ns": 0,
        "title": "Volunteer Response Team/Volunteering", "revisions": [
            {"revid": 26731455, "parentid": 26731402}, {"revid": 26731402, "parentid": 26731390},
            {"revid": 26731390, "parentid": 26731377}, {"revid": 26731377, "parentid": 26731300},
            {"revid": 26731300, "parentid": 26731211}]}]}}
    history = _history_route([r for r in _recorded_revisions() if r["revid"] <= 26731390])

    def route(params):
        if params.get("rvstartid") == "26731350":
            return Reply({"error": {"code": "badid_rvstartid",
                                    "info": "No revision was found for parameter \"rvstartid\"."}})
        if params.get("rvprop") == "ids":
            return Reply(ids_only)
        if "rvstartid" in params:
            assert params["rvstartid"] == "26731377"
        return history(params)

    fake.route = route
    client = make_client(fake, sleeps)
    assert [r.revid for r in client.revisions_after(10738406, 26731350)] == [26731377, 26731390]


def test_page_gone_while_fetching_revisions(fake, sleeps):
    fake.route = lambda params: Reply({"batchcomplete": True, "query": {"pages": [
        {"pageid": 10738406, "missing": True}]}})
    client = make_client(fake, sleeps)
    with pytest.raises(PageMissing):
        list(client.revisions_after(10738406, 1))


# -------------------------------------------------------------- real wiki

def _title(prefix: str) -> str:
    return f"OTRSHelp test/{prefix} {uuid.uuid4().hex[:8]}"


def _user(name: str) -> str:
    """A user name unique to this run: the wiki is shared by the session."""
    return f"{name} {uuid.uuid4().hex[:6]}"


def test_real_wiki_redirect_after_move_resolves_to_page_id(mediawiki):
    mover = _user("Mover")
    mediawiki.create_user(mover)
    old, new = _title("OTRS volunteering"), _title("VRT volunteering")
    mediawiki.edit(old, "== Applicant ==\nHello.", mover, summary="start")
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    before = client.resolve_page(old)
    assert before.redirected_from is None and before.title == old
    mediawiki.move(old, new, mover)
    after = client.resolve_page(old)
    assert after.pageid == before.pageid
    assert after.title == new and after.redirected_from == old
    assert after.lastrevid >= before.lastrevid
    assert client.page_info(before.pageid).title == new


def test_real_wiki_revisions_after_gives_every_revision_in_order(mediawiki):
    alice, bob, carol = _user("Alice"), _user("Bob"), _user("Carol")
    for user in (alice, bob, carol):
        mediawiki.create_user(user)
    title = _title("Volunteering")
    first = mediawiki.edit(title, f"== {alice} ==\nI apply.", alice, "apply")
    plan = [
        (bob, f"== {alice} ==\nI apply.\n*{{{{support}}}} Bob", "support"),
        (carol, f"== {alice} ==\nI apply.\n*{{{{support}}}} Bob\n*{{{{q}}}} Why?", "question"),
        (alice, f"== {alice} ==\nI apply.\n*{{{{support}}}} Bob\n*{{{{q}}}} Why?\n**Because.", "reply"),
        (carol, f"== {alice} ==\n{{{{done}}}}", "done"),
    ]
    revids = [mediawiki.edit(title, text, user, summary) for user, text, summary in plan]
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    page = client.resolve_page(title)
    assert page.lastrevid == revids[-1]
    got = list(client.revisions_after(page.pageid, first, batch=2))  # forces continuation
    assert [r.revid for r in got] == revids
    assert [r.user for r in got] == [user for user, _, _ in plan]
    assert [r.text for r in got] == [text for _, text, _ in plan]
    assert [r.comment for r in got] == [summary for _, _, summary in plan]
    assert all(r.timestamp.tzinfo is not None and not r.hidden for r in got)
    assert got[0].parentid == first
    latest = list(client.revisions_after(page.pageid, None))
    assert [r.revid for r in latest] == [revids[-1]]
    assert list(client.revisions_after(page.pageid, revids[-1])) == []


def test_real_wiki_page_info_sees_a_new_edit(mediawiki):
    poller = _user("Poller")
    mediawiki.create_user(poller)
    title = _title("Poll")
    mediawiki.edit(title, "one", poller)
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    page = client.resolve_page(title)
    revid = mediawiki.edit(title, "two", poller, "second")
    before = client.stats.requests
    info = client.page_info(page.pageid)
    assert info.lastrevid == revid != page.lastrevid
    assert client.stats.requests - before == 1
    assert client.stats.last_request_bytes < 2048


def test_real_wiki_missing_page(mediawiki):
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    with pytest.raises(PageMissing):
        client.resolve_page(_title("never created"))


# -------------------------------------------------------------- stopping

def test_stop_ends_a_retry_wait_at_once(fake):
    """die() sets the client's stop event: a back-off of 30 s the server
    asked for ends within a fraction of a second, with a Stopped error."""
    from OTRSHelp.wikiclient import Stopped
    fake.route = lambda params: Reply(b"busy", status=503, headers={"Retry-After": "30"})
    client = WikiClient(fake.api_url, contact="tests@example.org", timeout=2.0)
    threading.Timer(0.3, client.stop.set).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        client.page_info(10738406)
    assert time.monotonic() - started < 1.5
    assert len(fake.requests) == 1  # no second attempt after the stop


def test_close_does_not_wait_for_a_hung_request(fake):
    """A wiki that does not answer: close() returns within about a second
    although the poller's request holds the client's lock for 3 s more."""
    fake.route = lambda params: Reply(recorded("info_pageid.json"), delay=4.0)
    client = WikiClient(fake.api_url, contact="tests@example.org", timeout=10.0)
    worker = threading.Thread(target=lambda: _swallow(client.page_info, 10738406), daemon=True)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.5
    assert client.stop.is_set()


def _swallow(fn, *args):
    try:
        fn(*args)
    except Exception:
        pass


def test_the_contact_warning_is_for_wikimedia_wikis_only(caplog) -> None:
    import logging

    from OTRSHelp.wikiclient import WikiClient

    with caplog.at_level(logging.WARNING):
        WikiClient("http://127.0.0.1:9/api.php").close()
    assert "Wikimedia" not in caplog.text
    with caplog.at_level(logging.WARNING):
        WikiClient("https://meta.wikimedia.org/w/api.php").close()
    assert "OTRSHELP_CONTACT" in caplog.text

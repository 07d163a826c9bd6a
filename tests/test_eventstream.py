"""StreamTrigger against a local SSE endpoint speaking like EventStreams.

The endpoint sends ``recentchange`` events in Wikimedia's format (``:ok``
first, then ``event: message``, ``id:`` with the Kafka partition/timestamp
JSON array, ``data:`` with the event), over chunked HTTP/1.1 as the real
service does, and can drop the connection or stay idle.
"""
from __future__ import annotations

import json
import socket
import sys
import threading
import time
from localhttp import QuietHandler, serve
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _p in (str(HERE), str(HERE.parent)):
    if _p not in sys.path:  # also works with --noconftest
        sys.path.insert(0, _p)

from OTRSHelp import eventstream  # noqa: E402
from OTRSHelp.eventstream import StreamTrigger, page_matcher  # noqa: E402

EVENTS = json.loads((HERE / "recorded" / "recentchange_events.json").read_text(encoding="utf-8"))
OUR_TITLES = ["Volunteer Response Team/Volunteering", "OTRS/Volunteering"]
UA = "OTRSHelp/0.1.0 (tests@example.org) python-requests/x"


def sse(event: dict) -> bytes:
    data = json.dumps(event["data"], separators=(",", ":"), ensure_ascii=False)
    return f"event: message\nid: {event['id']}\ndata: {data}\n\n".encode()


class SSEServer:
    """Each incoming connection takes the next plan: a list of steps —
    bytes to send, ``("status", code, headers)``, ``"drop"`` or ``"hold"``
    (stay open and idle until the server closes)."""

    def __init__(self, plans: list[list]) -> None:
        self.plans = list(plans)
        self.connections: list[dict] = []
        self.closing = threading.Event()
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                server.connections.append(dict(self.headers))
                plan = server.plans.pop(0) if server.plans else ["hold"]
                if plan and isinstance(plan[0], tuple) and plan[0][0] == "status":
                    _, code, headers = plan[0]
                    body = b"{}"
                    self.send_response(code)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._chunk(b":ok\n\n")
                for step in plan:
                    if step == "drop":
                        self.drop()
                        return
                    if step == "hold":
                        server.closing.wait(30)
                        return
                    self._chunk(step)
                    time.sleep(0.005)
                self._chunk(b"")  # clean end of stream (server closes)
                self.close_connection = True

            def _chunk(self, data: bytes) -> None:
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                except OSError:
                    pass

        self.httpd = serve(Handler, poll_interval=0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v2/stream/recentchange"

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


@pytest.fixture
def servers():
    made: list[SSEServer] = []

    def make(plans):
        srv = SSEServer(plans)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.close()


def make_trigger(url: str, changes: list, saved: list, **kw) -> StreamTrigger:
    kw.setdefault("match", page_matcher(OUR_TITLES, namespace=0))
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    kw.setdefault("timeout", 30)
    return StreamTrigger(url, wiki="metawiki", on_change=changes.append, user_agent=UA,
                         save_event_id=saved.append, **kw)


def test_only_our_page_on_metawiki_triggers_once_and_resume_after_drop(servers):
    first, rest = EVENTS[:4], EVENTS[4:]
    partial = b"event: message\nid: [\"never-finished\"]\ndata: {\"wiki\":\"metawiki\""
    srv = servers([
        [sse(e) for e in first] + [partial, "drop"],
        [sse(e) for e in rest] + ["hold"],
    ])
    changes: list[dict] = []
    saved: list[str] = []
    trigger = make_trigger(srv.url, changes, saved)
    trigger.start()
    try:
        assert wait_for(lambda: trigger.events_seen == len(EVENTS))
        assert wait_for(lambda: trigger.connected)
    finally:
        started = time.monotonic()
        trigger.stop(timeout=5)
        stopped_in = time.monotonic() - started
    assert stopped_in < 1.0, stopped_in  # the idle connection was closed, not waited out

    assert len(changes) == 1
    ours = changes[0]
    assert ours["wiki"] == "metawiki" and ours["title"] == "Volunteer Response Team/Volunteering"
    assert ours["revision"] == {"old": 26731402, "new": 26731455}
    assert trigger.events_matched == 1

    # Reconnected once, resuming after the last *complete* event.
    assert len(srv.connections) == 2
    assert "Last-Event-ID" not in srv.connections[0]
    assert srv.connections[1]["Last-Event-ID"] == first[-1]["id"]
    for headers in srv.connections:
        assert headers["User-Agent"] == UA
        assert headers["Accept"] == "text/event-stream"
    assert trigger.reconnects >= 1
    # The caller could persist the position: the last id is saved.
    assert saved and saved[-1] == EVENTS[-1]["id"]
    assert trigger.last_event_id == EVENTS[-1]["id"]
    assert not trigger.running and not trigger.connected


def test_starts_from_a_saved_event_id(servers):
    srv = servers([["hold"]])
    trigger = make_trigger(srv.url, [], [], last_event_id=EVENTS[3]["id"])
    trigger.start()
    try:
        assert wait_for(lambda: len(srv.connections) == 1 and trigger.connected)
    finally:
        trigger.stop()
    assert srv.connections[0]["Last-Event-ID"] == EVENTS[3]["id"]


def test_events_are_filtered_before_json_decoding(servers, monkeypatch):
    decoded: list[str] = []
    real_loads = json.loads

    def counting_loads(text, *a, **kw):
        decoded.append(text)
        return real_loads(text, *a, **kw)

    srv = servers([[sse(e) for e in EVENTS] + ["hold"]])
    changes: list[dict] = []
    trigger = make_trigger(srv.url, changes, [])
    monkeypatch.setattr(eventstream.json, "loads", counting_loads)
    trigger.start()
    try:
        assert wait_for(lambda: trigger.events_seen == len(EVENTS))
    finally:
        trigger.stop()
    monkeypatch.undo()
    raw_hits = [e for e in EVENTS if '"metawiki"' in json.dumps(e["data"], separators=(",", ":"),
                                                                 ensure_ascii=False)]
    assert len(decoded) == len(raw_hits) < len(EVENTS)
    assert len(changes) == 1  # canary, other wikis and other pages did not count


def test_reconnects_after_server_error_with_retry_after(servers):
    srv = servers([
        [("status", 503, {"Retry-After": "0"})],
        [("status", 429, {})],
        [sse(EVENTS[7]), "hold"],
    ])
    changes: list[dict] = []
    trigger = make_trigger(srv.url, changes, [])
    trigger.start()
    try:
        assert wait_for(lambda: len(changes) == 1)
    finally:
        trigger.stop()
    assert len(srv.connections) == 3
    assert trigger.reconnects >= 2


def test_refused_resume_id_is_dropped(servers):
    srv = servers([[("status", 400, {})], [sse(EVENTS[7]), "hold"]])
    changes: list[dict] = []
    trigger = make_trigger(srv.url, changes, [], last_event_id="[{\"too\":\"old\"}]")
    trigger.start()
    try:
        assert wait_for(lambda: len(changes) == 1)
    finally:
        trigger.stop()
    assert srv.connections[0]["Last-Event-ID"] == "[{\"too\":\"old\"}]"
    assert "Last-Event-ID" not in srv.connections[1]


def test_garbled_saved_id_is_not_sent():
    trigger = StreamTrigger("http://127.0.0.1:9/", match=lambda e: True, on_change=lambda e: None,
                            user_agent=UA, last_event_id="abc\r\nX-Evil: 1")
    assert trigger.last_event_id is None


def test_clean_end_of_stream_reconnects(servers):
    srv = servers([[sse(EVENTS[0])], [sse(EVENTS[7]), "hold"]])
    changes: list[dict] = []
    trigger = make_trigger(srv.url, changes, [])
    trigger.start()
    try:
        assert wait_for(lambda: len(changes) == 1)
    finally:
        trigger.stop()
    assert srv.connections[1]["Last-Event-ID"] == EVENTS[0]["id"]


def test_callbacks_that_raise_do_not_kill_the_thread(servers):
    srv = servers([[sse(EVENTS[7]), sse(EVENTS[7]), "hold"]])
    calls: list[dict] = []

    def bad_on_change(event):
        calls.append(event)
        raise RuntimeError("boom")

    trigger = StreamTrigger(srv.url, match=lambda e: True, on_change=bad_on_change,
                            user_agent=UA, backoff=0.01, max_backoff=0.05)
    trigger.start()
    try:
        assert wait_for(lambda: len(calls) == 2)
        assert trigger.running
    finally:
        trigger.stop()


def test_unreachable_stream_keeps_retrying_and_stops_promptly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    trigger = StreamTrigger(f"http://127.0.0.1:{port}/v2/stream/recentchange",
                            match=lambda e: True, on_change=lambda e: None, user_agent=UA,
                            backoff=0.01, max_backoff=0.02)
    trigger.start()
    try:
        assert wait_for(lambda: trigger.reconnects >= 3)
        assert trigger.running and not trigger.connected and trigger.last_error
    finally:
        started = time.monotonic()
        trigger.stop()
    assert time.monotonic() - started < 1.0


def test_stop_without_start_and_twice():
    trigger = StreamTrigger("http://127.0.0.1:9/", match=lambda e: True,
                            on_change=lambda e: None, user_agent=UA)
    trigger.stop()
    trigger.stop()
    assert not trigger.running


# ------------------------------------------------------------ page_matcher

def _event(**kw) -> dict:
    base = {"wiki": "metawiki", "type": "edit", "namespace": 0,
            "title": "Volunteer Response Team/Volunteering"}
    base.update(kw)
    return base


def test_page_matcher_titles_moves_and_namespaces():
    match = page_matcher(["Volunteer_Response_Team/Volunteering", "OTRS/Volunteering"], namespace=0)
    assert match(_event())
    assert match(_event(title="OTRS/Volunteering", type="new"))
    assert not match(_event(title="Volunteer Response Team/Volunteering/Archive"))
    assert not match(_event(namespace=1, title="Volunteer Response Team/Volunteering"))
    moved_away = _event(type="log", log_type="move", log_action="move",
                        title="Volunteer Response Team/Volunteering",
                        log_params={"target": "VRT/Volunteering", "noredir": "0"})
    moved_here = _event(type="log", log_type="move", log_action="move", title="Some draft",
                        log_params={"target": "Volunteer Response Team/Volunteering", "noredir": "0"})
    assert match(moved_away) and match(moved_here)
    assert not match(_event(type="log", log_type="move", title="Elsewhere",
                            log_params={"target": "Also elsewhere"}))
    assert not match(_event(type="log", log_type="move", title="Elsewhere", log_params=[]))

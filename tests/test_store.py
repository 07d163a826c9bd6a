"""The store on SQLite and on a real PostgreSQL and MariaDB: what it keeps, and that the
poller and command threads can use it at the same time."""
from __future__ import annotations

import signal
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from OTRSHelp.store import ApplicationRow, EventRow, PageState, Store, StoreUnavailable
from OTRSHelp.tracker import Tracker
from pagebuilder import App, Page, Rev, at, sig


SERVER_URL = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.sqlite3"
    else:
        from realservers import create_database

        server = request.getfixturevalue(SERVER_URL[request.param])
        url = create_database(server, "s" + uuid.uuid4().hex[:12])
    s = Store(url)
    yield s
    s.close()


def test_times_come_back_as_aware_utc(store):
    cet = timezone(timedelta(hours=1))
    row = store.add_record("bob", "email", "received", "Admin One")
    rows = store.records("Bob")
    assert rows[0].at.tzinfo is not None and rows[0].at == row.at
    with store.transaction() as s:
        s.add(ApplicationRow(applicant="Carol", applicant_key="carol",
                             opened=datetime(2020, 1, 19, 12, 32, tzinfo=cet)))
    (app,) = store.applications()
    assert app.opened == datetime(2020, 1, 19, 11, 32, tzinfo=timezone.utc)


def test_records_are_found_by_any_spelling_of_the_name(store):
    store.add_record("User:alice_Example", "note", "asked about queues", "Admin One")
    store.add_record("Alice Example", "email", "received", "Admin Two")
    assert [(r.kind, r.by) for r in store.records("alice example")] == [
        ("note", "Admin One"), ("email", "Admin Two")]
    assert store.records("Alice") == []


def test_unicode_survives(store):
    store.add_record("Ìch heiss Nat", "note", "Grüße, 你好, مرحبا 🙂", "Ädmin")
    (r,) = store.records("ìch heiss Nat")
    assert r.value == "Grüße, 你好, مرحبا 🙂" and r.by == "Ädmin" and r.applicant == "Ìch heiss Nat"


def test_names_that_differ_only_in_accents_or_case_stay_apart(store):
    """Different wiki users are different people on every backend (MariaDB's
    usual *_ci collations would say "Jose" = "José" and "BoB" = "Bob")."""
    store.add_record("José", "note", "private to José", "Admin One")
    with store.transaction() as s:
        s.add_all([EventRow(kind="opened", applicant="BoB"),
                   ApplicationRow(applicant="José", applicant_key="josé"),
                   ApplicationRow(applicant="Jose", applicant_key="jose")])
    assert store.records("Jose") == []
    assert [r.value for r in store.records("josé")] == ["private to José"]
    assert store.events("Bob") == [] and [e.applicant for e in store.events("BoB")] == ["BoB"]
    assert sorted(store.applicant_names()) == ["Jose", "José"]


@pytest.mark.parametrize("scheme", ["mysql+pymysql", "mariadb+pymysql"])
def test_mariadb_tables_are_utf8mb4_whatever_the_database_default(request, scheme):
    """A ToolsDB-style database created without a character set (MariaDB's
    built-in default is latin1) still takes emoji, through either dialect
    name SQLAlchemy accepts for MariaDB."""
    import pymysql
    from sqlalchemy.engine import make_url

    server = make_url(request.getfixturevalue("mariadb_url"))
    name = "l" + uuid.uuid4().hex[:12]
    conn = pymysql.connect(host=server.host, port=server.port, user=server.username,
                           autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET latin1 COLLATE latin1_swedish_ci")
    finally:
        conn.close()
    store = Store(server.set(drivername=scheme, database=name).render_as_string(hide_password=False))
    try:
        store.add_record("Ìch heiss Nat", "note", "Grüße, 你好 🙂", "Ädmin")
        (r,) = store.records("ìch heiss nat")
        assert r.value == "Grüße, 你好 🙂"
        assert store.records("Ich heiss Nat") == []
    finally:
        store.close()


def test_following_another_page_starts_over(store):
    store.set_page("https://meta.wikimedia.org/w/api.php", 42, "OTRS/Volunteering")
    with store.transaction() as s:
        store.page_state(s).last_revid = 1000
    store.set_page("https://meta.wikimedia.org/w/api.php", 42, "Volunteer Response Team/Volunteering")
    assert store.state().last_revid == 1000  # a rename keeps the progress
    store.set_page("https://meta.wikimedia.org/w/api.php", 77, "Something else")
    assert store.state().last_revid is None


def test_events_are_announced_once(store):
    with store.transaction() as s:
        s.add_all([EventRow(kind="vote", applicant=f"A{i}", detail={"vote": "support"}) for i in range(3)])
    first = store.unannounced()
    assert [e.applicant for e in first] == ["A0", "A1", "A2"]
    store.mark_announced([first[0].id, first[1].id])
    assert [e.applicant for e in store.unannounced()] == ["A2"]


def test_poller_and_command_threads_at_once(store):
    """One thread tracks 40 revisions while four others read and record:
    nothing fails, nothing is lost."""
    page = Page([App(f"Applicant {i}", at(-100 + i)) for i in range(10)])
    tracker = Tracker(store)
    tracker.process(Rev(1, at(0), "Seeder", page.text()))
    errors: list[BaseException] = []
    stop = threading.Event()

    def poller():
        try:
            for n in range(40):
                page.apps[n % 10].lines.append(f"*{{{{support}}}} Vote {n}. {sig(f'Voter {n}', at(n + 1))}")
                tracker.process(Rev(2 + n, at(n + 1), f"Voter {n}", page.text()))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            stop.set()

    def commands(k: int):
        try:
            while not stop.is_set():
                store.find_application(f"Applicant {k}")
                store.applications(statuses=("open",), limit=15)
                store.add_record(f"Applicant {k}", "note", "checked", f"Admin {k}")
                store.mark_announced([e.id for e in store.unannounced()[:2]])
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=poller)] + [threading.Thread(target=commands, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(store.events()) == 40
    assert store.state().last_revid == 41
    assert sum(r.support_count for r in store.applications()) == 40


# -- outages ---------------------------------------------------------------------

class LongApp(App):
    """An application with a statement of a few kilobytes."""

    def text(self) -> str:
        return super().text().replace("would like to help.", "would like to help. " + "I like to help. " * 250)


def revisions(count: int) -> list[Rev]:
    """A page's history with something to announce in every revision after
    the first: new applications (long statements, so the database grows),
    votes, questions, replies, decisions."""
    page = Page([App(f"Applicant {i}", at(-100 + i)) for i in range(3)])
    revs = [Rev(1, at(0), "Seeder", page.text())]
    for n in range(1, count):
        minute = 10 * n
        kind = n % 5
        if kind == 1:
            page.apps.append(LongApp(f"Newcomer {n}", at(minute)))
        elif kind == 2:
            page.apps[n % len(page.apps)].lines.append(
                f"*{{{{support}}}} Yes. {sig(f'Voter {n}', at(minute))}")
        elif kind == 3:
            page.apps[n % len(page.apps)].lines.append(
                f"*{{{{q}}}} Which queue first? {sig(f'Asker {n}', at(minute))}")
        elif kind == 4:
            app = page.apps[(n - 1) % len(page.apps)]
            app.lines.append(f"**The permissions one. {sig(app.name, at(minute))}")
        else:
            page.apps[n % len(page.apps)].lines.append(
                f":{{{{done}}}} Welcome. {sig('VRT Admin', at(minute))}")
        revs.append(Rev(n + 1, at(minute), f"Editor {n}", page.text()))
    return revs


def what(events) -> list[tuple]:
    return [(e.kind, e.applicant, e.actor, e.revid, e.detail.to_json().get("vote") or e.detail.to_json().get("status"))
            for e in events]


def reference(revs: list[Rev], tmp_path) -> list[tuple]:
    """The events of an uninterrupted run, to compare an interrupted one with."""
    store = Store(f"sqlite:///{tmp_path}/reference.sqlite3")
    try:
        tracker = Tracker(store)
        for rev in revs:
            tracker.process(rev)
        found = what(store.events())
        assert len(found) >= len(revs) - 1  # every revision after the first has an event
        return found
    finally:
        store.close()


class Bot:
    """What the bot does with the store on each poll: process every revision
    after the last one stored, then announce what is unannounced and mark
    it. A failed mark is kept and retried (never re-sent): the receipts
    rule of issue 10."""

    def __init__(self, store: Store, revs: list[Rev]):
        self.store, self.revs = store, revs
        self.tracker = Tracker(store)
        self.sent: list = []
        self.unmarked: list[int] = []

    def poll(self) -> None:
        if self.unmarked:
            self.store.mark_announced(self.unmarked)
            self.unmarked = []
        last = self.store.state().last_revid or 0
        for rev in self.revs:
            if rev.revid > last:
                self.tracker.process(rev)
        for event in self.store.unannounced():
            if event.id in self.unmarked:
                continue
            self.sent.append(event)
            self.unmarked.append(event.id)
        self.store.mark_announced(self.unmarked)
        self.unmarked = []


def test_postgres_stopped_and_started_during_revisions(tmp_path):
    """PostgreSQL goes away twice (a fast shutdown between polls, a crash in
    the middle of a commit): every call says StoreUnavailable meanwhile,
    the store reconnects by itself, nothing is lost or repeated."""
    from realservers import PostgresServer, create_database, require
    from sqlalchemy import event

    require("PostgreSQL", PostgresServer.available(), "apt-get install postgresql")
    revs = revisions(16)
    expected = reference(revs, tmp_path)
    # durable commits: the crash below must lose only what was not committed
    with PostgresServer(settings={"synchronous_commit": "on"}) as server:
        store = Store(create_database(server.url, "outage"))
        try:
            bot = Bot(store, revs[:5])
            bot.poll()
            # announced, but the receipt cannot be written: the server stops
            # between sending and marking
            bot.revs = revs[:8]
            bot.tracker.process(revs[5])
            pending = store.unannounced()
            assert pending
            server.pause()
            bot.sent += pending
            bot.unmarked = [e.id for e in pending]
            for call in (bot.poll, store.state, store.unannounced, store.applications,
                         lambda: store.find_application("Applicant 1"),
                         lambda: store.add_record("Applicant 1", "note", "x", "Admin"),
                         lambda: bot.tracker.process(revs[6])):
                with pytest.raises(StoreUnavailable):
                    call()
            server.resume()
            bot.poll()
            assert store.state().last_revid == 8

            # the server dies while a revision's commit is on its way
            bot.revs = revs
            crash_at = revs[10].revid

            def crash(session):
                if any(isinstance(o, PageState) and o.last_revid == crash_at
                       for o in session.identity_map.values()):
                    server.pause(signal.SIGKILL)

            event.listen(store._sessions, "before_commit", crash)
            with pytest.raises(StoreUnavailable):
                bot.poll()
            event.remove(store._sessions, "before_commit", crash)
            server.resume()
            # all or nothing: the revision and its events are not there
            assert store.state().last_revid == crash_at - 1
            assert [e for e in store.events() if e.revid == crash_at] == []
            bot.poll()

            assert what(bot.sent) == expected, "each event announced once, in order"
            assert what(store.events()) == expected
            assert store.unannounced() == []
            assert store.state().last_revid == revs[-1].revid
            assert store.find_application("Applicant 1").support_count == sum(
                1 for e in expected if e[0] == "vote" and e[1] == "Applicant 1")
        finally:
            store.close()


def test_sqlite_full_writes_nothing_and_recovers(tmp_path):
    """A full disk (PRAGMA max_page_count: SQLITE_FULL) fails a revision
    whole; reads still work; once there is room the same revisions go on."""
    from sqlalchemy import event

    revs = revisions(16)
    expected = reference(revs, tmp_path)
    store = Store(f"sqlite:///{tmp_path}/full.sqlite3")
    room = {"pages": 0}

    def limit(dbapi_conn, _record):
        if room["pages"]:
            dbapi_conn.execute(f"PRAGMA max_page_count={room['pages']}")

    event.listen(store.engine, "connect", limit)
    try:
        bot = Bot(store, revs[:3])
        bot.poll()
        with store.reading() as s:
            room["pages"] = s.connection().exec_driver_sql("PRAGMA page_count").scalar() + 1
        store.engine.dispose()
        bot.revs = revs
        with pytest.raises(StoreUnavailable, match="full"):
            bot.poll()
        last = store.state().last_revid
        assert 3 <= last < revs[-1].revid
        assert {e.revid for e in store.events()} <= set(range(1, last + 1)), "no half-written revision"
        assert len(store.events()) == sum(1 for e in expected if e[3] <= last)
        with pytest.raises(StoreUnavailable):
            store.add_record("Applicant 1", "note", "x" * 20000, "Admin")
        assert store.records("Applicant 1") == []
        room["pages"] = 0  # space freed
        store.engine.dispose()
        bot.poll()
        assert what(bot.sent) == expected
        assert store.unannounced() == []
    finally:
        store.close()


def test_a_store_started_while_the_database_is_away_recovers(tmp_path):
    """The bot may start before its database: the store comes up, says
    StoreUnavailable, and makes its tables once the server is there."""
    from realservers import PostgresServer, create_database, require

    require("PostgreSQL", PostgresServer.available(), "apt-get install postgresql")
    with PostgresServer() as server:
        url = create_database(server.url, "late")
        server.pause()
        store = Store(url)
        try:
            with pytest.raises(StoreUnavailable, match="refused"):
                store.ping()
            with pytest.raises(StoreUnavailable):
                store.add_record("Bob", "note", "x", "Admin")
            server.resume()
            store.ping()
            store.add_record("Bob", "note", "x", "Admin")
            assert [r.value for r in store.records("bob")] == ["x"]
        finally:
            store.close()


def test_a_wrong_query_is_not_an_outage(store):
    """Only outages become StoreUnavailable: a bug still shows as itself."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with store.transaction() as s:
            s.add_all([EventRow(id=7, kind="vote", applicant="A"), EventRow(id=7, kind="vote", applicant="B")])
    assert store.events() == []

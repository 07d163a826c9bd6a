"""The store on SQLite and on a real PostgreSQL and MariaDB: what it keeps, and that the
poller and command threads can use it at the same time."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from OTRSHelp.store import ApplicationRow, EventRow, Store
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

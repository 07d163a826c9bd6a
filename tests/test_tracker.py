"""The tracker over a sequence of revisions, on SQLite and on a real
PostgreSQL and MariaDB.

Each step is an edit a person makes on the page; the assertions are the
announcements the channel would see (or not see).
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from OTRSHelp.store import Store
from OTRSHelp.tracker import Tracker
from pagebuilder import App, Page, Rev, at, sig, stamp


SERVER_URL = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/otrshelp.sqlite3"
    from realservers import create_database

    base = request.getfixturevalue(SERVER_URL[request.param])
    return create_database(base, "t" + uuid.uuid4().hex[:12])


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


class Wiki:
    """The page's history: each save is a new revision with its editor."""

    def __init__(self, page: Page):
        self.page = page
        self.revid = 100
        self.minutes = 0

    def save(self, user: str, text: str | None = None, minutes: int | None = None) -> Rev:
        self.revid += 1
        self.minutes = minutes if minutes is not None else self.minutes + 7
        return Rev(self.revid, at(self.minutes), user, text if text is not None else self.page.text())


def kinds(result) -> list[tuple]:
    return [(e.kind, e.applicant, e.actor, _side(e.detail.to_json()))
            for e in result.events]


def _side(stored: dict) -> str | None:
    """The vote or the status an event carries, as the database stores it."""
    return stored.get("vote") or stored.get("status")


def three_open() -> Page:
    return Page([App("Alice Example", at(-300)), App("Bob", at(-200), queues="permissions-commons"),
                 App("Carol", at(-100), queues="info-de, info-nl", languages="German, Dutch")])


def test_first_revision_is_read_silently(store):
    wiki = Wiki(three_open())
    result = Tracker(store).process(wiki.save("Alice Example"))
    assert result.seeded and result.events == []
    assert [a.applicant for a in store.applications()] == ["Alice Example", "Bob", "Carol"]


def test_revision_sequence(store):
    """New application, votes, a question and its answer, a closure,
    a blanking and its revert, an archive: each announced once, in order."""
    page = three_open()
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Alice Example"))

    page.apps.append(App("Dave", at(10), queues="info-en, permissions-commons"))
    r = tracker.process(wiki.save("Dave", minutes=10))
    assert kinds(r) == [("opened", "Dave", "Dave", None)]
    assert r.events[0].detail.queues == ("info-en", "permissions-commons")

    dave = page.app("Dave")
    dave.lines += [f"*{{{{Support}}}} Good help desk work. {sig('Supporter One', at(20))}",
                   f"*{{{{o}}}} Too new. {sig('Opposer', at(21))}"]
    r = tracker.process(wiki.save("Opposer", minutes=21))
    assert kinds(r) == [("vote", "Dave", "Supporter One", "support"), ("vote", "Dave", "Opposer", "oppose")]

    dave.lines.append(f"*{{{{q}}}} How many hours a week can you give? {sig('Asker', at(30))}")
    r = tracker.process(wiki.save("Asker", minutes=30))
    assert kinds(r) == [("question", "Dave", "Asker", None)]

    dave.lines.append(f"**About five hours. {sig('Dave', at(40))}")
    r = tracker.process(wiki.save("Dave", minutes=40))
    assert kinds(r) == [("reply", "Dave", "Dave", None)]

    dave.lines.append(f":{{{{done}}}} Welcome! {sig('VRT Admin', at(50))}")
    r = tracker.process(wiki.save("VRT Admin", minutes=50))
    assert kinds(r) == [("status", "Dave", "VRT Admin", "approved")]
    assert r.events[0].detail.previous == "open"

    # the same revision again: nothing
    again = Rev(wiki.revid, at(50), "VRT Admin", page.text())
    assert tracker.process(again).skipped

    # blanking: held, nothing announced
    before_blank = page.text()
    r = tracker.process(wiki.save("Vandal", text="lol", minutes=55))
    assert r.events == [] and set(r.held) == {"Alice Example", "Bob", "Carol", "Dave"}
    # ... and its revert gives nothing either
    r = tracker.process(wiki.save("Patroller", text=before_blank, minutes=56))
    assert r.events == [] and not r.held
    assert len(store.applications()) == 4

    # archiving the closed application (a routine removal) is announced
    page.apps.remove(dave)
    r = tracker.process(wiki.save("VRT Admin", minutes=70))
    assert kinds(r) == [("archived", "Dave", "VRT Admin", "approved")]
    assert [a.applicant for a in store.applications()] == ["Alice Example", "Bob", "Carol"]

    # every event is in the log exactly once
    assert [e.kind for e in store.events("Dave")] == [
        "opened", "vote", "vote", "question", "reply", "status", "archived"]


def test_edits_moves_and_renames_give_nothing(store):
    page = three_open()
    page.app("Bob").lines.append(f"*{{{{support}}}} Yes. {sig('Supporter One', at(5))}")
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Bob"))
    # the supporter rewrites their comment, keeping the signature
    page.app("Bob").lines[-1] = f"*{{{{support}}}} Yes, clearly; see their OTRS-pending work. {sig('Supporter One', at(5))}"
    assert tracker.process(wiki.save("Supporter One")).events == []
    # a section moved to the top and a heading with different case/underscores
    page.apps.insert(0, page.apps.pop())
    page.app("Alice Example").heading = "alice_Example"
    assert tracker.process(wiki.save("Tidy")).events == []
    assert store.find_application("Alice Example").anchor == "alice_Example"
    # a heading renamed entirely: same opening signature, same application
    page.app("Bob").heading = "Bob (second request)"
    assert tracker.process(wiki.save("Tidy")).events == []
    # one vote is still one vote
    row = store.find_application("Bob")
    assert [(c.signer, c.kind) for c in row.comments] == [("Supporter One", "support")]


def test_unsigned_addition_is_credited_to_the_editor_once(store):
    page = three_open()
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Alice Example"))
    page.app("Carol").lines.append("*{{support}} knows both languages well")
    r = tracker.process(wiki.save("Forgetful", minutes=30))
    assert kinds(r) == [("vote", "Carol", "Forgetful", "support")]
    assert r.events[0].time == at(30)
    # a bot adds {{unsigned}} afterwards: the same comment, nothing new
    page.app("Carol").lines[-1] = "*{{support}} knows both languages well {{unsigned|Forgetful|" + stamp(at(30)) + "}}"
    assert tracker.process(wiki.save("SignBot", minutes=31)).events == []
    # and an unrelated later edit does not re-credit it
    page.app("Alice Example").lines.append(f"*{{{{c}}}} Ping me. {sig('Other', at(40))}")
    assert kinds(tracker.process(wiki.save("Other", minutes=40))) == [("comment", "Alice Example", "Other", None)]
    assert store.find_application("Carol").comments[0].signer == "Forgetful"


def test_held_removal_is_archived_once_it_lasts(store):
    page = three_open()
    wiki = Wiki(page)
    tracker = Tracker(store, hold_seconds=3600)
    tracker.process(wiki.save("Alice Example"))
    r = tracker.process(wiki.save("Mass Archiver", text="== Applications ==\n", minutes=10))
    assert r.events == [] and r.held
    assert tracker.release_holds(now=at(30)) == []  # not yet
    later = tracker.release_holds(now=at(10) + timedelta(hours=2))
    assert sorted(e.applicant for e in later) == ["Alice Example", "Bob", "Carol"]
    assert {e.kind for e in later} == {"archived"}
    assert tracker.release_holds(now=at(10) + timedelta(hours=3)) == []
    assert store.applications() == []


def test_status_changes_and_reopening(store):
    page = three_open()
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Alice Example"))
    bob = page.app("Bob")
    bob.lines.append(f":{{{{on hold}}}} Waiting for the email. {sig('VRT Admin', at(10))}")
    assert kinds(tracker.process(wiki.save("VRT Admin", minutes=10))) == [("status", "Bob", "VRT Admin", "on hold")]
    bob.lines.append(f":{{{{not done}}}} No email received. {sig('VRT Admin', at(20))}")
    assert kinds(tracker.process(wiki.save("VRT Admin", minutes=20))) == [("status", "Bob", "VRT Admin", "declined")]
    bob.lines.append(f":{{{{reopened}}}} Email arrived after all. {sig('Other Admin', at(30))}")
    assert kinds(tracker.process(wiki.save("Other Admin", minutes=30))) == [("status", "Bob", "Other Admin", "open")]
    carol = page.app("Carol")
    carol.lines.append(f":{{{{withdrawn}}}} Not now, sorry. {sig('Carol', at(40))}")
    assert kinds(tracker.process(wiki.save("Carol", minutes=40))) == [("status", "Carol", "Carol", "withdrawn")]


def test_restart_continues_without_repeating(db_url):
    page = three_open()
    wiki = Wiki(page)
    first = Store(db_url)
    Tracker(first).process(wiki.save("Alice Example"))
    page.app("Bob").lines.append(f"*{{{{s}}}} Sure. {sig('Supporter One', at(10))}")
    rev = wiki.save("Supporter One", minutes=10)
    assert len(Tracker(first).process(rev).events) == 1
    first.close()
    # a new process opens the same database and is handed the same revision again
    second = Store(db_url)
    assert Tracker(second).process(rev).skipped
    assert [e.kind for e in second.unannounced()] == ["vote"]
    second.mark_announced([e.id for e in second.unannounced()])
    assert second.unannounced() == []
    page.app("Bob").lines.append(f"*{{{{o}}}} No. {sig('Opposer', at(20))}")
    assert kinds(Tracker(second).process(wiki.save("Opposer", minutes=20))) == [("vote", "Bob", "Opposer", "oppose")]
    second.close()


def test_reapplication_after_archive_is_a_new_application(store):
    page = three_open()
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Alice Example"))
    page.apps = [a for a in page.apps if a.name != "Bob"]
    assert kinds(tracker.process(wiki.save("VRT Admin"))) == [("archived", "Bob", "VRT Admin", "open")]
    page.apps.append(App("Bob", at(600)))
    assert kinds(tracker.process(wiki.save("Bob", minutes=600))) == [("opened", "Bob", "Bob", None)]
    assert store.find_application("bob").opened == at(600)


def closed_app(name: str, minutes: int, mark: str = "{{not done}}") -> App:
    app = App(name, at(minutes))
    app.lines.append(f":{mark} Decided. {sig('VRT Admin', at(minutes + 1))}")
    return app


def realistic_page(open_count: int) -> Page:
    """A page as it usually is: a few open applications below processed ones
    not yet archived (today's page has 2 open, 4 closed)."""
    marks = ["{{not done}}", "{{done}}", "{{withdrawn}}", "{{not done}}"]
    closed = [closed_app(f"Closed {i}", -900 + 10 * i, marks[i % 4]) for i in range(4)]
    return Page(closed + [App(f"Open {i}", at(-300 + i)) for i in range(open_count)])


@pytest.mark.parametrize("open_count", [0, 1, 2, 4])
def test_blanking_and_revert_announce_nothing_closed_sections_included(store, open_count):
    """Issue 10: a blanked page held only the open applications; the closed
    ones came out as "…'s application (declined) was archived by Vandal"."""
    page = realistic_page(open_count)
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Seeder"))
    before = page.text()
    everyone = {a.name for a in page.apps}

    r = tracker.process(wiki.save("Vandal", text="lol", minutes=60))
    assert r.events == [] and set(r.held) == everyone
    r = tracker.process(wiki.save("Patroller", text=before, minutes=62))
    assert r.events == [] and not r.held
    assert {a.applicant for a in store.applications()} == everyone
    assert [e.kind for e in store.events()] == []
    # the page goes on normally after the revert
    page.app("Closed 0").lines.append(f"*{{{{c}}}} Thanks anyway. {sig('Other', at(70))}")
    assert kinds(tracker.process(wiki.save("Other", minutes=70))) == [("comment", "Closed 0", "Other", None)]


def test_vandal_who_rewrites_what_is_left_is_held_as_a_whole(store):
    """Removing most open sections while changing the rest (or adding a
    signed fake application) in the same edit: nothing of that edit is
    announced, and its revert says nothing either."""
    page = realistic_page(3)
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Seeder"))
    before = page.text()
    vandal = Page([page.app("Closed 1"), App("Fake Applicant", at(50))])
    vandal.apps[0] = closed_app("Closed 1", -890, "{{done}}")
    vandal.apps[0].lines.append(f"*{{{{oppose}}}} lol. {sig('Vandal', at(60))}")
    r = tracker.process(wiki.save("Vandal", text=vandal.text(), minutes=60))
    assert r.events == [] and "Open 0" in r.held and "Closed 0" in r.held
    r = tracker.process(wiki.save("Patroller", text=before, minutes=61))
    assert r.events == [] and not r.held
    assert store.events() == []
    assert store.find_application("Fake Applicant") is None


def test_archiving_processed_sections_alone_is_announced_at_once(store):
    page = realistic_page(2)
    wiki = Wiki(page)
    tracker = Tracker(store)
    tracker.process(wiki.save("Seeder"))
    page.apps = [a for a in page.apps if a.name.startswith("Open")]
    r = tracker.process(wiki.save("VRT Admin", minutes=60))
    assert not r.held
    assert sorted(kinds(r)) == [("archived", "Closed 0", "VRT Admin", "declined"),
                                ("archived", "Closed 1", "VRT Admin", "approved"),
                                ("archived", "Closed 2", "VRT Admin", "withdrawn"),
                                ("archived", "Closed 3", "VRT Admin", "declined")]
    assert [a.applicant for a in store.applications()] == ["Open 0", "Open 1"]


def test_edits_during_a_hold_are_announced_and_the_held_removal_later(store):
    """A real mass removal: later edits on what is left are read normally,
    and the removed sections are archived once the hold has lasted."""
    page = realistic_page(4)
    wiki = Wiki(page)
    tracker = Tracker(store, hold_seconds=3600)
    tracker.process(wiki.save("Seeder"))
    page.apps = [page.app("Open 3")]
    r = tracker.process(wiki.save("Mass Archiver", minutes=10))
    assert r.events == [] and len(r.held) == 7
    page.app("Open 3").lines.append(f"*{{{{s}}}} Yes. {sig('Supporter One', at(20))}")
    r = tracker.process(wiki.save("Supporter One", minutes=20))
    assert kinds(r) == [("vote", "Open 3", "Supporter One", "support")] and len(r.held) == 7
    page.apps.append(App("Newcomer", at(30)))
    assert kinds(tracker.process(wiki.save("Newcomer", minutes=30))) == [("opened", "Newcomer", "Newcomer", None)]
    later = tracker.release_holds(now=at(10) + timedelta(hours=2))
    assert sorted(e.applicant for e in later) == sorted(
        [f"Closed {i}" for i in range(4)] + [f"Open {i}" for i in range(3)])
    assert {e.kind for e in later} == {"archived"}
    assert [a.applicant for a in store.applications()] == ["Open 3", "Newcomer"]


def test_blanking_after_a_lasting_mass_archive_is_held_all_the_same(store):
    """A real mass archive still held when its time is up (no idle poll
    came), then a vandal blanks the page: the old removal is archived, the
    blanking is held, and its revert says nothing."""
    page = realistic_page(4)
    wiki = Wiki(page)
    tracker = Tracker(store, hold_seconds=3600)
    tracker.process(wiki.save("Seeder"))
    page.apps = [a for a in page.apps if a.name in ("Open 3", "Closed 3")]
    assert tracker.process(wiki.save("Mass Archiver", minutes=30)).held
    for i in range(3):
        page.apps.append(App(f"Later {i}", at(40 + i)))
        assert kinds(tracker.process(wiki.save(f"Later {i}", minutes=40 + i))) == [
            ("opened", f"Later {i}", f"Later {i}", None)]
    before = page.text()
    r = tracker.process(wiki.save("Vandal", text="", minutes=200))
    assert sorted(e.applicant for e in r.events) == sorted(
        [f"Closed {i}" for i in range(3)] + [f"Open {i}" for i in range(3)])
    assert {e.kind for e in r.events} == {"archived"}
    assert set(r.held) == {"Open 3", "Closed 3", "Later 0", "Later 1", "Later 2"}
    r = tracker.process(wiki.save("Patroller", text=before, minutes=201))
    assert r.events == [] and not r.held

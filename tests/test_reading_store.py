"""What admins read after a sequence of real edits, through the tracker and
a real store (SQLite, PostgreSQL, MariaDB): open questions after the
applicant's reply and the approval, who acted last when two people signed
in the same minute, and a name pasted from an announcement."""
from __future__ import annotations

import uuid

import pytest

from OTRSHelp.admin import public_line, status_lines
from OTRSHelp.announce import Links
from OTRSHelp.store import Store
from OTRSHelp.tracker import Tracker
from pagebuilder import App, Page, Rev, at, sig

SERVER_URL = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}
LINKS = Links("http://wiki.test/wiki/$1", "http://wiki.test/w/index.php", "VRT/Volunteering")
DAVE = "Dave Newcomer"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/otrshelp.sqlite3"
    else:
        from realservers import create_database

        url = create_database(request.getfixturevalue(SERVER_URL[request.param]),
                              "t" + uuid.uuid4().hex[:12])
    s = Store(url)
    yield s
    s.close()


class Wiki:
    def __init__(self) -> None:
        self.page = Page([App(DAVE, at(0))])
        self.revid = 100

    @property
    def dave(self) -> App:
        return self.page.app(DAVE)

    def save(self, user: str, minutes: int) -> Rev:
        self.revid += 1
        return Rev(self.revid, at(minutes), user, self.page.text())


def admin_view(store: Store) -> tuple[str, str]:
    row = store.find_application(DAVE)
    now = at(60 * 24)
    return public_line(row, LINKS, now), status_lines(row, [], None, LINKS, now)[0]


def test_status_after_the_reply_and_the_approval_shows_no_open_question(store):
    wiki, tracker = Wiki(), Tracker(store)
    tracker.process(wiki.save(DAVE, 0))
    wiki.dave.lines.append(f"*{{{{q}}}} How many hours a week can you give? {sig('Asker', at(10))}")
    tracker.process(wiki.save("Asker", 10))
    public, status = admin_view(store)
    assert "1 open question(s)" in public and "1 open question(s), last by A\u200bsker" in status

    wiki.dave.lines.append(f"*:About five hours. {sig(DAVE, at(10))}")  # same minute as the question
    tracker.process(wiki.save(DAVE, 10))
    public, status = admin_view(store)
    assert "0 open question(s)" in public and "no open question" in status

    wiki.dave.lines.append(f"*{{{{done}}}} Welcome aboard. {sig('VRT Admin', at(40))}")
    tracker.process(wiki.save("VRT Admin", 40))
    public, status = admin_view(store)
    assert public.startswith("D\u200bave Newcomer: approved")
    assert "0 open question(s)" in public and "no open question" in status


def test_approval_leaves_no_question_open_even_unanswered(store):
    wiki, tracker = Wiki(), Tracker(store)
    tracker.process(wiki.save(DAVE, 0))
    wiki.dave.lines.append(f"*{{{{q}}}} Which queues exactly? {sig('Asker', at(10))}")
    tracker.process(wiki.save("Asker", 10))
    assert store.find_application(DAVE).open_questions == 1
    wiki.dave.lines.append(f"*{{{{done}}}} {sig('VRT Admin', at(20))}")
    tracker.process(wiki.save("VRT Admin", 20))
    row = store.find_application(DAVE)
    assert (row.status, row.open_questions) == ("approved", 0)
    assert "no open question" in admin_view(store)[1]


def test_last_activity_in_the_same_minute_is_whoever_saved_last(store):
    wiki, tracker = Wiki(), Tracker(store)
    tracker.process(wiki.save(DAVE, 0))
    wiki.dave.lines.append(f"*{{{{support}}}} yes {sig('Alice', at(30))}")
    tracker.process(wiki.save("Alice", 30))
    # Bob saves second, in the same minute, and puts his vote above Alice's
    wiki.dave.lines.insert(0, f"*{{{{support}}}} me too {sig('Bob', at(30))}")
    tracker.process(wiki.save("Bob", 30))
    row = store.find_application(DAVE)
    assert (row.last_activity, row.last_by) == (at(30), "Bob")
    assert "last activity B\u200bob" in admin_view(store)[1]


def test_a_name_pasted_from_an_announcement_finds_the_application(store):
    wiki, tracker = Wiki(), Tracker(store)
    tracker.process(wiki.save(DAVE, 0))
    row = store.find_application("D\u200bave Newcomer")
    assert row is not None and row.applicant == DAVE

"""The poll against a real MediaWiki: the cheap change check, catching up
revision by revision, and a poll that dies half-way."""
from __future__ import annotations

import uuid

from OTRSHelp.store import Store
from OTRSHelp.tracker import Tracker
from OTRSHelp.watcher import Watcher
from OTRSHelp.wikiclient import WikiClient
from botprocess import FaultyProxy
from pagebuilder import App, Page, at, sig


def make_watcher(api_url, title, db_url):
    store = Store(db_url)
    client = WikiClient(api_url, contact="tests@example.org", max_retries=1, backoff=0.01,
                        sleep=lambda s: None)
    return store, client, Watcher(client, Tracker(store), store, title, api_url)


def test_catch_up_after_a_poll_that_died_half_way(mediawiki, tmp_path):
    title = f"Volunteer Response Team/Volunteering {uuid.uuid4().hex[:6]}"
    page = Page([App("Alice Example", at(0))])
    mediawiki.edit(title, page.text(), "Page Creator")
    db = f"sqlite:///{tmp_path}/w.sqlite3"
    proxy = FaultyProxy(mediawiki.url)
    try:
        store, client, watcher = make_watcher(proxy.api_url, title, db)
        first = watcher.poll()
        assert first.error is None and first.events == []  # read silently
        # 30 votes while the bot was away
        for n in range(30):
            page.app("Alice Example").lines.append(f"*{{{{support}}}} Vote {n}. {sig(f'Voter {n}', at(n + 1))}")
            mediawiki.edit(title, page.text(), f"Voter {n}")
        # the wiki fails after the change check, the history listing and
        # three revisions' diffs
        proxy.fail_after = 5
        broken = watcher.poll()
        assert broken.error and "500" in broken.error
        done = broken.revisions  # the revisions read are committed
        assert done == 3 and len(broken.events) == done
        store.close()
        # a new process, the wiki back: the rest, once, in order
        proxy.fail_after, proxy.mode = None, "ok"
        store, client, watcher = make_watcher(proxy.api_url, title, db)
        rest = watcher.poll()
        assert rest.error is None and rest.revisions == 30 - done
        actors = [e.actor for e in store.events()]
        assert actors == [f"Voter {n}" for n in range(30)]
        # idle: one request, nothing new
        before = client.stats.requests
        assert watcher.poll().events == [] and client.stats.requests - before == 1
        store.close()
    finally:
        proxy.close()


def test_page_followed_by_id_through_a_rename(mediawiki, tmp_path):
    tag = uuid.uuid4().hex[:6]
    old, new = f"OTRS/Volunteering {tag}", f"Volunteer Response Team/Volunteering {tag}"
    page = Page([App("Bob", at(0))])
    mediawiki.edit(old, page.text(), "Page Creator")
    store, client, watcher = make_watcher(mediawiki.api_url, old, f"sqlite:///{tmp_path}/r.sqlite3")
    watcher.poll()
    pageid = store.state().page_id
    mediawiki.move(old, new, "Page Mover")
    page.app("Bob").lines.append(f"*{{{{oppose}}}} Hmm. {sig('Opposer', at(5))}")
    mediawiki.edit(new, page.text(), "Opposer")
    result = watcher.poll()
    assert [(e.kind, e.actor) for e in result.events] == [("vote", "Opposer")]
    assert store.state().page_id == pageid and result.page.title == new
    store.close()


def test_checkpoint_empties_sqlites_write_ahead_log(tmp_path):
    """On a long run the -wal file would keep its largest size; the
    watcher checkpoints every 20 revisions and the file is empty again."""
    from datetime import datetime, timezone
    from pathlib import Path
    from OTRSHelp.store import EventRow

    store = Store(f"sqlite:///{tmp_path}/wal.sqlite3")
    wal = Path(f"{tmp_path}/wal.sqlite3-wal")
    for n in range(200):
        with store.transaction() as s:
            s.add(EventRow(kind="comment", applicant=f"A{n}", actor="B", revid=n, anchor="x" * 500,
                           time=datetime.now(timezone.utc), detail={"excerpt": "y" * 500}))
    assert wal.stat().st_size > 100_000
    store.checkpoint()
    assert wal.stat().st_size == 0
    assert store.count(EventRow) == 200
    store.close()


def test_only_the_last_revision_text_is_kept(mediawiki, tmp_path):
    """The text kept for rebuilding is one revision's, however many are read."""
    title = f"Volunteer Response Team/Volunteering {uuid.uuid4().hex[:6]}"
    page = Page([App("Alice Example", at(0))])
    mediawiki.edit(title, page.text(), "Page Creator")
    store, client, watcher = make_watcher(mediawiki.api_url, title, f"sqlite:///{tmp_path}/t.sqlite3")
    watcher.poll()
    for n in range(3):
        page.app("Alice Example").lines.append(f"*{{{{support}}}} V{n}. {sig(f'Voter {n}', at(n + 1))}")
        last = mediawiki.edit(title, page.text(), f"Voter {n}")
    result = watcher.poll()
    assert result.revisions == 3
    assert watcher.texts.last_revid == last and watcher.texts.last_text == page.text().rstrip()
    assert watcher.texts.stats.rebuilt == 3 and watcher.texts.stats.whole == 0
    store.close()

"""End to end: what admins and channel members are told after the applicant
answered and the application was approved, on a real MediaWiki through
InspIRCd + Anope (the world of ``test_e2e_admin``): no question left open,
and a name pasted from an announcement, zero-width space and all, works."""
from __future__ import annotations

from botprocess import now_min, wait_until
from pagebuilder import sig
from realservers import IrcPerson
from test_e2e_admin import said, world_with_accounts  # noqa: F401  (the fixture)

ZW = "\u200b"


def page_text(mediawiki, title: str) -> str:
    data = mediawiki.api(action="query", prop="revisions", titles=title, rvprop="content",
                         rvslots="main", formatversion="2")
    return data["query"]["pages"][0]["revisions"][0]["slots"]["main"]["content"]


def test_after_the_reply_and_the_approval_no_question_is_open(world_with_accounts, mediawiki):  # noqa: F811
    w = world_with_accounts
    applicant, tag = w["applicant"], w["tag"]
    title = f"Volunteer Response Team/Volunteering {tag}"
    watcher = w["watcher"]

    mark = len(watcher.messages)
    text = page_text(mediawiki, title).rstrip("\n")
    text += f"\n*:info-en only, for now. {sig(applicant, now_min())}\n"
    mediawiki.edit(title, text, applicant, "answer")
    wait_until(lambda: any("replied on their application" in t
                           for _, t in said(watcher, w["nick"], mark, w["channel"])),
               30, "the reply announced", w["bot"].log)

    closer = f"VRT Admin {tag}"
    mediawiki.create_user(closer)
    text += f"*{{{{done}}}} Welcome aboard. {sig(closer, now_min())}\n"
    mediawiki.edit(title, text, closer, "approved")
    wait_until(lambda: any("is now approved" in t for _, t in said(watcher, w["nick"], mark, w["channel"])),
               30, "the approval announced", w["bot"].log)

    # a member pastes the name from the announcement, zero-width space included
    mark = len(watcher.messages)
    watcher.say(w["channel"], f"!application {applicant[0]}{ZW}{applicant[1:]}")
    wait_until(lambda: any(applicant[1:] in t for _, t in said(watcher, w["nick"], mark, w["channel"])),
               20, "the application line", w["bot"].log)
    line = next(t for _, t in said(watcher, w["nick"], mark, w["channel"]) if applicant[1:] in t)
    assert f"{applicant[0]}{ZW}{applicant[1:]}: approved" in line  # after "<asker>: "
    assert "0 open question(s)" in line and "I know no application" not in line

    account, password = w["admin"]
    admin = IrcPerson("127.0.0.1", w["ircd"].port, account, sasl=(account, password))
    try:
        admin.join(w["channel"])
        mark = len(admin.messages)
        admin.say(w["nick"], f"status {applicant}")
        wait_until(lambda: len(said(admin, w["nick"], mark, account)) >= 3, 20, "status", w["bot"].log)
        first = said(admin, w["nick"], mark, account)[0][1]
        assert "approved" in first and "no open question" in first
        assert f"last activity {closer[0]}{ZW}{closer[1:]}" in first
    finally:
        admin.close()

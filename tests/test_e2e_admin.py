"""End to end with accounts: InspIRCd + Anope, the bot logged in with SASL,
a VRTS admin logged in with SASL, and someone who only borrows the admin's
nick. The page is on a real MediaWiki; the applicant's profile comes from
its real API."""
from __future__ import annotations

import os
import secrets
import signal
import stat
import time
import uuid

import pytest

from botprocess import BotProcess, stored_revid, wait_until
from pagebuilder import App, Page, days_ago, sig
from realservers import IrcPerson

ZW = "\u200b"


@pytest.fixture
def world_with_accounts(mediawiki, ircd_services, tmp_path):
    tag = uuid.uuid4().hex[:5]
    bot_account, bot_password = f"otrsbot{tag}", secrets.token_hex(12)
    admin_account, admin_password = f"vrtadmin{tag}", secrets.token_hex(12)
    ircd_services.register_account(bot_account, bot_password)
    ircd_services.register_account(admin_account, admin_password)
    title = f"Volunteer Response Team/Volunteering {tag}"
    bob = App(f"Bob {tag}", days_ago(12.5), queues="info-en", languages="English, Dutch")
    bob.lines += [f"*{{{{support}}}} Yes. {sig('Supporter One', days_ago(11))}",
                  f"*{{{{q}}}} Which queues exactly? {sig('Asker', days_ago(10))}"]
    mediawiki.create_user(bob.name)
    revid = mediawiki.edit(title, Page([bob]).text(), bob.name, "application")
    channel = f"#vrt-{tag}"
    nick = f"OTRSHelp{tag[:3]}"
    home = tmp_path / "var"
    bot = BotProcess({
        "OTRSHELP_NICK": nick,
        "OTRSHELP_IRC_SERVER": f"127.0.0.1:{ircd_services.port}",
        "OTRSHELP_IRC_TLS": "false",
        "OTRSHELP_CHANNELS": channel,
        "OTRSHELP_SASL_USER": bot_account,
        "OTRSHELP_SASL_PASSWORD": bot_password,
        "OTRSHELP_ADMINS": admin_account,
        "OTRSHELP_WIKI_API": mediawiki.api_url,
        "OTRSHELP_PAGE": title,
        "OTRSHELP_EVENTSTREAM": "",
        "OTRSHELP_POLL_SECONDS": "1",
        "OTRSHELP_CONTACT": "otrshelp-tests@example.org",
    }, home)
    watcher = IrcPerson("127.0.0.1", ircd_services.port, f"watch{tag}")
    watcher.join(channel)
    mark = len(watcher.events)
    bot.start()
    watcher.wait_for_event(lambda e: e.type == "join" and e.source.nick == nick, timeout=60, since=mark)
    wait_until(lambda: (stored_revid(home) or 0) >= revid, 60, "the bot's first read", bot.log)
    yield {"bot": bot, "nick": nick, "channel": channel, "watcher": watcher, "applicant": bob.name,
           "admin": (admin_account, admin_password), "bot_account": (bot_account, bot_password),
           "home": home, "ircd": ircd_services, "tag": tag}
    bot.kill(signal.SIGTERM)
    watcher.close()


def said(person: IrcPerson, nick: str, since: int = 0, target: str | None = None) -> list[tuple[str, str]]:
    return [(t, text) for kind, src, t, text in person.messages[since:]
            if src == nick and (target is None or t == target)]


def test_admin_with_account_gets_status_privately(world_with_accounts, mediawiki):
    w = world_with_accounts
    account, password = w["admin"]
    admin = IrcPerson("127.0.0.1", w["ircd"].port, account, sasl=(account, password))
    try:
        admin.join(w["channel"])
        mark = len(admin.messages)
        admin.say(w["channel"], f"!status {w['applicant'].lower()}")
        wait_until(lambda: len(said(admin, w["nick"], mark, account)) >= 3, 20,
                   "three private status lines", w["bot"].log)
        lines = [t for _, t in said(admin, w["nick"], mark, account)]
        applicant = w["applicant"]
        assert lines[0].startswith(f"{applicant[0]}{ZW}{applicant[1:]}: open since")
        assert "(12 days waiting)" in lines[0] and "1 open question(s)" in lines[0]
        assert f"support 1 (S{ZW}upporter One)" in lines[1]
        assert "email: not recorded yet" in lines[2]
        assert "profile: registered" in lines[2] and "global account: not available" in lines[2]
        # the admin records the email and the decision; status shows them
        admin.say(w["channel"], f"!mark {applicant} email")
        admin.say(w["channel"], f"!mark {applicant} approved")
        wait_until(lambda: sum("Recorded for" in t for _, t in said(admin, w["nick"], mark, account)) >= 2,
                   20, f"two confirmations in {admin.messages[mark:]}", w["bot"].log)
        mark2 = len(admin.messages)
        admin.say(w["nick"], f"status {applicant}")  # by private message too
        wait_until(lambda: len(said(admin, w["nick"], mark2, account)) >= 3, 20, "status again", w["bot"].log)
        third = [t for _, t in said(admin, w["nick"], mark2, account)][2]
        assert "email: received" in third and f"by {account[0]}{ZW}{account[1:]}" in third
        assert "decision: approved" in third and "differs from the page: open" in third
        # who waits: the pending list, privately
        mark3 = len(admin.messages)
        admin.say(w["channel"], "!pending")
        wait_until(lambda: len(said(admin, w["nick"], mark3, account)) >= 2, 20, "the pending list", w["bot"].log)
        pending = [t for _, t in said(admin, w["nick"], mark3, account)]
        assert pending[0] == "1 open application(s), longest waiting first:"
        assert pending[1].startswith(f"{applicant[0]}{ZW}{applicant[1:]}: 12 d, info-en, +1/-0")
        assert "unanswered question" in pending[1] and "no email" not in pending[1]
        # nothing private reached the channel
        time.sleep(1)
        public = [t for _, t in said(w["watcher"], w["nick"], 0, w["channel"])]
        assert not any("email" in t or "profile" in t or "decision" in t for t in public), public
    finally:
        admin.close()


def test_nick_without_the_account_is_refused(world_with_accounts):
    w = world_with_accounts
    account, _ = w["admin"]
    impostor = IrcPerson("127.0.0.1", w["ircd"].port, account)  # the admin's nick, no login
    try:
        impostor.join(w["channel"])
        mark = len(impostor.messages)
        impostor.say(w["nick"], f"status {w['applicant']}")
        impostor.say(w["nick"], f"mark {w['applicant']} email")
        impostor.say(w["nick"], "pending")
        wait_until(lambda: len(said(impostor, w["nick"], mark)) >= 3, 20, "three refusals", w["bot"].log)
        time.sleep(1)
        replies = [t for _, t in said(impostor, w["nick"], mark)]
        assert len(replies) == 3
        assert all("VRTS admins" in r and "log in" in r for r in replies), replies
        assert not any("open since" in r or "support" in r for r in replies)
    finally:
        impostor.close()


def test_anyone_may_ask_where_an_application_stands(world_with_accounts):
    w = world_with_accounts
    watcher = w["watcher"]
    mark = len(watcher.messages)
    watcher.say(w["channel"], f"!application {w['applicant']}")
    wait_until(lambda: said(watcher, w["nick"], mark, w["channel"]), 20, "the public line", w["bot"].log)
    (_, line), = said(watcher, w["nick"], mark, w["channel"])
    assert "open since" in line and "1 support, 0 oppose" in line
    assert "email" not in line and "profile" not in line
    # the plugin answers help, and the bare command goes to it
    mark = len(watcher.messages)
    watcher.say(w["channel"], "!help OTRSHelp")
    wait_until(lambda: said(watcher, w["nick"], mark), 20, "help", w["bot"].log)
    assert "Volunteer Response Team" in said(watcher, w["nick"], mark)[0][1], said(watcher, w["nick"], mark)


def test_sasl_password_never_lands_in_a_readable_file(world_with_accounts):
    w = world_with_accounts
    _, password = w["bot_account"]
    home = w["home"]
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    w["bot"].kill(signal.SIGTERM)
    for root, _dirs, files in os.walk(home):
        for f in files:
            path = os.path.join(root, f)
            assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
            with open(path, "rb") as fh:
                assert password.encode() not in fh.read(), path
    assert password not in w["bot"].log()

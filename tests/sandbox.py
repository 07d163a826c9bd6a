#!/usr/bin/env python3
"""Try the bot on your machine: a local MediaWiki with a volunteering page
and a local IRC server, both on 127.0.0.1, stopped when you press Ctrl-C.

    python tests/sandbox.py             # announcements and the FAQ
    python tests/sandbox.py --services  # also NickServ accounts: admin commands

It needs only what ``bash .ci/install`` installs (InspIRCd, Anope for
--services, MediaWiki with PHP and SQLite, the Python packages); the tests
need not have run. It prints the command that starts the bot against them;
then each Enter here makes the next edit on the page (a new application,
votes, a question, the answer, the decision) as a different wiki user, so you
can watch the bot announce them in the channel.

With --services the IRC server runs Anope's NickServ: the bot's account and
a VRTS admin account are registered, the printed command logs the bot in
(SASL) and names that admin, and the admin's password is printed for your IRC
client, so "status", "pending", "mark" and "note" can be tried.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
import time
from contextlib import ExitStack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pagebuilder import App, Page, sig  # noqa: E402
from realservers import IrcServer, MediaWikiServer  # noqa: E402

TITLE = "Volunteer Response Team/Volunteering"
CHANNEL = "#vrt-sandbox"
BOT_ACCOUNT = "OTRSHelp"
ADMIN_ACCOUNT = "VRTAdmin"


def bot_command(root: str, env: dict[str, str]) -> str:
    """The shell line that starts the bot with *env*: one variable a line,
    so it reads (and pastes) as it is."""
    assignments = " \\\n    ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"cd {shlex.quote(root)} && {assignments} \\\n    python run_bot.py"


def _services(ircd: IrcServer, env: dict[str, str]) -> str:
    """Register the bot's and an admin's NickServ accounts; the bot's go into
    *env*, the admin's are returned as the lines to print."""
    bot_password, admin_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    ircd.register_account(BOT_ACCOUNT, bot_password)
    ircd.register_account(ADMIN_ACCOUNT, admin_password)
    env.update({"OTRSHELP_NICK": BOT_ACCOUNT, "OTRSHELP_SASL_USER": BOT_ACCOUNT,
                "OTRSHELP_SASL_PASSWORD": bot_password, "OTRSHELP_ADMINS": ADMIN_ACCOUNT})
    return f"""
Admin: account {ADMIN_ACCOUNT}, password {admin_password}
  log in with SASL PLAIN (irssi: /connect -sasl_method plain -sasl_username {ADMIN_ACCOUNT}
  -sasl_password {admin_password} 127.0.0.1 {ircd.port}), or connect and
  /msg NickServ IDENTIFY {ADMIN_ACCOUNT} {admin_password}
  then try: /msg {BOT_ACCOUNT} pending   /msg {BOT_ACCOUNT} status Bob   !status Dave Newcomer
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/sandbox.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", action="store_true",
                        help="run Anope's NickServ too: accounts for the bot and a VRTS admin")
    args = parser.parse_args(argv)
    from datetime import datetime, timezone

    now = lambda: datetime.now(timezone.utc).replace(second=0, microsecond=0)  # noqa: E731
    with ExitStack() as stack:
        wiki = stack.enter_context(MediaWikiServer())
        ircd = stack.enter_context(IrcServer(services=args.services))
        page = Page([App("Alice Example", now()), App("Bob", now(), queues="info-de", languages="German")])
        wiki.edit("OTRS/Volunteering", page.text(), "Page Creator", "create")
        wiki.move("OTRS/Volunteering", TITLE, "Page Creator")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {"OTRSHELP_IRC_SERVER": f"127.0.0.1:{ircd.port}", "OTRSHELP_IRC_TLS": "false",
               "OTRSHELP_CHANNELS": CHANNEL, "OTRSHELP_WIKI_API": wiki.api_url,
               "OTRSHELP_EVENTSTREAM": "", "OTRSHELP_POLL_SECONDS": "2",
               "OTRSHELP_HOME": "./var/sandbox"}
        admin = _services(ircd, env) if args.services else ""
        print(f"""
Wiki:  {wiki.index_url}?title={TITLE.replace(' ', '_')}
IRC:   127.0.0.1:{ircd.port} (plain text), channel {CHANNEL}
{admin}
Start the bot in another terminal:

  {bot_command(root, env)}

and join {CHANNEL} on 127.0.0.1:{ircd.port} with your IRC client (e.g. irssi -c 127.0.0.1 -p {ircd.port}).
Press Enter here for each next edit; Ctrl-C stops everything.
""", flush=True)
        dave = App("Dave Newcomer", now(), queues="info-en, permissions-commons")
        steps = [
            ("Dave Newcomer", "applies", lambda: page.apps.append(dave)),
            ("Supporter One", "supports", lambda: dave.lines.append(
                f"*{{{{support}}}} Great help desk work. {sig('Supporter One', now())}")),
            ("Opposer", "opposes", lambda: dave.lines.append(
                f"*{{{{oppose}}}} Not enough copyright experience. {sig('Opposer', now())}")),
            ("Asker", "asks a question", lambda: dave.lines.append(
                f"*{{{{q}}}} How many hours a week can you give? {sig('Asker', now())}")),
            ("Dave Newcomer", "answers", lambda: dave.lines.append(
                f"**About five hours. {sig('Dave Newcomer', now())}")),
            ("VRT Admin", "approves", lambda: dave.lines.append(
                f":{{{{done}}}} Welcome aboard! {sig('VRT Admin', now())}")),
        ]
        try:
            for user, what, change in steps:
                input(f"[Enter] {user} {what} ")
                change()
                revid = wiki.edit(TITLE, page.text(), user, what)
                print(f"  saved revision {revid}")
            print("That was the last edit. Ctrl-C stops the wiki and the IRC server.")
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, EOFError):
            print("\nstopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Try the bot on your machine: a local MediaWiki with a volunteering page
and a local IRC server, both on 127.0.0.1, stopped when you press Ctrl-C.

    python tests/sandbox.py

It needs only what ``bash .ci/install`` installs (InspIRCd, MediaWiki with
PHP and SQLite, the Python packages); the tests need not have run. It prints
the command that starts the bot against them; then each Enter here makes the
next edit on the page (a new application, votes, a question, the answer, the
decision) as a different wiki user, so you can watch the bot announce them in
the channel.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pagebuilder import App, Page, sig  # noqa: E402
from realservers import IrcServer, MediaWikiServer  # noqa: E402

TITLE = "Volunteer Response Team/Volunteering"
CHANNEL = "#vrt-sandbox"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python tests/sandbox.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    from datetime import datetime, timezone

    now = lambda: datetime.now(timezone.utc).replace(second=0, microsecond=0)  # noqa: E731
    with MediaWikiServer() as wiki, IrcServer() as ircd:
        page = Page([App("Alice Example", now()), App("Bob", now(), queues="info-de", languages="German")])
        wiki.edit("OTRS/Volunteering", page.text(), "Page Creator", "create")
        wiki.move("OTRS/Volunteering", TITLE, "Page Creator")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        print(f"""
Wiki:  {wiki.index_url}?title={TITLE.replace(' ', '_')}
IRC:   127.0.0.1:{ircd.port} (plain text), channel {CHANNEL}

Start the bot in another terminal:

  cd {root} && OTRSHELP_IRC_SERVER=127.0.0.1:{ircd.port} OTRSHELP_IRC_TLS=false \\
    OTRSHELP_CHANNELS={CHANNEL} OTRSHELP_WIKI_API={wiki.api_url} OTRSHELP_EVENTSTREAM= \\
    OTRSHELP_POLL_SECONDS=2 OTRSHELP_HOME=./var/sandbox python run_bot.py

and join {CHANNEL} on 127.0.0.1:{ircd.port} with your IRC client (e.g. irssi -c 127.0.0.1 -p {ircd.port}).
Press Enter here for each next edit; Ctrl-C stops everything.
""")
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

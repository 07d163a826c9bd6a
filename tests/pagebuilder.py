"""Build volunteering pages revision by revision for tracker and end-to-end tests.

A page is a lead plus applications; each application is a list of lines.
Tests change one thing at a time, the way people edit the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

LEAD = """<noinclude>{{Volunteer Response Team/Header}}</noinclude>
__NEWSECTIONLINK__
== Volunteering for the VRT ==
The VRT always welcomes new volunteers. Given the confidential nature of the work, there is a selective application procedure.

=== How do I volunteer? ===
Read [[Volunteer Response Team/Recruiting]] first. Copy this template to the bottom of the page:
<pre>
== ~~~ ==
*'''Languages you can reply in:'''
*'''Queue(s) you would like access to:'''
*'''Most active user talk page(s):'''
*'''Why do you want to help?''' ~~~~
</pre>
<!-- Applications start below. -->
"""


def sig(user: str, when: datetime) -> str:
    """A default MediaWiki signature for *user* at *when*."""
    return f"[[User:{user}|{user}]] ([[User talk:{user}|talk]]) {stamp(when)}"


def stamp(when: datetime) -> str:
    return f"{when:%H:%M}, {when.day} {when:%B %Y} (UTC)"


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class App:
    name: str
    opened: datetime
    queues: str = "info-en"
    languages: str = "English"
    heading: str | None = None
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = self.heading or self.name
        body = [
            f"== {head} ==",
            f"*'''Languages you can reply in:''' {self.languages}",
            f"*'''Queue(s) you would like access to:''' {self.queues}",
            f"*'''Most active user talk page(s):''' [[:en:User talk:{self.name}]]",
            f"*'''Why do you want to help?''' I have answered questions at the help desk "
            f"for years and would like to help. {sig(self.name, self.opened)}",
        ]
        return "\n".join(body + self.lines) + "\n"


@dataclass
class Page:
    apps: list[App] = field(default_factory=list)

    def app(self, name: str) -> App:
        return next(a for a in self.apps if a.name == name)

    def text(self) -> str:
        return LEAD + "\n" + "\n".join(a.text() for a in self.apps)


@dataclass(frozen=True)
class Rev:
    """A revision as the wiki client hands it to the tracker."""

    revid: int
    timestamp: datetime
    user: str
    text: str
    parentid: int = 0
    comment: str = ""


def days_ago(days: float) -> datetime:
    """A time *days* before now, to the minute (signatures have no seconds)."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now - timedelta(days=days)


def big_page(n_apps: int, comments: int) -> Page:
    """A busy page for the benchmarks: *n_apps* applications with
    *comments* signed supports each."""
    page = Page([App(f"Applicant {i:03d}", at(i)) for i in range(n_apps)])
    for i, app in enumerate(page.apps):
        for c in range(comments):
            app.lines.append(f"*{{{{support}}}} A careful and helpful editor, seen them at the "
                             f"help desk often. {sig(f'Voter {c}', at(1000 + i * 10 + c))}")
    return page

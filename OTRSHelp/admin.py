"""What VRTS admins read about applications: status, pending list, stale digest.

Plain text for IRC, built from the store's rows, the admins' records and the
applicant's wiki profile. The public line (``application``) carries no
private field; everything else is for admins only and the plugin sends it
privately.
"""
from __future__ import annotations

import difflib
from datetime import datetime
from typing import Iterable, Sequence

from .announce import Links
from .model import WAITING_STATUSES, current_votes, unanswered_questions
from .names import irc_safe, no_ping, username_key
from .profile import Profile
from .store import ApplicationRow, RecordRow

__all__ = ["near_names", "public_line", "status_lines", "pending_lines", "stale_lines",
           "days_waiting"]


def near_names(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Applicants whose name is close to *name*: a typo still finds them."""
    by_key = {username_key(x): x for x in names}
    keys = difflib.get_close_matches(username_key(name), list(by_key), n=n, cutoff=0.6)
    prefix = [k for k in by_key if k.startswith(username_key(name)) and k not in keys]
    return [by_key[k] for k in (keys + prefix)[:n]]


def days_waiting(row: ApplicationRow, now: datetime) -> int | None:
    if row.opened is None:
        return None
    end = row.closed if row.status not in WAITING_STATUSES and row.closed else now
    return max((end - row.opened).days, 0)


def _date(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d") if t else "?"


def _ago(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "?"
    days = (now - t).days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''} ago"
    hours = int((now - t).total_seconds() // 3600)
    return f"{hours} h ago" if hours >= 1 else "just now"


def _votes(row: ApplicationRow) -> dict[str, list[str]]:
    return current_votes(row.comments)


def open_questions(row: ApplicationRow) -> list:
    """The questions still waiting, as the page shows them now: none once
    the application is closed (the same rule the tracker counts by)."""
    return unanswered_questions(row.applicant, row.comments, row.status)


def _state(row: ApplicationRow, now: datetime) -> str:
    days = days_waiting(row, now)
    if not row.present:
        return f"{row.status}, archived {_date(row.archived_at)}"
    if row.status in WAITING_STATUSES:
        return f"{row.status} since {_date(row.opened)} ({days} days waiting)"
    return f"{row.status} {_date(row.closed)} by {no_ping(row.closed_by or '?')} after {days} days"


def public_line(row: ApplicationRow, links: Links, now: datetime) -> str:
    """What anyone may know: it is all on the wiki page anyway."""
    return irc_safe(
        f"{no_ping(row.applicant)}: {_state(row, now)}; "
        f"{row.support_count} support, {row.oppose_count} oppose, {row.neutral_count} neutral; "
        f"{row.open_questions} open question(s) "
        f"{links.section(row.anchor) if row.present else ''}").rstrip()


def _names(names: Sequence[str]) -> str:
    return ", ".join(no_ping(n) for n in names) if names else "none"


def _records_text(row: ApplicationRow, records: Sequence[RecordRow]) -> str:
    email = [r for r in records if r.kind == "email"]
    decisions = [r for r in records if r.kind == "decision"]
    notes = [r for r in records if r.kind == "note"]
    parts = []
    parts.append("email: " + (f"received {_date(email[-1].at)} (recorded by {no_ping(email[-1].by)})"
                              if email else "not recorded yet"))
    if decisions:
        d = decisions[-1]
        decided = d.value.split(":", 1)[0].strip()
        text = f"decision: {irc_safe(d.value, 120)} by {no_ping(d.by)} {_date(d.at)}"
        if decided != row.status:
            text += f" (differs from the page: {row.status})"
        parts.append(text)
    for n in notes[-3:]:
        parts.append(f"note by {no_ping(n.by)} {_date(n.at)}: {irc_safe(n.value, 150)}")
    return "; ".join(parts)


def _profile_text(profile: Profile | Exception | None) -> str:
    if profile is None:
        return "profile: not available"
    if isinstance(profile, Exception):
        return f"profile: the wiki did not answer ({irc_safe(str(profile), 100)})"
    if not profile.exists:
        return "profile: no such account on the wiki"
    parts = [f"registered {_date(profile.registration)}",
             f"{profile.editcount if profile.editcount is not None else '?'} edits here"]
    groups = [g for g in profile.groups if g not in ("*", "user", "autoconfirmed")]
    parts.append("groups " + (", ".join(groups) if groups else "none"))
    if profile.blocked:
        parts.append(f"BLOCKED ({irc_safe(profile.block_reason or '', 60)}, expires {profile.block_expiry or '?'})")
    if profile.global_available:
        parts.append(f"{profile.global_editcount if profile.global_editcount is not None else '?'} edits globally")
        parts.append(f"home wiki {profile.home_wiki or '?'}")
        if profile.global_groups:
            parts.append("global groups " + ", ".join(profile.global_groups))
        if profile.wikis_with_sysop:
            parts.append("sysop on " + ", ".join(profile.wikis_with_sysop[:6]))
        if profile.locked:
            parts.append("GLOBALLY LOCKED")
    else:
        parts.append("global account: not available")
    return "profile: " + "; ".join(parts)


def status_lines(row: ApplicationRow, records: Sequence[RecordRow],
                 profile: Profile | Exception | None, links: Links, now: datetime) -> list[str]:
    """Everything an admin needs to decide, in three lines."""
    v = _votes(row)
    questions = open_questions(row)
    q_text = (f"{len(questions)} open question(s), last by {no_ping(questions[-1].signer or '?')} "
              f"{_ago(questions[-1].time, now)}") if questions else "no open question"
    first = (f"{no_ping(row.applicant)}: {_state(row, now)}; queues "
             f"{', '.join(row.queues) or '?'}; languages {', '.join(row.languages) or '?'}; "
             f"{q_text}; last activity {no_ping(row.last_by or '?')} {_ago(row.last_activity, now)} "
             f"{links.section(row.anchor) if row.present else ''}")
    second = (f"support {len(v['support'])} ({_names(v['support'])}); "
              f"oppose {len(v['oppose'])} ({_names(v['oppose'])}); "
              f"neutral {len(v['neutral'])} ({_names(v['neutral'])})")
    third = f"{_records_text(row, records)}; {_profile_text(profile)}"
    return [irc_safe(first), irc_safe(second), irc_safe(third)]


def _flags(row: ApplicationRow, records: Sequence[RecordRow]) -> list[str]:
    flags = []
    if not any(r.kind == "email" for r in records):
        flags.append("no email")
    if row.open_questions:
        flags.append("unanswered question")
    if row.oppose_count:
        flags.append(f"{row.oppose_count} oppose")
    if row.status == "on hold":
        flags.append("on hold")
    return flags


def pending_lines(rows: Sequence[ApplicationRow], records: dict[str, list[RecordRow]],
                  now: datetime, total: int | None = None) -> list[str]:
    """Open applications, longest waiting first, one line each; *rows* is
    the head of the list and *total* its full length."""
    total = len(rows) if total is None else total
    if not rows:
        return ["No open applications."]
    ordered = sorted(rows, key=lambda r: (r.opened is None, r.opened or now))
    out = []
    for r in ordered:
        flags = _flags(r, records.get(r.applicant_key, []))
        out.append(irc_safe(
            f"{no_ping(r.applicant)}: {days_waiting(r, now)} d, {', '.join(r.queues) or '?'}, "
            f"+{r.support_count}/-{r.oppose_count}" + (f" [{', '.join(flags)}]" if flags else "")))
    if total > len(ordered):
        out.append(f"... and {total - len(ordered)} more.")
    header = f"{total} open application(s), longest waiting first:"
    return [header] + out


def stale_lines(rows: Sequence[ApplicationRow], records: dict[str, list[RecordRow]],
                now: datetime, days: int, limit: int = 15) -> list[str]:
    """The digest of applications waiting longer than *days*."""
    stale = [r for r in rows if (days_waiting(r, now) or 0) > days]
    if not stale:
        return [f"No application has waited more than {days} days."]
    lines = pending_lines(stale[:limit], records, now, total=len(stale))
    lines[0] = f"{len(stale)} application(s) waiting more than {days} days:"
    return lines

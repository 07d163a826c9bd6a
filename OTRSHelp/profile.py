"""An applicant's wiki profile: what VRTS admins look at first.

Admins deciding on an application want to know how long the applicant has
edited, how much, with which rights, whether they are blocked here or
locked globally, and where they are an administrator. One API request
answers it all: ``list=users`` for the local account and CentralAuth's
``meta=globaluserinfo`` for the global one.

CentralAuth exists only on Wikimedia wikis. Elsewhere (the test wiki) the
API answers with a warning (``Unrecognized value for parameter "meta"``)
and no ``globaluserinfo``; the profile then says ``global_available=False``
instead of failing. Answers are cached for a while (``ProfileCache``)
because the same applicant is asked about repeatedly in a discussion.

Plain Python: nothing here imports supybot.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .names import normalize_username
from .wikiclient import WikiClient, WikiError, parse_timestamp

__all__ = ["Profile", "fetch_profile", "ProfileCache"]

USPROP = "registration|editcount|groups|blockinfo"
GUIPROP = "groups|merged|unattached|editcount"
# Groups every account has: they say nothing about the applicant.
_IMPLICIT = {"*"}
# Error codes that mean "ask again later", not "this query cannot work".
_TRANSIENT = {"maxlag", "timeout", "network", "not-json", "ratelimited", "readonly"}


@dataclass(frozen=True)
class Profile:
    """The local account (``exists``...) and, when CentralAuth answered
    (``global_available``), the global one. ``registration`` is an aware UTC
    datetime or None (accounts from before 2006 have none)."""

    name: str
    exists: bool
    registration: datetime | None
    editcount: int | None
    groups: list[str]
    blocked: bool
    block_reason: str | None
    block_expiry: str | None
    global_available: bool
    home_wiki: str | None
    global_editcount: int | None
    global_groups: list[str]
    locked: bool
    wikis_with_sysop: list[str]
    invalid: bool = False
    block_partial: bool = False
    global_registration: datetime | None = None
    merged_wikis: int = 0
    fetched_at: float = field(default=0.0, compare=False)


def _is_transient(exc: WikiError) -> bool:
    code = exc.code or ""
    return (code in _TRANSIENT or code.startswith("http-")
            or code.startswith("internal_api_error"))


def fetch_profile(client: WikiClient, name: str) -> Profile:
    """One request for the local and the global account of ``name``.

    A wiki without CentralAuth gives ``global_available=False``. If the
    global module rejects the name (an IP address, a name CentralAuth calls
    invalid) the local part is fetched alone rather than failing."""
    canonical = normalize_username(name)
    if not canonical:
        return _empty(name, invalid=True)
    try:
        data = client.get(
            action="query", list="users", ususers=canonical, usprop=USPROP,
            meta="globaluserinfo", guiuser=canonical, guiprop=GUIPROP,
        )
    except WikiError as exc:
        if _is_transient(exc):
            raise
        # e.g. baduser_guiuser for IP addresses: CentralAuth refuses the
        # name; the local account can still be described.
        data = client.get(action="query", list="users", ususers=canonical, usprop=USPROP)
    return _profile_from(canonical, data.get("query") or {})


def _empty(name: str, *, invalid: bool = False) -> Profile:
    return Profile(
        name=name, exists=False, registration=None, editcount=None, groups=[],
        blocked=False, block_reason=None, block_expiry=None, global_available=False,
        home_wiki=None, global_editcount=None, global_groups=[], locked=False,
        wikis_with_sysop=[], invalid=invalid, fetched_at=time.time(),
    )


def _profile_from(canonical: str, query: dict) -> Profile:
    users = query.get("users") or []
    user = next((u for u in users if u.get("name") == canonical), users[0] if users else {})
    exists = bool(user) and not user.get("missing") and not user.get("invalid") and "userid" in user
    blocked = exists and ("blockid" in user or "blockedby" in user)
    glob = query.get("globaluserinfo")
    global_available = isinstance(glob, dict)
    glob = glob if isinstance(glob, dict) else {}
    global_exists = global_available and not glob.get("missing")
    merged = (glob.get("merged") or []) if global_exists else []
    sysop_wikis = sorted(
        str(acc.get("wiki")) for acc in merged
        if "sysop" in (acc.get("groups") or []) and acc.get("wiki")
    )
    return Profile(
        name=str(user.get("name") or canonical),
        exists=exists,
        registration=parse_timestamp(user.get("registration")) if exists else None,
        editcount=int(user["editcount"]) if exists and user.get("editcount") is not None else None,
        groups=[g for g in (user.get("groups") or []) if g not in _IMPLICIT] if exists else [],
        blocked=blocked,
        block_reason=(str(user.get("blockreason") or "") or None) if blocked else None,
        block_expiry=(str(user.get("blockexpiry") or "") or None) if blocked else None,
        global_available=global_available,
        home_wiki=(glob.get("home") or None) if global_exists else None,
        global_editcount=(int(glob["editcount"]) if global_exists
                          and glob.get("editcount") is not None else None),
        global_groups=list(glob.get("groups") or []) if global_exists else [],
        locked=bool(global_exists and glob.get("locked")),
        wikis_with_sysop=sysop_wikis,
        invalid=bool(user.get("invalid")),
        block_partial=bool(blocked and user.get("blockpartial")),
        global_registration=parse_timestamp(glob.get("registration")) if global_exists else None,
        merged_wikis=len(merged),
        fetched_at=time.time(),
    )


class ProfileCache:
    """Profiles kept for ``ttl`` seconds, keyed by the canonical username.

    Bound: ``max_entries`` profiles (1,000 by default, a few hundred bytes
    each); when full, expired ones go first, then the oldest, so a bot
    asked about every applicant for months stays the same size.

    Thread-safe: IRC command threads ask concurrently. Two threads asking
    for the same uncached name at once may both fetch it; the client's lock
    serialises those requests anyway, and the cache stays consistent."""

    def __init__(self, client: WikiClient, ttl: float = 600,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 1000) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Profile]] = {}

    def get(self, name: str) -> Profile:
        """The cached profile if younger than ``ttl``, else a fresh one.
        Errors are not cached: the next ask tries the wiki again."""
        key = normalize_username(name)
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        profile = fetch_profile(self.client, name)
        with self._lock:
            now = self.clock()
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                while len(self._entries) >= self.max_entries:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (now + self.ttl, profile)
        return profile

    def invalidate(self, name: str | None = None) -> None:
        """Forget one name (after an admin says it changed) or everything."""
        with self._lock:
            if name is None:
                self._entries.clear()
            else:
                self._entries.pop(normalize_username(name), None)

"""Applicant profiles: list=users + CentralAuth's meta=globaluserinfo.

Recorded answers (``tests/recorded/profile_*.json``) stand in for Meta-Wiki,
which has CentralAuth; the real test wiki has no CentralAuth, which is the
case the bot must survive without crashing.
"""
from __future__ import annotations

import sys
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _p in (str(HERE), str(HERE.parent)):
    if _p not in sys.path:  # also works with --noconftest
        sys.path.insert(0, _p)

from OTRSHelp.profile import Profile, ProfileCache, fetch_profile  # noqa: E402
from OTRSHelp.wikiclient import WikiClient, WikiError  # noqa: E402
from test_wikiclient import FakeWiki, Reply, Sleeps, recorded  # noqa: E402


@pytest.fixture
def fake():
    wiki = FakeWiki()
    yield wiki
    wiki.close()


def client_for(fake: FakeWiki, **kw) -> WikiClient:
    kw.setdefault("max_retries", 2)
    return WikiClient(fake.api_url, contact="tests@example.org", sleep=Sleeps(), **kw)


def test_normal_user_local_and_global(fake):
    fake.route = lambda params: Reply(recorded("profile_normal.json"))
    profile = fetch_profile(client_for(fake), "example")
    assert profile.name == "Example" and profile.exists and not profile.invalid
    assert profile.registration == datetime(2012, 3, 4, 15, 16, 17, tzinfo=timezone.utc)
    assert profile.editcount == 5210
    assert "autopatrolled" in profile.groups and "*" not in profile.groups
    assert not profile.blocked and profile.block_reason is None and profile.block_expiry is None
    assert profile.global_available
    assert profile.home_wiki == "enwiki"
    assert profile.global_editcount == 44323
    assert profile.global_groups == ["global-rollbacker"]
    assert not profile.locked
    assert profile.wikis_with_sysop == ["dewiki", "enwiki"]
    assert profile.merged_wikis == 4
    assert profile.global_registration == datetime(2012, 3, 4, 15, 16, 17, tzinfo=timezone.utc)
    # one request, asking for both parts, with the canonical name
    assert len(fake.requests) == 1
    params, _ = fake.requests[0]
    assert params["list"] == "users" and params["ususers"] == "Example"
    assert set(params["usprop"].split("|")) == {"registration", "editcount", "groups", "blockinfo"}
    assert params["meta"] == "globaluserinfo" and params["guiuser"] == "Example"
    assert set(params["guiprop"].split("|")) >= {"groups", "merged", "editcount"}


def test_locked_and_blocked_user(fake):
    fake.route = lambda params: Reply(recorded("profile_locked.json"))
    profile = fetch_profile(client_for(fake), "Spammer_123")
    assert profile.exists and profile.name == "Spammer 123"
    assert profile.blocked and profile.block_expiry == "infinite"
    assert "spam-only" in profile.block_reason
    assert profile.locked and profile.global_available
    assert profile.wikis_with_sysop == [] and profile.global_groups == []
    assert fake.requests[0][0]["ususers"] == "Spammer 123"


def test_missing_user(fake):
    fake.route = lambda params: Reply(recorded("profile_missing.json"))
    profile = fetch_profile(client_for(fake), "No such person here")
    assert not profile.exists and not profile.invalid
    assert profile.registration is None and profile.editcount is None and profile.groups == []
    assert profile.global_available and profile.home_wiki is None
    assert profile.global_editcount is None and not profile.locked


def test_wiki_without_centralauth(fake):
    fake.route = lambda params: Reply(recorded("profile_no_centralauth.json"))
    profile = fetch_profile(client_for(fake), "Admin")
    assert profile.exists and "sysop" in profile.groups
    assert not profile.global_available
    assert profile.home_wiki is None and profile.global_editcount is None
    assert profile.global_groups == [] and profile.wikis_with_sysop == [] and not profile.locked


def test_name_centralauth_refuses_falls_back_to_local_part(fake):
    fake.push(Reply({"error": {"code": "baduser_guiuser",
                               "info": "Invalid value \"192.0.2.7\" for user parameter \"guiuser\"."}}))
    fake.route = lambda params: Reply({"batchcomplete": True, "query": {"users": [
        {"name": "192.0.2.7", "invalid": True}]}})
    profile = fetch_profile(client_for(fake), "192.0.2.7")
    assert not profile.exists and profile.invalid and not profile.global_available
    assert len(fake.requests) == 2 and "meta" not in fake.requests[1][0]


def test_transient_failure_is_raised_not_hidden(fake):
    fake.route = lambda params: Reply(status=503)
    with pytest.raises(WikiError, match="HTTP 503"):
        fetch_profile(client_for(fake, max_retries=1), "Example")


def test_empty_name_needs_no_request(fake):
    profile = fetch_profile(client_for(fake), "  ")
    assert not profile.exists and profile.invalid and fake.requests == []


# ------------------------------------------------------------------ cache

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_is_time_limited(fake):
    fake.route = lambda params: Reply(recorded("profile_normal.json"))
    clock = Clock()
    cache = ProfileCache(client_for(fake), ttl=600, clock=clock)
    first = cache.get("Example")
    assert cache.get("example") is first  # same canonical name, from the cache
    clock.now += 599
    assert cache.get("User:Example") is first
    assert len(fake.requests) == 1
    clock.now += 2
    assert cache.get("Example") == first
    assert len(fake.requests) == 2


def test_cache_does_not_keep_errors(fake):
    fake.push(Reply(status=500), Reply(status=500))
    fake.route = lambda params: Reply(recorded("profile_normal.json"))
    cache = ProfileCache(client_for(fake, max_retries=1), ttl=600, clock=Clock())
    with pytest.raises(WikiError):
        cache.get("Example")
    assert cache.get("Example").exists


def test_cache_is_thread_safe(fake):
    fake.route = lambda params: Reply(recorded("profile_normal.json"), delay=0.01)
    cache = ProfileCache(client_for(fake), ttl=600)
    results: list[Profile] = []
    errors: list[BaseException] = []

    def ask():
        try:
            for _ in range(20):
                results.append(cache.get("Example"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and len(results) == 160
    assert all(p == results[0] for p in results)
    assert len(fake.requests) <= 8  # at most one fetch per thread racing the first


def test_cache_stays_bounded(fake):
    fake.route = lambda params: Reply(recorded("profile_missing.json"))
    cache = ProfileCache(client_for(fake), ttl=600, clock=Clock(), max_entries=5)
    for i in range(12):
        cache.get(f"Someone {i}")
    assert len(cache._entries) <= 5


# -------------------------------------------------------------- real wiki

def test_real_wiki_admin_profile(mediawiki):
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    profile = fetch_profile(client, "admin")
    assert profile.exists and profile.name == "Admin"
    assert "sysop" in profile.groups
    assert isinstance(profile.registration, datetime) and profile.registration.tzinfo is not None
    assert isinstance(profile.editcount, int)
    assert not profile.blocked
    assert not profile.global_available  # no CentralAuth on the test wiki, and no crash


def test_real_wiki_new_user_editcount(mediawiki):
    name = f"Applicant {uuid.uuid4().hex[:6]}"
    mediawiki.create_user(name)
    mediawiki.edit(f"OTRSHelp test/Sandbox {uuid.uuid4().hex[:6]}", "hello", name)
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    profile = fetch_profile(client, name.lower())
    assert profile.exists and profile.name == name
    assert profile.editcount == 1
    assert "sysop" not in profile.groups


def test_real_wiki_missing_and_invalid_user(mediawiki):
    client = WikiClient(mediawiki.api_url, contact="tests@example.org")
    missing = fetch_profile(client, f"Nobody {uuid.uuid4().hex[:8]}")
    assert not missing.exists and not missing.invalid and not missing.global_available
    invalid = fetch_profile(client, "Bad<name>")
    assert not invalid.exists and invalid.invalid

"""Admin trust on a real network, attacked as a stranger would.

InspIRCd + Anope with Libera's ordinary limits (tests/realservers.py
``ircd_libera``), the bot started by run_bot.py logged in with SASL, a VRTS
admin and an owner logged in with SASL, and strangers who borrow their nicks,
their user@host, or register first. Only a services account that is an admin
at the moment of the message may read or write anything private.
"""
from __future__ import annotations

import secrets
import signal
import time
import uuid
from pathlib import Path

import pytest

from botprocess import Scene, wait_until
from pagebuilder import days_ago, sig
from realservers import IrcPerson, IrcServer

ZW = "\u200b"


@pytest.fixture
def trust(mediawiki, ircd_libera: IrcServer, tmp_path: Path):
    tag = uuid.uuid4().hex[:5]
    accounts = {}
    for role in ("bot", "admin", "owner"):
        name, password = f"{role}{tag}", secrets.token_hex(10)
        ircd_libera.register_account(name, password)
        accounts[role] = (name, password)
    scene = Scene(mediawiki, ircd_libera, tmp_path / "var", prefix="trust", extra_env={
        "OTRSHELP_SASL_USER": accounts["bot"][0],
        "OTRSHELP_SASL_PASSWORD": accounts["bot"][1],
        "OTRSHELP_ADMINS": accounts["admin"][0],
        "OTRSHELP_OWNERS": accounts["owner"][0],
    })
    bob = scene.page.apps[1]
    bob.lines.append(f"*{{{{support}}}} Yes. {sig('Supporter One', days_ago(1))}")
    scene.edit("Supporter One")
    scene.start_bot()
    scene.accounts = accounts
    scene.ircd = ircd_libera
    yield scene
    scene.close()


def said_to(person: IrcPerson, bot: str, since: int) -> list[str]:
    return [text for _kind, src, _target, text in person.messages[since:] if src == bot]


def ask(person: IrcPerson, bot: str, lines: list[str], replies: int, log, timeout: float = 30) -> list[str]:
    """Send lines to the bot privately; wait for that many replies."""
    mark = len(person.messages)
    for line in lines:
        person.say(bot, line)
    wait_until(lambda: len(said_to(person, bot, mark)) >= replies, timeout,
               f"{replies} replies to {lines}: {said_to(person, bot, mark)}", log)
    return said_to(person, bot, mark)


def connect(scene, nick: str, *, role: str | None = None, username: str | None = None,
            source: str | None = None) -> IrcPerson:
    """A client on the strict server; logged in with SASL as ``role``'s account."""
    sasl = scene.accounts[role] if role else None
    return IrcPerson("127.0.0.1", scene.ircd.port, nick, sasl=sasl, username=username, source=source)


def wait_gone(watcher: IrcPerson, nick: str) -> None:
    """Until the server has let go of a nick (WHOIS answers 'no such nick')."""
    def gone() -> bool:
        mark = len(watcher.events)
        watcher.send_raw(f"WHOIS {nick}")
        try:
            watcher.wait_for_event(lambda e: e.type in ("nosuchnick", "endofwhois"), 5, since=mark)
        except AssertionError:
            return False
        return any(e.type == "nosuchnick" for e in watcher.events[mark:])
    wait_until(gone, 20, f"{nick} to quit")


@pytest.mark.parametrize("shared_channel", [False, True], ids=["private-only", "joined-parted-quit"])
def test_a_borrowed_nick_reads_and_writes_nothing(trust, shared_channel: bool) -> None:
    scene, bot = trust, trust.nick
    admin_account = scene.accounts["admin"][0]
    admin = connect(scene, admin_account, role="admin", username="vrt")
    try:
        if shared_channel:
            admin.join(scene.channel)
        # every reply before the admin quits: a late one would reach whoever takes the nick next
        first = ask(admin, bot, ["pending"], 3, scene.bot.log)
        assert first[0] == "2 open application(s), longest waiting first:", first
        noted = ask(admin, bot, ["note Bob real note from the admin"], 1, scene.bot.log)
        assert noted == [f"Noted for B{ZW}ob."], noted
        if shared_channel:
            admin.send_raw(f"PART {scene.channel}")
            time.sleep(0.5)
    finally:
        admin.close()
    wait_gone(scene.person, admin_account)

    # the same nick and user@host, not logged in
    impostor = connect(scene, admin_account, username="vrt")
    try:
        assert impostor.whois_account(admin_account) is None
        replies = ask(impostor, bot, ["pending", "status Bob", "note Bob forged by the impostor",
                                      "mark Bob approved", "admins add impostor"], 5, scene.bot.log)
        for r in replies:
            assert "log in to your services account" in r, replies
        assert not any("open since" in r or "real note" in r or "longest waiting" in r for r in replies)
    finally:
        impostor.close()
    wait_gone(scene.person, admin_account)

    # the real admin comes back: the forged note is not there
    admin = connect(scene, admin_account, role="admin", username="vrt")
    try:
        status = ask(admin, bot, ["status Bob"], 3, scene.bot.log)
        text = " ".join(status)
        assert "real note from the admin" in text and "forged" not in text and "approved" not in text
    finally:
        admin.close()


def test_a_leftover_login_grants_nothing(trust) -> None:
    """The owner logs in, uses an owner command and quits; a client with the
    same nick!user@host and no account gets nothing (a shared web gateway)."""
    scene, bot = trust, trust.nick
    owner_account = scene.accounts["owner"][0]
    owner = connect(scene, owner_account, role="owner", username="gw")
    try:
        (r,) = ask(owner, bot, ["config supybot.plugins.OTRSHelp.staleDays"], 1, scene.bot.log)
        assert r.strip() == "30", r
    finally:
        owner.close()
    wait_gone(scene.person, owner_account)
    evil = f"#evil-{scene.tag}"
    stranger = connect(scene, owner_account, username="gw")
    try:
        replies = ask(stranger, bot, [f"join {evil}", "config supybot.directories.data",
                                      "config supybot.plugins.OTRSHelp.staleDays 1"], 3, scene.bot.log)
        assert all("not available to you" in r for r in replies), replies
        assert scene.home.as_posix() not in " ".join(replies)
        mark = len(stranger.events)
        stranger.send_raw(f"NAMES {evil}")
        stranger.wait_for_event(lambda e: e.type == "endofnames", 10, since=mark)
        members = " ".join(" ".join(e.arguments) for e in stranger.events[mark:] if e.type == "namreply")
        assert bot not in members, members
    finally:
        stranger.close()


def test_registering_first_cannot_shadow_or_lock_out_an_admin(trust) -> None:
    """A stranger tries to claim the admin account before the operator adds
    it; after the operator adds it (a restart with OTRSHELP_ADMINS) the real
    admin is an admin and the stranger is not."""
    scene, bot = trust, trust.nick
    admin_account = scene.accounts["admin"][0]
    stranger = connect(scene, f"mallory{scene.tag}", source="127.0.0.2")
    try:
        replies = ask(stranger, bot, [f"register {admin_account} hunter2hunter2",
                                      f"nickauth nick add {admin_account}", "whoami",
                                      f"identify {admin_account} hunter2hunter2"], 4, scene.bot.log)
        # no such commands here: the bot answers with its short hint, nothing more
        for r in replies:
            low = r.lower()
            assert "registered" not in low and "identified" not in low and "added" not in low, replies
    finally:
        stranger.close()
    scene.bot.kill(signal.SIGTERM)
    scene.start_bot()
    admin = connect(scene, admin_account, role="admin")
    try:
        first = ask(admin, bot, ["pending"], 2, scene.bot.log)
        assert first[0].endswith("longest waiting first:"), first
    finally:
        admin.close()


def test_private_answers_never_reach_the_channel(trust) -> None:
    """The admin asks in the public channel: the private fields and even the
    usage errors of admin commands go privately."""
    scene, bot = trust, trust.nick
    admin_account = scene.accounts["admin"][0]
    admin = connect(scene, admin_account, role="admin")
    try:
        admin.join(scene.channel)
        mark = len(admin.messages)
        for line in ["!status Bob", "!mark Bob", "!faq history apply", "!poll", "!admins"]:
            admin.say(scene.channel, line)
        wait_until(lambda: len(said_to(admin, bot, mark)) >= 7, 40,
                   f"replies: {said_to(admin, bot, mark)}", scene.bot.log)
        time.sleep(1)
        to_channel = [t for _k, src, target, t in admin.messages[mark:] if src == bot and target == scene.channel]
        assert to_channel == [], to_channel
        public = [t for _k, src, target, t in scene.person.messages if src == bot]
        assert not any("support 1" in t or "email" in t or "admin" in t.lower() for t in public), public
    finally:
        admin.close()


def _listed(reply: str) -> list[str]:
    """Limnoria's "a, b, and c" list."""
    return [w.strip() for w in reply.replace(" and ", ", ").split(",") if w.strip()]


def test_a_strangers_tour_of_every_loaded_command_learns_nothing(mediawiki, ircd_services, tmp_path: Path) -> None:
    """Every command Limnoria has loaded (asked of the running bot with
    ``list``), run by a stranger in private and in the channel: the
    non-public ones are refused with one line that says no more than that;
    no reply names an admin or owner account or a path on the server, and
    the bot joins nothing. The lenient server (no fakelag) is used because
    this test sends a few hundred lines and is about access, not flooding;
    Limnoria's own command flood limit is off for the same reason."""
    tag = uuid.uuid4().hex[:5]
    site = tmp_path / "site.conf"
    site.write_text("supybot.abuse.flood.command: False\n"
                    "supybot.protocols.irc.throttleTime: 0.02\n", encoding="utf-8")
    secrets_ = (f"secretadmin{tag}", f"secretowner{tag}")
    scene = Scene(mediawiki, ircd_services, tmp_path / "var", prefix="tour", extra_env={
        "OTRSHELP_ADMINS": secrets_[0], "OTRSHELP_OWNERS": secrets_[1],
        "OTRSHELP_SITE_CONF": str(site)})
    try:
        scene.start_bot()
        conf = (scene.home / "conf" / "otrshelp.conf").read_text(encoding="utf-8")
        plugins = next(l.split(":", 1)[1].split() for l in conf.splitlines() if l.startswith("supybot.plugins:"))
        plugins = sorted(set(plugins) | {"Owner"})  # Limnoria always loads Owner
        tourist = IrcPerson("127.0.0.1", ircd_services.port, f"tourist{tag}", source="127.0.0.3")
        tourist.join(scene.channel)
        bot = scene.nick

        def one(target: str, line: str) -> list[str]:
            mark = len(tourist.messages)
            tourist.say(target, line)
            try:
                wait_until(lambda: said_to(tourist, bot, mark), 5, line)
            except AssertionError:
                return []
            time.sleep(0.15)
            return said_to(tourist, bot, mark)

        commands: list[tuple[str, str]] = []
        for plugin in plugins:
            (reply,) = one(bot, f"list {plugin}")[:1]
            commands += [(plugin, c) for c in _listed(reply)]
        assert ("OTRSHelp", "status") in commands and ("Owner", "load") in commands, commands
        assert len(commands) > 40
        evil = f"#evil-{tag}"
        answers: dict[tuple[str, str, str], list[str]] = {}
        for plugin, command in commands:
            answers[("private", plugin, command)] = one(bot, f"{plugin} {command} {evil}")
            answers[("channel", plugin, command)] = one(scene.channel, f"!{plugin} {command} {evil}")
        answers[("nested", "OTRSHelp", "application")] = one(
            bot, "application [config supybot.directories.data]")
        from OTRSHelp.access import PUBLIC_COMMANDS

        everything = " ".join(" ".join(v) for v in answers.values())
        for secret in (*secrets_, str(scene.home), str(tmp_path)):
            assert secret not in everything, secret
        for (where, plugin, command), replies in answers.items():
            if where == "nested":
                continue
            if command.lower() not in PUBLIC_COMMANDS.get(plugin.lower(), ()):
                assert replies and all("That command is not available to you." in r for r in replies), \
                    (where, plugin, command, replies)
        mark = len(tourist.events)
        tourist.send_raw(f"NAMES {evil}")
        tourist.wait_for_event(lambda e: e.type == "endofnames", 10, since=mark)
        assert bot not in " ".join(" ".join(e.arguments) for e in tourist.events[mark:] if e.type == "namreply")
        assert scene.bot.alive
        tourist.close()
    finally:
        scene.close()


def test_a_setting_changed_from_irc_survives_a_restart(trust) -> None:
    scene, bot = trust, trust.nick
    owner_account = scene.accounts["owner"][0]
    owner = connect(scene, owner_account, role="owner")
    try:
        ask(owner, bot, [f"config channel {scene.channel} supybot.plugins.OTRSHelp.answerDelay 3"], 1,
            scene.bot.log)
    finally:
        owner.close()
    scene.bot.kill(signal.SIGTERM)  # Limnoria writes its registry back on the way out
    scene.start_bot()
    owner = connect(scene, owner_account, role="owner")
    try:
        (r,) = ask(owner, bot, [f"config channel {scene.channel} supybot.plugins.OTRSHelp.answerDelay"], 1,
                   scene.bot.log)
        assert r.strip() == "3.0", r
    finally:
        owner.close()


def test_replies_still_queued_when_the_admin_quits_reach_nobody(trust) -> None:
    """The bot sends a line every 1.1 s, so a long private answer is still
    going out when the admin quits; whoever takes the nick at once must not
    get the rest."""
    scene, bot = trust, trust.nick
    admin_account = scene.accounts["admin"][0]
    admin = connect(scene, admin_account, role="admin", username="vrt")
    ask(admin, bot, ["note Bob the private remark"], 1, scene.bot.log)
    mark = len(admin.messages)
    for line in ["status Bob", "pending", "status Alice Example", "stale"]:
        admin.say(bot, line)
    wait_until(lambda: said_to(admin, bot, mark), 20, "the first reply", scene.bot.log)
    admin.close()
    impostor = connect(scene, admin_account, username="vrt")
    try:
        time.sleep(12)  # longer than the rest of the queue takes to go out
        got = said_to(impostor, bot, 0)
        assert got == [], got
        assert "not sending a private reply" in scene.bot.log()
    finally:
        impostor.close()

"""InspIRCd, alone or with Anope's NickServ (SASL accounts); ``strict=True``
gives Libera's ordinary limits (flood, excess, echo-message)."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .common import (HOST, _chown_tree, _make_workdir, _port_open, _Server, _spawn, _stop, _wait_until,
                     free_port, require)
from .person import IrcPerson

INSPIRCD = "/usr/sbin/inspircd"
ANOPE = "/usr/sbin/anope"
ANOPE_CONF = Path("/etc/anope")
ANOPE_MODULES = Path("/usr/lib/anope")
ANOPE_LOCALE = Path("/usr/share/anope/locale")


# ---------------------------------------------------------------------------
# IRC: InspIRCd 3, optionally with Anope 2 services
# ---------------------------------------------------------------------------

_INSPIRCD_CONF = """\
<server name="{server_name}" description="OTRSHelp test server" network="{network}" id="0AA">
<admin name="Test" nick="Test" email="test@example.org">
<path configdir="{workdir}" datadir="{workdir}" logdir="{workdir}" runtimedir="{workdir}">
<bind address="{host}" port="{port}" type="clients">
<bind address="{host}" port="{link_port}" type="servers">
{connect}
<pid file="{workdir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{workdir}/inspircd.log">
<dns timeout="1">
<files motd="{workdir}/motd.txt">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes" splitwhois="no">
<security hideserver="" userstats="Pu" flatlinks="no" hidesplits="no" hideulines="no" hidebans="no" maxtargets="20">
<performance clonesonconnect="no" quietbursts="yes" softlimit="1024" somaxconn="128">
<whowas groupsize="10" maxgroups="100000" maxkeep="3d">
<module name="cap">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_capnotify">
<module name="ircv3_servertime">
<module name="services_account">
<module name="sasl">
<module name="spanningtree">
<module name="servprotect">
<module name="hidechans">
<module name="chghost">
<module name="chgident">
<module name="chgname">
<module name="svshold">
<module name="sajoin">
<module name="sapart">
<module name="sanick">
<module name="topiclock">
<module name="mlock">
{extra_modules}<sasl target="{services_name}" requiressl="no">
<link name="{services_name}" ipaddr="{host}" port="{link_port}" allowmask="127.0.0.0/8"
      sendpass="{link_password}" recvpass="{link_password}">
<uline server="{services_name}" silent="yes">
"""


# Lenient: no flood control at all, for tests that must send many lines
# quickly and are not about flooding (each such test says why it uses it).
_CONNECT_LENIENT = """<connect name="main" allow="*" timeout="60" pingfreq="120" threshold="100000"
         hardsendq="1048576" softsendq="65536" recvq="65536"
         localmax="100000" globalmax="100000" limit="100000" maxchans="100"
         maxconnwarn="off" resolvehostnames="no" useident="no"
         fakelag="no" commandrate="100000" uniqueusername="no">"""

# Strict: InspIRCd's own defaults for a <connect> class (fakelag on,
# commandrate 1000 = one command a second after a burst of threshold 10,
# recvq 8192, sendq as shipped), as Libera-like networks keep them. Only the
# per-host connection limits are raised: every test client is 127.0.0.x.
_CONNECT_STRICT = """<connect name="main" allow="*" timeout="60" pingfreq="120"
         threshold="10" commandrate="1000" fakelag="yes" recvq="8192"
         softsendq="8192" hardsendq="1048576"
         localmax="1000" globalmax="1000" limit="5000" maxchans="20"
         maxconnwarn="off" resolvehostnames="no" useident="no" uniqueusername="no">"""

# IRCv3 as on Libera: echo-message gives a receipt for each line the server
# took; msgid and labeled-response come with it.
_STRICT_MODULES = """<module name="monitor">
<module name="ircv3_echomessage">
<module name="ircv3_msgid">
<module name="ircv3_batch">
<module name="ircv3_labeledresponse">
"""


def _patch(text: str, pattern: str, replacement: str, *, count: int = 1) -> str:
    """``re.sub`` that insists on matching: Anope's sample config must not drift silently."""
    new, n = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if n != count:
        raise RuntimeError(f"Anope config: {pattern!r} matched {n} times, expected {count}")
    return new


class IrcServer(_Server):
    """InspIRCd 3 on a plain-text client port, optionally with Anope services.

    With ``services=True``, NickServ accounts and SASL PLAIN work, and
    ``account-tag``/``account-notify``/WHOIS 330 report accounts. No
    ``echo-message`` or ``labeled-response``: with them every reply waits
    about 40 ms. There is no flood control or connection limit for 127.0.0.1.

    :meth:`stop` and :meth:`start` take the network down and bring it back
    on the same ports with the same accounts, for "server gone" tests.
    Registering a connection takes about 1 s (InspIRCd finishes
    registrations on its once-a-second tick).
    """

    host = HOST

    def __init__(
        self,
        services: bool = False,
        *,
        server_name: str = "irc.test",
        network: str = "TestNet",
        services_name: str = "services.test",
        strict: bool = False,
    ) -> None:
        self.services = services
        self.strict = strict
        self.server_name = server_name
        self.network = network
        self.services_name = services_name
        self.port = 0  # chosen by start()
        self.link_port = 0
        self._link_password = secrets.token_hex(12)
        self._ircd: subprocess.Popen[bytes] | None = None
        self._anope: subprocess.Popen[bytes] | None = None

    @classmethod
    def available(cls, services: bool = False) -> bool:
        ok = os.access(INSPIRCD, os.X_OK)
        if services:
            ok = ok and os.access(ANOPE, os.X_OK) and (ANOPE_CONF / "services.conf").exists()
        return ok

    @property
    def anope_dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "anope"

    def _configure(self) -> None:
        """First start: work directory, ports and config files."""
        self.workdir = _make_workdir("ircd")
        # Anope runs as `irc` and must reach its own subdirectory.
        os.chmod(self.workdir, 0o755)
        self.port = free_port()
        self.link_port = free_port()
        (self.workdir / "motd.txt").write_text("OTRSHelp test server\n")
        (self.workdir / "inspircd.conf").write_text(
            _INSPIRCD_CONF.format(
                host=HOST,
                port=self.port,
                link_port=self.link_port,
                workdir=self.workdir,
                server_name=self.server_name,
                network=self.network,
                services_name=self.services_name,
                link_password=self._link_password,
                connect=_CONNECT_STRICT if self.strict else _CONNECT_LENIENT,
                extra_modules=_STRICT_MODULES if self.strict else "",
            )
        )
        if self.services:
            self._configure_anope()

    def _configure_anope(self) -> None:
        conf = self.anope_dir / "conf"
        shutil.copytree(ANOPE_CONF, conf)
        for sub in ("db/backups", "db/modules", "logs"):
            (self.anope_dir / sub).mkdir(parents=True)

        services = (conf / "services.conf").read_text()
        services = _patch(services, r'^(\s*port\s*=\s*)7000\s*$', rf"\g<1>{self.link_port}")
        services = _patch(
            services, r'^(\s*password\s*=\s*)"mypassword"', rf'\g<1>"{self._link_password}"'
        )
        services = _patch(
            services,
            r'^(\s*name\s*=\s*)"services\.example\.com"',
            rf'\g<1>"{self.services_name}"',
        )
        # The host of NickServ & co. (the "services.host" define).
        services = _patch(
            services,
            r'^(\s*value\s*=\s*)"services\.example\.com"',
            rf'\g<1>"{self.services_name}"',
        )
        services = _patch(services, r'^(\s*pid\s*=\s*)".*"', rf'\g<1>"{self.anope_dir}/anope.pid"')
        services = _patch(services, r'^(\s*motd\s*=\s*)".*"', rf'\g<1>"{conf}/services.motd"')
        # InspIRCd's casemapping; with Anope's "ascii" default the link fails.
        services = _patch(services, r'^(\s*casemap\s*=\s*)"ascii"', r'\g<1>"rfc1459"')
        services = _patch(services, r"^(\s*usemail\s*=\s*)yes", r"\g<1>no")
        # Reconnect quickly if the uplink goes away while Anope runs.
        services = _patch(services, r"^(\s*retrywait\s*=\s*)\S+", r"\g<1>2s")
        (conf / "services.conf").write_text(services)

        nickserv = (conf / "nickserv.conf").read_text()
        nickserv = _patch(nickserv, r"^(\s*forceemail\s*=\s*)yes", r"\g<1>no")
        nickserv = _patch(nickserv, r"^(\s*regdelay\s*=\s*)\S+", r"\g<1>0s")
        # No killprotect: a test may use a registered nick without identifying.
        nickserv = _patch(nickserv, r'^(\s*defaults\s*=\s*)"killprotect ', r'\g<1>"')
        nickserv = _patch(nickserv, r"^(\s*maxlogins\s*=\s*)\d+", r"\g<1>0")
        (conf / "nickserv.conf").write_text(nickserv)

        operserv = (conf / "operserv.conf").read_text()
        # os_session kills the 4th client from one host: every test client is 127.0.0.1.
        operserv = _patch(operserv, r'^module(\s*\{\s*name\s*=\s*"os_session")', r"#module\1")
        (conf / "operserv.conf").write_text(operserv)

        _chown_tree(self.anope_dir, "irc")
        os.chmod(self.anope_dir, 0o700)

    def start(self) -> None:
        """Start InspIRCd (and Anope); on a restart, on the same ports as before."""
        if self.workdir is None:
            self._configure()
        assert self.workdir is not None
        log = self.workdir / "inspircd.out"
        try:
            self._ircd = _spawn(
                [INSPIRCD, "--config", self.workdir / "inspircd.conf", "--nofork", "--runasroot"],
                log=log,
                cwd=self.workdir,
            )
            port = self.port
            _wait_until(lambda: _port_open(port), "InspIRCd", proc=self._ircd, log=log)
            if self.services:
                self._start_anope()
        except BaseException:
            self.stop()  # a restart that fails halfway leaves nothing running either
            raise

    def _anope_log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in sorted((self.anope_dir / "logs").glob("services.log*"))
        )

    def _start_anope(self) -> None:
        # Only a "done syncing" written by this run counts, not one from before a restart.
        seen = self._anope_log().count("done syncing")
        out = self.anope_dir / "anope.out"
        self._anope = _spawn(
            [
                ANOPE,
                "--nofork",
                f"--confdir={self.anope_dir / 'conf'}",
                f"--dbdir={self.anope_dir / 'db'}",
                f"--logdir={self.anope_dir / 'logs'}",
                f"--modulesdir={ANOPE_MODULES}",
                f"--localedir={ANOPE_LOCALE}",
            ],
            log=out,
            cwd=self.anope_dir,
            user="irc",
        )
        _wait_until(
            lambda: self._anope_log().count("done syncing") > seen,
            "Anope",
            proc=self._anope,
            log=out,
        )

    def stop(self) -> None:
        """Stop services and server; :meth:`start` brings them back on the same ports."""
        try:
            _stop(self._anope)  # SIGTERM: Anope saves its database on the way out
        finally:
            self._anope = None
            _stop(self._ircd)
            self._ircd = None

    @property
    def running(self) -> bool:
        return self._ircd is not None and self._ircd.poll() is None

    def register_account(
        self, nick: str, password: str, email: str = "test@example.org", timeout: float = 20
    ) -> None:
        """Register NickServ account ``nick`` (needs ``services=True``).

        Connects a throwaway client under that nick, sends ``REGISTER`` and
        waits for NickServ's confirmation.
        """
        if not self.services:
            raise RuntimeError("register_account needs IrcServer(services=True)")
        with IrcPerson(self.host, self.port, nick) as person:
            mark = len(person.messages)
            person.say("NickServ", f"REGISTER {password} {email}")
            _kind, _source, _target, text = person.wait_for(
                lambda m: m[1] == "NickServ" and m[0] in ("privnotice", "privmsg"),
                timeout,
                since=mark,
            )
            # Anope 2.0: "Nickname \x02NICK\x02 registered."
            plain = re.sub(r"\x03\d{0,2}(?:,\d{1,2})?|[\x02\x0f\x16\x1d\x1f]", "", text)
            if not re.match(rf"Nickname {re.escape(nick)} registered\b", plain, re.IGNORECASE):
                raise RuntimeError(f"NickServ did not register {nick!r}: {plain!r}")


@pytest.fixture(scope="session")
def ircd() -> Iterator[IrcServer]:
    """An InspIRCd without services for the whole session (fast to start)."""
    require("InspIRCd", IrcServer.available(), "apt-get install inspircd")
    with IrcServer() as server:
        yield server


@pytest.fixture(scope="session")
def ircd_services() -> Iterator[IrcServer]:
    """An InspIRCd linked with Anope (accounts, SASL) for the whole session."""
    require(
        "InspIRCd + Anope",
        IrcServer.available(services=True),
        "apt-get install inspircd; apt-get install --no-install-recommends anope",
    )
    with IrcServer(services=True) as server:
        yield server


@pytest.fixture(scope="session")
def ircd_libera() -> Iterator[IrcServer]:
    """InspIRCd + Anope as strict as Libera: default flood limits (fakelag,
    commandrate, recvq), account-tag, echo-message. For the tests that are
    about what a real network does to the bot."""
    require(
        "InspIRCd + Anope",
        IrcServer.available(services=True),
        "apt-get install inspircd; apt-get install --no-install-recommends anope",
    )
    with IrcServer(services=True, strict=True, server_name="strict.test",
                   services_name="services.strict.test") as server:
        yield server


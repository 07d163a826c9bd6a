#!/usr/bin/env python3
"""Run OTRSHelp, or ask it what it reads on the page and how it would answer.

    python run_bot.py                      run the bot (configuration from the environment)
    python run_bot.py scan [--wikitext FILE | --page TITLE] [--json]
    python run_bot.py faq "LINE" [--ask] [--explain] [--lang L] [--json]

The bot's Limnoria registry is written anew on every start from ``conf/`` and
the environment into ``OTRSHELP_HOME`` (private; the SASL
password is kept in memory only), so the environment is the single source of truth and no
secret ever sits in the repository.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from OTRSHelp import defaults as plugin_defaults  # noqa: E402  (no Limnoria import)

# The connection's defaults (the contract's). The plugin's own settings have
# their defaults in OTRSHelp/config.py (via OTRSHelp/defaults.py); run_bot
# writes a plugin setting only when its variable is set, so conf/otrshelp.conf
# can set it too.
DEFAULTS = {
    "OTRSHELP_NICK": "OTRSHelp",
    "OTRSHELP_IRC_SERVER": "irc.libera.chat:6697",
    "OTRSHELP_IRC_TLS": "true",
    "OTRSHELP_CHANNELS": "#wikimedia-otrsconnect",
    "OTRSHELP_PREFIX": "!",
    "OTRSHELP_WIKI_API": plugin_defaults.WIKI_API,
    "OTRSHELP_PAGE": plugin_defaults.PAGE,
    "OTRSHELP_EVENTSTREAM": plugin_defaults.EVENTSTREAM,
    "OTRSHELP_POLL_SECONDS": str(plugin_defaults.POLL_SECONDS),
    "OTRSHELP_HOME": "./var",
}
# variable -> the plugin setting it overrides when set
PLUGIN_VARIABLES = {
    "OTRSHELP_WIKI_API": "supybot.plugins.OTRSHelp.wikiApi",
    "OTRSHELP_PAGE": "supybot.plugins.OTRSHelp.page",
    "OTRSHELP_EVENTSTREAM": "supybot.plugins.OTRSHelp.eventStream",
    "OTRSHELP_POLL_SECONDS": "supybot.plugins.OTRSHelp.pollSeconds",
    "OTRSHELP_CONTACT": "supybot.plugins.OTRSHelp.contact",
}
NETWORK = "libera"
# salt of the unusable password of users.conf entries run_bot makes for
# OTRSHELP_OWNERS; "salt|!..." never equals Limnoria's "salt|<hex digest>"
MANAGED_SALT = "otrshelp-admins"


class ConfigError(Exception):
    """A setting that is missing or wrong: one line for the person running the bot."""


@dataclass
class Settings:
    nick: str
    server: str
    port: int
    tls: bool
    channels: list[str]
    sasl_user: str
    sasl_password: str = field(repr=False)
    admins: list[str]
    owners: list[str]
    prefix: str
    wiki_api: str
    page: str
    eventstream: str
    poll_seconds: int
    db: str
    home: Path
    contact: str
    network: str = NETWORK
    extra: dict[str, str] = field(default_factory=dict)
    site_conf: Path = ROOT / "conf" / "otrshelp.conf"
    set_vars: frozenset[str] = frozenset()  # the variables the environment set


def _env(env: dict[str, str], name: str) -> str:
    value = env.get(name)
    if value is None:
        value = DEFAULTS.get(name, "")
    return value.strip()


def _accounts(env: dict[str, str], name: str) -> list[str]:
    accounts = [a for a in re.split(r"[\s,]+", _env(env, name)) if a]
    for a in accounts:
        if not re.fullmatch(r"[^\s:!@#*?,]{1,64}", a):
            raise ConfigError(f"{name}: {a!r} is not a services account name")
    return accounts


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Validate the environment; every problem names its variable."""
    env = dict(os.environ if env is None else env)
    nick = _env(env, "OTRSHELP_NICK")
    if not re.fullmatch(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}", nick):
        raise ConfigError(f"OTRSHELP_NICK: {nick!r} is not a valid IRC nick")
    server = _env(env, "OTRSHELP_IRC_SERVER")
    m = re.fullmatch(r"\[?([A-Za-z0-9.:-]+?)\]?:(\d{1,5})", server)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ConfigError(f"OTRSHELP_IRC_SERVER: {server!r} should be host:port, e.g. irc.libera.chat:6697")
    tls_text = _env(env, "OTRSHELP_IRC_TLS").lower()
    if tls_text not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise ConfigError(f"OTRSHELP_IRC_TLS: {tls_text!r} should be true or false")
    channels = _env(env, "OTRSHELP_CHANNELS").split()
    if not channels:
        raise ConfigError("OTRSHELP_CHANNELS: give at least one channel, e.g. #wikimedia-vrtconnect")
    for ch in channels:
        if not re.fullmatch(r"[#&][^\s,\x07]{1,49}", ch):
            raise ConfigError(f"OTRSHELP_CHANNELS: {ch!r} is not a channel name")
    sasl_user = _env(env, "OTRSHELP_SASL_USER")
    sasl_password = env.get("OTRSHELP_SASL_PASSWORD", "")
    if bool(sasl_user) != bool(sasl_password):
        missing = "OTRSHELP_SASL_PASSWORD" if sasl_user else "OTRSHELP_SASL_USER"
        raise ConfigError(f"{missing}: set both OTRSHELP_SASL_USER and OTRSHELP_SASL_PASSWORD, or neither")
    admins = _accounts(env, "OTRSHELP_ADMINS")
    owners = _accounts(env, "OTRSHELP_OWNERS")
    prefix = _env(env, "OTRSHELP_PREFIX")
    if len(prefix) != 1 or prefix.isalnum() or prefix.isspace():
        raise ConfigError(f"OTRSHELP_PREFIX: {prefix!r} should be one punctuation character, e.g. !")
    wiki_api = _env(env, "OTRSHELP_WIKI_API")
    if urlsplit(wiki_api).scheme not in ("http", "https") or not urlsplit(wiki_api).netloc:
        raise ConfigError(f"OTRSHELP_WIKI_API: {wiki_api!r} should be an http(s) URL of api.php")
    page = _env(env, "OTRSHELP_PAGE")
    if not page or any(c in page for c in "[]{}|#<>"):
        raise ConfigError(f"OTRSHELP_PAGE: {page!r} is not a page title")
    stream = _env(env, "OTRSHELP_EVENTSTREAM")
    if stream and urlsplit(stream).scheme not in ("http", "https"):
        raise ConfigError(f"OTRSHELP_EVENTSTREAM: {stream!r} should be an http(s) URL, or empty to turn it off")
    poll_text = _env(env, "OTRSHELP_POLL_SECONDS")
    try:
        poll = int(poll_text)
        if not 1 <= poll <= 86400:
            raise ValueError
    except ValueError:
        raise ConfigError(f"OTRSHELP_POLL_SECONDS: {poll_text!r} should be a whole number of seconds (1-86400)") from None
    home = Path(_env(env, "OTRSHELP_HOME") or "./var").expanduser()
    db = env.get("OTRSHELP_DB", "").strip()
    if db and "://" not in db:
        raise ConfigError("OTRSHELP_DB: should be an SQLAlchemy URL, e.g. sqlite:////path/otrshelp.db "
                          "or postgresql+psycopg://user@host/db")
    contact = _env(env, "OTRSHELP_CONTACT")
    extra: dict[str, str] = {}
    timeout_text = _env(env, "OTRSHELP_HTTP_TIMEOUT")
    if timeout_text:
        try:
            if not 0 < float(timeout_text) <= 300:
                raise ValueError
        except ValueError:
            raise ConfigError(f"OTRSHELP_HTTP_TIMEOUT: {timeout_text!r} should be seconds (0-300)") from None
        extra["supybot.plugins.OTRSHelp.httpTimeout"] = timeout_text
    site_conf = Path(_env(env, "OTRSHELP_SITE_CONF") or ROOT / "conf" / "otrshelp.conf").expanduser()
    if _env(env, "OTRSHELP_SITE_CONF") and not site_conf.is_file():
        raise ConfigError(f"OTRSHELP_SITE_CONF: {str(site_conf)!r} is not a readable file")
    set_vars = frozenset(k for k, v in env.items() if k.startswith("OTRSHELP_") and v.strip()
                         or k == "OTRSHELP_EVENTSTREAM")
    return Settings(site_conf=site_conf, set_vars=set_vars, nick=nick, server=m.group(1), port=int(m.group(2)),
                    tls=tls_text in ("true", "1", "yes", "on"), channels=channels,
                    sasl_user=sasl_user, sasl_password=sasl_password, admins=admins, owners=owners,
                    prefix=prefix, wiki_api=wiki_api, page=page, eventstream=stream,
                    poll_seconds=poll, db=db, home=home.resolve(), contact=contact, extra=extra)


# ---------------------------------------------------------------------------
# The Limnoria registry
# ---------------------------------------------------------------------------

def _escape(value: str) -> str:
    """Limnoria decodes registry values with unicode_escape."""
    return str(value).encode("unicode_escape").decode("ascii")


def registry_lines(st: Settings, site_conf: Path | None = None) -> list[str]:
    """The registry the bot starts with. Secrets are not in it: run_bot
    sets the SASL password in memory after the registry is read."""
    home = st.home
    net = f"supybot.networks.{st.network}"
    # No User, NickAuth or Channel plugin: nobody registers, identifies or
    # logs in by nick or hostmask; owners are recognised by account alone.
    plugins = ["Admin", "Config", "Misc", "Owner", "OTRSHelp"]
    # built-in defaults, then the site's conf/otrshelp.conf, then what comes
    # from the environment (the environment always wins)
    values: dict[str, str] = {
        "supybot.ident": "otrshelp",
        "supybot.user": "OTRSHelp, the VRT recruiting bot",
        f"{net}.sasl.mechanisms": "PLAIN",
        f"{net}.capabilities": "account-tag extended-join account-notify message-tags",
        "supybot.reply.whenAddressedBy.nick": "True",
        "supybot.reply.whenNotCommand": "False",
        "supybot.reply.error.detailed": "False",
        # one line every 1.1 s: Libera-like servers (InspIRCd commandrate 1000)
        # allow one command a second after a short burst, and disconnect a
        # client whose backlog passes 8 KB (RecvQ exceeded)
        "supybot.protocols.irc.throttleTime": "1.1",
        "supybot.drivers.poll": "0.1",  # lines from the poller thread go out within 0.1 s
        # Limnoria keeps the last N messages in and out (about 1.5 KB each,
        # tags included) for plugins that look back (Seen, Misc.last): none
        # here. 1,000 by default is 1.5 MB that fills over the first days.
        "supybot.protocols.irc.maxHistoryLength": "100",
        "supybot.drivers.maxReconnectWait": "120",
        "supybot.log.stdout": "True",
        "supybot.log.stdout.colorized": "False",
        "supybot.log.level": "INFO",
        "supybot.log.plugins.individualLogfiles": "False",
        "supybot.databases.users.allowUnregistration": "False",
        # a command's output never becomes another command's argument, so an
        # admin reply cannot be laundered into a public one
        "supybot.commands.nested": "False",
        # a refusal says no more than that
        "supybot.reply.error.noCapability": "True",
        "supybot.replies.genericNoCapability": "That command is not available to you.",
    }
    for p in plugins:  # "list" shows the bot's own commands, not the machinery
        if p not in ("Misc", "OTRSHelp"):
            values[f"supybot.plugins.{p}.public"] = "False"
    # Flood protection sized for a person exploring the bot, not for a
    # script: plain questions are not counted (the plugin takes them out),
    # and an ignore names the person (nick!user@host), not a shared gateway
    # host, and lasts a minute (README, "Flood protection").
    values.update({
        "supybot.abuse.flood.interval": "60",
        "supybot.abuse.flood.command.maximum": "20",
        "supybot.abuse.flood.command.punishment": "60",
        "supybot.abuse.flood.command.invalid.maximum": "10",
        "supybot.abuse.flood.command.invalid.punishment": "60",
        "supybot.protocols.irc.banmask": "nick user host",
    })
    for command in ("status", "announce", "apply", "note", "faq", "queue", "help"):
        values[f"supybot.commands.defaultPlugins.{command}"] = "OTRSHelp"
    for p in plugins:
        values[f"supybot.plugins.{p}"] = "True"
    values.update(_conf_file_values(site_conf or st.site_conf))
    values.update({
        "supybot.nick": st.nick,
        "supybot.networks": st.network,
        f"{net}.servers": f"{st.server}:{st.port}",
        f"{net}.ssl": str(st.tls),
        f"{net}.channels": " ".join(st.channels),
        f"{net}.sasl.username": st.sasl_user,
        "supybot.directories.conf": str(home / "conf"),
        "supybot.directories.data": str(home / "data"),
        "supybot.directories.data.tmp": str(home / "data" / "tmp"),
        "supybot.directories.data.web": str(home / "web"),
        "supybot.directories.backup": str(home / "backup"),
        "supybot.directories.log": str(home / "logs"),
        "supybot.directories.plugins": f"{ROOT},{ROOT / 'plugins'}",
        "supybot.plugins": " ".join(plugins),
        "supybot.reply.whenAddressedBy.chars": st.prefix,
        "supybot.plugins.OTRSHelp.admins": " ".join(st.admins),
    })
    from_env = {"OTRSHELP_WIKI_API": st.wiki_api, "OTRSHELP_PAGE": st.page,
                "OTRSHELP_EVENTSTREAM": st.eventstream, "OTRSHELP_POLL_SECONDS": str(st.poll_seconds),
                "OTRSHELP_CONTACT": st.contact}
    for var, key in PLUGIN_VARIABLES.items():
        if var in st.set_vars:
            values[key] = from_env[var]
    values.update(st.extra)
    return [f"{k}: {_escape(v)}" for k, v in values.items()]


def _registry_file(path: Path) -> dict[str, str]:
    """``key: value`` lines of a Limnoria registry file, values as written."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("supybot."):
            continue
        # keys hold colons themselves (".:libera.#chan" for a network's channel)
        key, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):
            key, value = line[:-1], ""
        elif not sep:
            continue
        out[key.strip()] = value
    return out


def merge_irc_changes(new: list[str], old_file: dict[str, str], written: dict[str, str],
                      st: Settings) -> list[str]:
    """Keep what was changed from IRC across a restart.

    Precedence, lowest first: config.py's defaults, run_bot's own values,
    conf/otrshelp.conf, values changed from IRC (``config``, ``announce
    off``: kept in OTRSHELP_HOME), then the environment. A value changed from
    IRC is one whose key run_bot wrote at the last start and Limnoria's file
    now holds with another value; a key run_bot never wrote (a channel's own
    setting, say) is carried over as Limnoria left it."""
    lines = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in new)
    env_keys = _env_owned_keys(st)
    for key, value in old_file.items():
        if key in env_keys or key.endswith(".sasl.password"):
            continue
        if key not in written:
            lines.setdefault(key, value)  # Limnoria's own, or made from IRC: carried over
        elif written[key] != value:
            lines[key] = value  # changed from IRC: wins over the site conf
    return [f"{k}: {v}" for k, v in lines.items()]


def _env_owned_keys(st: Settings) -> set[str]:
    net = f"supybot.networks.{st.network}"
    keys = {"supybot.nick", "supybot.networks", f"{net}.servers", f"{net}.ssl", f"{net}.channels",
            f"{net}.sasl.username", "supybot.plugins", "supybot.reply.whenAddressedBy.chars",
            "supybot.plugins.OTRSHelp.admins", "supybot.directories.plugins"}
    keys |= {k for k in ("supybot.directories.conf", "supybot.directories.data",
                         "supybot.directories.data.tmp", "supybot.directories.data.web",
                         "supybot.directories.backup", "supybot.directories.log")}
    keys |= {key for var, key in PLUGIN_VARIABLES.items() if var in st.set_vars}
    keys |= set(st.extra)
    return keys


def _conf_file_values(path: Path) -> dict[str, str]:
    """Site defaults in ``conf/otrshelp.conf`` (registry lines; no secrets)."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.startswith("supybot."):
            raise ConfigError(f"{path}:{n}: expected 'supybot.name: value'")
        out[key.strip()] = value.strip()
    return out


def users_conf(owners: list[str]) -> str:
    """users.conf: one bot user per owner account and nothing else.

    The file is written anew on every start, so no user made earlier (by a
    stranger's ``register``, say) can shadow an owner or lock one out. The
    plugin logs a user in only for a message that carries that account
    (``supybot.plugins.OTRSHelp.accountsOnly``); the password is unusable.
    VRTS admins are not Limnoria users at all: the plugin checks their
    account on each admin command.
    """
    import secrets  # here, not at the top: `scan` never needs it

    out: list[str] = []
    for i, account in enumerate(owners, 1):
        out += [f"user {i}", f"  name {account}", "  ignore False", "  secure False",
                "  hashed True", f"  password {MANAGED_SALT}|!{secrets.token_hex(16)}",
                "  capability owner", ""]
    return "\n".join(out) + "\n"


def prepare_home(st: Settings) -> Path:
    """Create the private runtime directory and write the registry into it."""
    os.umask(0o077)
    for sub in ("conf", "data", "data/tmp", "logs", "backup", "web"):
        (st.home / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(st.home, 0o700)
    for name in ("channels.conf", "networks.conf", "ignores.conf"):  # Limnoria's own, kept
        (st.home / "conf" / name).touch(mode=0o600, exist_ok=True)
    conf_file = st.home / "conf" / "otrshelp.conf"
    written_file = st.home / "conf" / "written-by-run_bot.json"
    ours = registry_lines(st)
    try:
        written = json.loads(written_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = {}
    lines = merge_irc_changes(ours, _registry_file(conf_file), written, st)
    conf_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(conf_file, 0o600)
    # what run_bot itself made of conf/ and the environment: a later
    # difference in Limnoria's file is a change made from IRC
    written_file.write_text(json.dumps(dict(l.split(": ", 1) if ": " in l else (l.rstrip(":"), "")
                                            for l in ours), indent=0), encoding="utf-8")
    os.chmod(written_file, 0o600)
    users = st.home / "conf" / "users.conf"
    users.write_text(users_conf(st.owners), encoding="utf-8")
    os.chmod(users, 0o600)
    return conf_file


def _unsaved(cls: type) -> type:
    """The same registry value type, written to disk as empty."""

    class Unsaved(cls):  # type: ignore[misc, valid-type]
        __slots__ = ()

        def serialize(self) -> str:
            return ""

    return Unsaved


class ConnectionRetries(logging.Filter):
    """Limnoria logs three lines at every attempt to reach an IRC server that
    does not answer; the operator needs one: what failed and how often it
    is tried again, then one when it answers."""

    def __init__(self, server: str, max_wait: int) -> None:
        super().__init__()
        self.server, self.max_wait = server, max_wait
        self.failing = False

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)  # Limnoria's own records may carry spare args
        if text.startswith("Error connecting to "):
            try:
                text = record.getMessage()
            except (TypeError, ValueError):
                pass
            if self.failing:
                return False
            self.failing = True
            reason = text.split(": ", 1)[-1]
            record.msg, record.args = (
                "cannot reach the IRC server %s (%s); trying again every 10 s or so, at most every "
                "%s s, until it answers", (self.server, reason, self.max_wait))
            return True
        if self.failing and text.startswith(("Connecting to ", "Reconnecting to ")):
            return False
        if self.failing and " has version " in text:
            self.failing = False
            record.msg, record.args = "the IRC server %s answers again", (self.server,)
        return True


def run_bot(st: Settings, conf_file: Path) -> int:
    """Start Limnoria on the registry prepare_home wrote; returns on exit."""
    if st.db:
        os.environ["OTRSHELP_DB"] = st.db
    os.environ["OTRSHELP_HOME"] = str(st.home)
    import supybot.registry as registry

    # The password lives in memory only: set right after the registry is
    # read, and never serialised, so Limnoria's flushes write it nowhere.
    original_open = registry.open_registry

    def open_registry(filename: str, *args, **kwargs):
        result = original_open(filename, *args, **kwargs)
        import supybot.log  # after the registry, as Limnoria itself does

        supybot.log._logger.addFilter(ConnectionRetries(f"{st.server}:{st.port}", 120))
        if st.sasl_password:
            import supybot.conf as conf

            password = conf.supybot.networks.get(st.network).sasl.password
            password.setValue(st.sasl_password)
            password.__class__ = _unsaved(type(password))
        return result

    registry.open_registry = open_registry
    from supybot.scripts import limnoria

    argv = ["limnoria"]
    if os.name == "posix" and os.geteuid() == 0:
        argv.append("--allow-root")
    argv.append(str(conf_file))
    sys.argv = argv
    try:
        limnoria.main()
        return 0
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 0


# ---------------------------------------------------------------------------
# scan and faq
# ---------------------------------------------------------------------------

def cmd_scan(args: argparse.Namespace) -> int:
    from OTRSHelp.parser import parse_page

    if args.wikitext:
        try:
            text = Path(args.wikitext).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            print(f"scan: cannot read {args.wikitext}: {e.strerror}", file=sys.stderr)
            return 2
        source = args.wikitext
    else:
        from OTRSHelp.wikiclient import WikiClient, WikiError

        env = dict(os.environ)
        api = _env(env, "OTRSHELP_WIKI_API")
        title = args.page or _env(env, "OTRSHELP_PAGE")
        # a person is waiting: fewer, shorter retries than the bot's poller
        client = WikiClient(api, contact=_env(env, "OTRSHELP_CONTACT"), max_retries=2, backoff=0.5)
        try:
            info = client.resolve_page(title)
            revs = list(client.revisions_after(info.pageid, None))
        except WikiError as e:
            print(f"scan: {e}", file=sys.stderr)
            return 1
        text = revs[-1].text if revs else ""
        source = f"{info.title} (revision {info.lastrevid})"
    apps = parse_page(text)
    if not apps:
        print(f"scan: warning: no applications found in {source}; "
              "is this the volunteering page?", file=sys.stderr)
    if args.json:
        print(json.dumps({"applications": [a.to_json() for a in apps]}, ensure_ascii=False, indent=2))
        return 0
    print(_table(apps))
    return 0


def _table(apps) -> str:
    from OTRSHelp.parser import iso

    headers = ["applicant", "status", "opened", "queues", "+", "-", "=", "? (open)", "last activity"]
    rows = []
    for a in apps:
        last, by = a.last_activity
        rows.append([a.applicant, a.status, (iso(a.opened) or "")[:10], ", ".join(a.queues),
                     str(len(a.support)), str(len(a.oppose)), str(len(a.neutral)),
                     f"{len(a.questions)} ({len(a.open_questions())})",
                     f"{(iso(last) or '')[:16].replace('T', ' ')} {by or ''}".strip()])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.append(f"{len(apps)} application(s)")
    return "\n".join(lines)


def cmd_faq(args: argparse.Namespace) -> int:
    """What the bot would say: by default exactly what it does with this line
    said in the channel (null topic = silence); ``--ask`` the ``faq
    <question>`` command; ``--explain`` the scores, the gates and why."""
    from OTRSHelp.faq import KnowledgeBase

    kb = KnowledgeBase.load()
    if args.sources:
        missing = [t for t in kb.topics() if not kb.sources(t)]
        for t in kb.topics():
            print(f"{t}: {' '.join(kb.sources(t)) or 'NO SOURCE'}")
        return 1 if missing else 0
    question = " ".join(args.question)
    if args.ask:
        match, why = kb.lookup(question, lang=args.lang), "the faq command's lookup"
        explain = {"reason": "answer" if match else "no topic scored enough for the faq command",
                   "lenient": kb.explain(question)["lenient"]}
    else:
        decision = kb.decide(question, require_domain=args.require_topic_word)
        match, why = decision.match, decision.reason
        if match is not None and args.lang:
            match = type(match)(match.topic, match.score, args.lang, kb.answer(match.topic, args.lang))
        explain = kb.explain(question, require_domain=args.require_topic_word)
    if args.json:
        out = {"topic": None} if match is None else {
            "topic": match.topic, "score": round(match.score, 3), "lang": match.lang, "answer": match.answer}
        if args.explain:
            out["explain"] = explain
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if args.explain:
        for key, value in explain.items():
            print(f"{key}: {value}")
    if match is None:
        print(f"No topic: the bot stays silent ({why})." if not args.ask else "No topic matches.")
        if args.ask:
            near = kb.suggest(question)
            if near:
                print(f"Nearest: {', '.join(near)}")
        return 0
    print(f"[{match.topic}, {match.lang}, score {match.score:.2f}] {match.answer}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="run_bot.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    scan = sub.add_parser("scan", help="what the bot reads on the page now")
    src = scan.add_mutually_exclusive_group()
    src.add_argument("--wikitext", metavar="FILE", help="read this wikitext file instead of the wiki")
    src.add_argument("--page", metavar="TITLE", help="page title on OTRSHELP_WIKI_API")
    scan.add_argument("--json", action="store_true", help="JSON as in DESIGN.md")
    faq = sub.add_parser("faq", help="which FAQ answer the bot would give")
    faq.add_argument("question", nargs="*")
    faq.add_argument("--lang", choices=["en", "de", "nl"], default=None,
                     help="answer in this language instead of the line's")
    faq.add_argument("--json", action="store_true", help='{"topic", "score", "lang", "answer"}; topic null = silence')
    faq.add_argument("--ask", action="store_true", help="the 'faq <question>' command instead of a channel line")
    faq.add_argument("--explain", action="store_true", help="scores, gates and why the bot stays quiet")
    faq.add_argument("--require-topic-word", action="store_true",
                     help="as in a channel with requireTopicWord on (a wider topic)")
    faq.add_argument("--sources", action="store_true", help="list every topic's source pages")
    args = parser.parse_args(argv)
    if args.command == "scan":
        return cmd_scan(args)
    if args.command == "faq":
        return cmd_faq(args)
    try:
        settings = load_settings()
        conf_file = prepare_home(settings)
    except ConfigError as e:
        print(f"run_bot.py: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"run_bot.py: OTRSHELP_HOME: cannot prepare {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    if not settings.sasl_user:
        print("run_bot.py: no OTRSHELP_SASL_USER: connecting without a services account. On Libera "
              "that leaves the nick unprotected, and Libera requires SASL from some networks "
              "(Tor, some hosting providers).", file=sys.stderr)
    return run_bot(settings, conf_file)


if __name__ == "__main__":
    sys.exit(main())

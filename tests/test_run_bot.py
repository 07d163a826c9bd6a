"""run_bot.py as the person running the bot meets it.

The command line (``scan``, ``faq``, configuration errors) runs as a real
subprocess from the repository root, exactly as README shows it; the pieces
that build the runtime directory (settings, registry, users.conf) are called
in-process and their output is read back with Limnoria's own readers.

Every subprocess gets ``OTRSHELP_HOME`` in a temporary directory and no other
``OTRSHELP_*`` variable from the caller's environment, so nothing is written
into the repository and a developer's own settings cannot change a result.
None of the subprocesses here reaches the network: ``scan`` reads a local
file, ``faq`` the local knowledge base, and a bad setting stops the bot
before it connects anywhere.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import run_bot
from run_bot import ConfigError, load_settings, prepare_home, registry_lines

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path("tests") / "fixtures"  # relative: the commands run with cwd = ROOT
SAMPLE = str(FIXTURES / "volunteering-2020-sample.wiki")

SCAN_KEYS = {"applicant", "status", "opened", "closed", "closed_by", "queues", "languages",
             "support", "oppose", "neutral", "questions", "comments", "last_activity",
             "last_by", "anchor"}
STATUSES = {"open", "approved", "declined", "withdrawn", "on hold"}
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SECRET = "hunter2-Sekr3t-\u00e4-never-shown"


def run(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python run_bot.py ARGS`` from the repository root."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("OTRSHELP_")}
    full["OTRSHELP_HOME"] = str(home)
    full["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ written by the child
    full["PYTHONIOENCODING"] = "utf-8"
    full.update(env or {})
    return subprocess.run([sys.executable, "run_bot.py", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)


def no_traceback(p: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in p.stderr, p.stderr
    assert "Traceback" not in p.stdout, p.stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def keep_umask():
    """prepare_home() sets a private umask for the bot process; give the
    test process its own back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


# ---------------------------------------------------------------------------
# scan
# ---------------------------------------------------------------------------

def scan_json(path: str, home: Path) -> list[dict]:
    p = run("scan", "--wikitext", path, "--json", home=home)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert set(data) == {"applications"}
    assert isinstance(data["applications"], list)
    return data["applications"]


def check_contract(app: dict) -> None:
    """One application as DESIGN.md's contract spells it."""
    assert set(app) == SCAN_KEYS, sorted(set(app) ^ SCAN_KEYS)
    assert isinstance(app["applicant"], str) and app["applicant"]
    assert app["status"] in STATUSES
    for key in ("opened", "closed", "last_activity"):
        assert app[key] is None or ISO_Z.match(app[key]), (key, app[key])
    for key in ("closed_by", "last_by"):
        assert app[key] is None or isinstance(app[key], str)
    assert all(isinstance(q, str) and q == q.lower() for q in app["queues"]), app["queues"]
    assert all(isinstance(lang, str) for lang in app["languages"])
    for key in ("support", "oppose", "neutral"):
        signers = app[key]
        assert isinstance(signers, list) and all(isinstance(s, str) and s for s in signers)
        assert len(signers) == len(set(signers)), f"{key} names a signer twice: {signers}"
    assert isinstance(app["questions"], int) and app["questions"] >= 0
    assert isinstance(app["comments"], int) and app["comments"] >= 0
    assert isinstance(app["anchor"], str)
    if app["status"] == "open":
        assert app["closed"] is None and app["closed_by"] is None


def test_scan_json_has_the_documented_shape_and_real_values(home: Path) -> None:
    apps = scan_json(SAMPLE, home)
    for app in apps:
        check_contract(app)
    by = {a["applicant"]: a for a in apps}
    assert list(by) == ["Masumrezarock100", "MB-one", "LakesideMiners", "Hispano76", "ExampleNewbie"]

    masum = by["Masumrezarock100"]
    assert masum["status"] == "declined"
    assert masum["opened"] == "2020-01-19T11:32:00Z"
    assert masum["closed"] == "2020-02-02T09:15:00Z"
    assert masum["closed_by"] == "ExampleAdmin"
    assert masum["queues"] == ["permissions-commons", "photosubmission"]
    assert masum["languages"] == ["English", "Bengali"]
    assert masum["support"] == ["GreenMeansGo"]
    assert masum["oppose"] == [] and masum["neutral"] == []
    assert masum["questions"] == 1  # AntiCompositeNumber's ping ending in a question
    assert masum["anchor"] == "Masumrezarock100"

    mb = by["MB-one"]
    assert mb["status"] == "approved"
    assert mb["opened"] == "2020-01-14T08:12:00Z"
    assert mb["closed"] == "2020-01-20T18:44:00Z"
    assert mb["queues"] == ["info-de", "permissions-de"]
    assert mb["support"] == ["ExampleSupporter"]  # signed on Meta with [[m:User:...]]
    assert mb["questions"] == 1  # the {{q}} from the IPv6 address

    lake = by["LakesideMiners"]
    assert lake["status"] == "on hold"
    assert sorted(lake["support"]) == ["Operator873", "Vermont"]
    assert lake["oppose"] == ["ExampleOpposer"]
    assert lake["last_activity"] == "2020-01-28T12:00:00Z" and lake["last_by"] == "ExampleAdmin"

    assert by["Hispano76"]["status"] == "withdrawn"
    assert by["Hispano76"]["closed_by"] == "Hispano76"

    newbie = by["ExampleNewbie"]
    assert newbie["status"] == "open"
    assert newbie["opened"] == "2020-02-04T04:05:00Z"  # from {{unsigned|ExampleNewbie|...}}
    assert newbie["oppose"] == []  # the struck oppose does not count
    assert newbie["closed"] is None and newbie["closed_by"] is None


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / FIXTURES).glob("*.wiki")))
def test_scan_json_keeps_the_contract_on_every_fixture(name: str, home: Path) -> None:
    for app in scan_json(str(FIXTURES / name), home):
        check_contract(app)


def test_scan_table_names_each_applicant_and_counts(home: Path) -> None:
    p = run("scan", "--wikitext", SAMPLE, home=home)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for applicant, status in [("Masumrezarock100", "declined"), ("MB-one", "approved"),
                              ("LakesideMiners", "on hold"), ("Hispano76", "withdrawn"),
                              ("ExampleNewbie", "open")]:
        row = [line for line in lines if line.split() and line.split()[0] == applicant]
        assert len(row) == 1, f"{applicant} not in the table:\n{p.stdout}"
        assert status in row[0]
    assert re.search(r"^5 application", p.stdout, re.M), p.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(p.stdout)  # a table, not JSON


def test_scan_of_another_page_warns_and_gives_an_empty_list(home: Path) -> None:
    p = run("scan", "--wikitext", str(FIXTURES / "not-a-volunteering-page.wiki"), "--json", home=home)
    no_traceback(p)
    assert p.returncode == 0
    assert json.loads(p.stdout) == {"applications": []}
    assert "warning" in p.stderr.lower()
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_scan_table_of_another_page_says_zero(home: Path) -> None:
    p = run("scan", "--wikitext", str(FIXTURES / "not-a-volunteering-page.wiki"), home=home)
    no_traceback(p)
    assert p.returncode == 0
    assert re.search(r"^0 application", p.stdout, re.M), p.stdout
    assert "warning" in p.stderr.lower()


@pytest.mark.parametrize("missing", ["tests/fixtures/no-such-page.wiki", "tests/fixtures"])
def test_scan_of_a_missing_file_is_one_clear_line(missing: str, home: Path) -> None:
    p = run("scan", "--wikitext", missing, "--json", home=home)
    no_traceback(p)
    assert p.returncode != 0
    err = p.stderr.strip().splitlines()
    assert len(err) == 1, p.stderr
    assert missing in err[0]
    assert p.stdout == ""


@pytest.mark.parametrize("as_json", [True, False])
def test_scan_of_a_malformed_page_does_not_crash(as_json: bool, home: Path) -> None:
    args = ["scan", "--wikitext", str(FIXTURES / "malformed.wiki")] + (["--json"] if as_json else [])
    p = run(*args, home=home)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    if as_json:
        apps = json.loads(p.stdout)["applications"]
        for app in apps:
            check_contract(app)
        assert "Sparrow" in {a["applicant"] for a in apps}


def test_scan_of_binary_garbage_does_not_crash(tmp_path: Path, home: Path) -> None:
    junk = tmp_path / "junk.wiki"
    junk.write_bytes(bytes(range(256)) * 20 + b"\n== \xff\xfe ==\n\x00\x00")
    p = run("scan", "--wikitext", str(junk), "--json", home=home)
    no_traceback(p)
    assert p.returncode == 0
    for app in json.loads(p.stdout)["applications"]:
        check_contract(app)


def test_scan_writes_nothing_into_home(home: Path) -> None:
    run("scan", "--wikitext", SAMPLE, "--json", home=home)
    assert not home.exists() or not any(home.iterdir())


# ---------------------------------------------------------------------------
# faq
# ---------------------------------------------------------------------------

def faq_json(*args: str, home: Path) -> dict:
    p = run("faq", *args, "--json", home=home)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_faq_how_to_apply(home: Path) -> None:
    d = faq_json("how do I apply?", home=home)
    assert {"topic", "score", "answer"} <= set(d)
    assert d["topic"] == "apply"
    assert isinstance(d["score"], (int, float)) and d["score"] > 0
    assert re.search(r"https://meta\.wikimedia\.org/wiki/\S+", d["answer"]), d["answer"]
    assert "\n" not in d["answer"]


def test_faq_unrelated_question_has_no_topic(home: Path) -> None:
    assert faq_json("what's the weather like", home=home) == {"topic": None}


def test_faq_in_german(home: Path) -> None:
    en = faq_json("how do I apply?", home=home)
    de = faq_json("how do I apply?", "--lang", "de", home=home)
    assert de["topic"] == "apply"
    assert de["answer"] != en["answer"]
    assert re.search(r"\b(Bewerbung|bewirbst|deine?|und)\b", de["answer"]), de["answer"]
    assert "https://" in de["answer"]


def test_faq_plain_text(home: Path) -> None:
    p = run("faq", "how", "do", "I", "apply?", home=home)
    no_traceback(p)
    assert p.returncode == 0
    assert "apply" in p.stdout and "https://" in p.stdout
    p = run("faq", "what's the weather like", home=home)
    assert p.returncode == 0
    assert "no topic" in p.stdout.lower()


# ---------------------------------------------------------------------------
# configuration errors, as the person starting the bot sees them
# ---------------------------------------------------------------------------

BAD_SETTINGS = [
    ({"OTRSHELP_NICK": "bad nick!"}, "OTRSHELP_NICK"),
    ({"OTRSHELP_IRC_SERVER": "nohostport"}, "OTRSHELP_IRC_SERVER"),
    ({"OTRSHELP_IRC_TLS": "maybe"}, "OTRSHELP_IRC_TLS"),
    ({"OTRSHELP_POLL_SECONDS": "soon"}, "OTRSHELP_POLL_SECONDS"),
    ({"OTRSHELP_SASL_USER": "OTRSHelpBot"}, "OTRSHELP_SASL_PASSWORD"),
    ({"OTRSHELP_SASL_PASSWORD": SECRET}, "OTRSHELP_SASL_USER"),
    ({"OTRSHELP_CHANNELS": "nochannel"}, "OTRSHELP_CHANNELS"),
    ({"OTRSHELP_WIKI_API": "ftp://x"}, "OTRSHELP_WIKI_API"),
    ({"OTRSHELP_DB": "notaurl"}, "OTRSHELP_DB"),
]


@pytest.mark.parametrize("bad,variable", BAD_SETTINGS, ids=[v for _, v in BAD_SETTINGS])
def test_a_bad_setting_is_one_line_naming_the_variable(bad: dict, variable: str, home: Path) -> None:
    env = dict(bad)
    if "OTRSHELP_SASL_USER" not in bad and "OTRSHELP_SASL_PASSWORD" not in bad:
        # a complete, valid SASL pair next to the bad setting: its password must not leak
        env.update(OTRSHELP_SASL_USER="OTRSHelpBot", OTRSHELP_SASL_PASSWORD=SECRET)
    p = run(home=home, env=env)
    no_traceback(p)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert variable in lines[0]
    assert SECRET not in p.stderr and SECRET not in p.stdout
    assert "hunter2" not in p.stderr + p.stdout
    assert not home.exists(), "a bad setting must stop the bot before it writes anything"


@pytest.mark.parametrize("bad,variable", [
    ({"OTRSHELP_PREFIX": "ab"}, "OTRSHELP_PREFIX"),
    ({"OTRSHELP_PREFIX": "x"}, "OTRSHELP_PREFIX"),
    ({"OTRSHELP_PAGE": "[[OTRS/Volunteering]]"}, "OTRSHELP_PAGE"),
    ({"OTRSHELP_EVENTSTREAM": "ws://stream"}, "OTRSHELP_EVENTSTREAM"),
    ({"OTRSHELP_ADMINS": "good bad:name"}, "OTRSHELP_ADMINS"),
    ({"OTRSHELP_POLL_SECONDS": "0"}, "OTRSHELP_POLL_SECONDS"),
    ({"OTRSHELP_IRC_SERVER": "irc.libera.chat:70000"}, "OTRSHELP_IRC_SERVER"),
    ({"OTRSHELP_CHANNELS": "   "}, "OTRSHELP_CHANNELS"),
    ({"OTRSHELP_HTTP_TIMEOUT": "forever"}, "OTRSHELP_HTTP_TIMEOUT"),
])
def test_load_settings_names_the_variable(bad: dict, variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"OTRSHELP_HOME": "/nonexistent/otrshelp", **bad})
    message = str(info.value)
    assert message.startswith(variable + ":"), message
    assert "\n" not in message


def test_load_settings_never_echoes_the_password() -> None:
    for env in ({"OTRSHELP_SASL_PASSWORD": SECRET},
                {"OTRSHELP_SASL_USER": "bot", "OTRSHELP_SASL_PASSWORD": SECRET, "OTRSHELP_IRC_TLS": "maybe"}):
        with pytest.raises(ConfigError) as info:
            load_settings({"OTRSHELP_HOME": "/nonexistent/otrshelp", **env})
        assert SECRET not in str(info.value)


# ---------------------------------------------------------------------------
# settings, registry, runtime directory
# ---------------------------------------------------------------------------

def test_defaults_match_the_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    st = load_settings({})
    assert st.nick == "OTRSHelp"
    assert (st.server, st.port) == ("irc.libera.chat", 6697)
    assert st.tls is True
    assert st.channels == ["#wikimedia-otrsconnect"]
    assert st.sasl_user == "" and st.sasl_password == ""
    assert st.admins == []
    assert st.prefix == "!"
    assert st.wiki_api == "https://meta.wikimedia.org/w/api.php"
    assert st.page == "OTRS/Volunteering"
    assert st.eventstream == ""  # off by default: the adaptive poll is nearly as fast
    assert st.poll_seconds == 60
    assert st.db == ""  # the plugin then uses the SQLite file in the runtime directory
    assert st.home == (tmp_path / "var").resolve()
    assert st.contact == ""
    assert not (tmp_path / "var").exists(), "loading settings writes nothing"


def test_settings_read_from_the_environment(tmp_path: Path) -> None:
    st = load_settings({
        "OTRSHELP_NICK": "VRTHelp", "OTRSHELP_IRC_SERVER": "[::1]:6667", "OTRSHELP_IRC_TLS": "off",
        "OTRSHELP_CHANNELS": "#wikimedia-vrtconnect  #wikimedia-otrsconnect",
        "OTRSHELP_ADMINS": "Alice, Bob  Carol", "OTRSHELP_EVENTSTREAM": "",
        "OTRSHELP_POLL_SECONDS": " 30 ", "OTRSHELP_HOME": str(tmp_path / "h"),
        "OTRSHELP_DB": "postgresql+psycopg://otrs@127.0.0.1/otrs", "OTRSHELP_PREFIX": "@",
    })
    assert (st.nick, st.server, st.port, st.tls) == ("VRTHelp", "::1", 6667, False)
    assert st.channels == ["#wikimedia-vrtconnect", "#wikimedia-otrsconnect"]
    assert st.admins == ["Alice", "Bob", "Carol"]
    assert st.eventstream == ""  # empty turns the stream off
    assert st.poll_seconds == 30
    assert st.home == (tmp_path / "h").resolve()
    assert st.db == "postgresql+psycopg://otrs@127.0.0.1/otrs"
    assert st.prefix == "@"


def settings(tmp_path: Path, **env: str):
    base = {"OTRSHELP_HOME": str(tmp_path / "home")}
    base.update(env)
    return load_settings(base)


def read_registry(path: Path, monkeypatch: pytest.MonkeyPatch):
    """The registry file as Limnoria reads it (unicode_escape and all); a
    case-insensitive mapping, as Limnoria's own."""
    import supybot.registry as registry
    from supybot import utils

    cache = utils.InsensitivePreservingDict()
    monkeypatch.setattr(registry, "_cache", cache)
    monkeypatch.setattr(registry, "_lastModified", registry._lastModified)
    registry.open_registry(str(path))
    return cache


def test_registry_has_no_password(tmp_path: Path) -> None:
    st = settings(tmp_path, OTRSHELP_SASL_USER="OTRSHelpBot", OTRSHELP_SASL_PASSWORD=SECRET,
                  OTRSHELP_DB="postgresql+psycopg://otrs:dbSecret99@127.0.0.1/otrs")
    text = "\n".join(registry_lines(st))
    assert "OTRSHelpBot" in text  # the account name is there ...
    for needle in (SECRET, run_bot._escape(SECRET), "hunter2", "dbSecret99"):
        assert needle not in text  # ... its password and the database's are not
    assert not any(re.match(r"supybot\.networks\.\w+\.sasl\.password", line) for line in registry_lines(st))


def test_registry_values_survive_limnoria_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   keep_umask) -> None:
    st = settings(tmp_path,
                  OTRSHELP_CHANNELS="#wikimédia-vrtconnect #wikimedia-otrsconnect #日本語",
                  OTRSHELP_CONTACT="J\u00fcrgen M\u00fcller <jm@example.org> C:\\bots\\ \U0001f916 \\",
                  OTRSHELP_PAGE="Volunteer Response Team/Volunteering/\u00dcbersicht")
    for line in registry_lines(st):
        line.encode("ascii")  # every non-ASCII value is escaped
    values = read_registry(prepare_home(st), monkeypatch)
    assert values["supybot.networks.libera.channels"] == "#wikimédia-vrtconnect #wikimedia-otrsconnect #日本語"
    assert values["supybot.plugins.OTRSHelp.contact"] == st.contact
    assert st.contact.endswith("\U0001f916 \\")
    assert values["supybot.plugins.OTRSHelp.page"] == "Volunteer Response Team/Volunteering/\u00dcbersicht"
    assert values["supybot.nick"] == "OTRSHelp"
    assert values["supybot.networks.libera.servers"] == "irc.libera.chat:6697"
    # unset variables leave the plugin's settings to conf/ and config.py's defaults
    assert "supybot.plugins.OTRSHelp.wikiApi" not in values
    assert "supybot.plugins.OTRSHelp.pollSeconds" not in values
    assert values["supybot.reply.whenAddressedBy.chars"] == "!"
    assert values["supybot.directories.data"] == str(st.home / "data")


def test_prepare_home_is_private(tmp_path: Path, keep_umask) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "conf").mkdir()
    (home / "conf" / "otrshelp.conf").write_text("stale\n")
    os.chmod(home / "conf" / "otrshelp.conf", 0o644)
    st = settings(tmp_path, OTRSHELP_ADMINS="Alice", OTRSHELP_SASL_USER="OTRSHelpBot",
                  OTRSHELP_SASL_PASSWORD=SECRET)
    conf_file = prepare_home(st)
    assert conf_file == home / "conf" / "otrshelp.conf"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("otrshelp.conf", "users.conf"):
        assert stat.S_IMODE((home / "conf" / name).stat().st_mode) == 0o600, name
    for sub in ("conf", "data", "logs"):
        assert (home / sub).is_dir()
    assert "stale" not in conf_file.read_text()
    for f in home.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(encoding="utf-8", errors="replace"), f


def caps(user) -> set[str]:
    """A user's capabilities as written (``in`` on Limnoria's set says yes to
    'owner' for everyone)."""
    return set(iter(user.capabilities))


def limnoria_users(path: Path) -> dict[str, object]:
    """users.conf as Limnoria reads it, by user name."""
    from supybot import ircdb

    users = ircdb.UsersDictionary()
    users.open(str(path))
    return {u.name: u for u in users.users.values()}


STRANGER_USERS = """user 1
  name vrtadmin
  ignore False
  secure False
  hashed True
  password abcd1234|0123456789abcdef
  hostmask *!*@gateway.example
  nicks libera vrtadmin

"""


def test_users_conf_holds_the_owner_accounts_and_nothing_else(tmp_path: Path, keep_umask) -> None:
    st = settings(tmp_path, OTRSHELP_OWNERS="Krd, Ops-Person", OTRSHELP_ADMINS="VRT-Admin")
    prepare_home(st)
    users = limnoria_users(st.home / "conf" / "users.conf")
    # VRTS admins are not Limnoria users: the plugin checks their account per message
    assert set(users) == {"Krd", "Ops-Person"}
    for account in ("Krd", "Ops-Person"):
        u = users[account]
        assert caps(u) == {"owner"}
        assert not u.hostmasks and not dict(u.nicks)


def test_a_user_registered_earlier_cannot_shadow_an_admin_after_a_restart(tmp_path: Path, keep_umask) -> None:
    """Pre-registration lockout: a stranger's user named after the admin
    account (with a hostmask and a NickAuth nick) is gone on the next start."""
    st = settings(tmp_path, OTRSHELP_ADMINS="vrtadmin")
    users_file = st.home / "conf" / "users.conf"
    users_file.parent.mkdir(parents=True)
    users_file.write_text(STRANGER_USERS, encoding="utf-8")
    prepare_home(st)
    assert limnoria_users(users_file) == {}
    assert "supybot.plugins.OTRSHelp.admins: vrtadmin" in registry_lines(st)


def test_removing_an_owner_takes_the_capability_away(tmp_path: Path, keep_umask) -> None:
    users_file = tmp_path / "home" / "conf" / "users.conf"
    prepare_home(settings(tmp_path, OTRSHELP_OWNERS="Krd Mallory"))
    assert "owner" in caps(limnoria_users(users_file)["Mallory"])
    prepare_home(settings(tmp_path, OTRSHELP_OWNERS="Krd"))
    users = limnoria_users(users_file)
    assert set(users) == {"Krd"}


def test_nobody_can_identify_as_an_owner_with_a_password(tmp_path: Path, keep_umask) -> None:
    st = settings(tmp_path, OTRSHELP_OWNERS="Krd")
    prepare_home(st)
    krd = limnoria_users(st.home / "conf" / "users.conf")["Krd"]
    for guess in ("", "password", "!", krd.password, krd.password.lstrip("!")):
        assert krd.checkPassword(guess) is False


def test_no_plugin_lets_people_register_or_log_in_by_nick(tmp_path: Path) -> None:
    lines = dict(line.split(": ", 1) for line in registry_lines(settings(tmp_path)))
    plugins = lines["supybot.plugins"].split()
    assert "OTRSHelp" in plugins
    assert not {"User", "NickAuth", "Channel"} & set(plugins)
    assert lines["supybot.commands.nested"] == "False"


@pytest.mark.parametrize("bad", ["nick!user@host", "#channel", "a*b"])
def test_owner_and_admin_accounts_are_checked(bad: str) -> None:
    for name in ("OTRSHELP_OWNERS", "OTRSHELP_ADMINS"):
        with pytest.raises(ConfigError, match=name):
            load_settings({name: bad})


def test_scan_page_reads_the_live_wiki_through_the_redirect(mediawiki, home: Path) -> None:
    """`scan --page` asks the Action API (a real MediaWiki here), following
    the old title's redirect, and reads the latest revision."""
    import uuid

    tag = uuid.uuid4().hex[:6]
    text = (ROOT / "tests" / "fixtures" / "volunteering-2020-sample.wiki").read_text(encoding="utf-8")
    mediawiki.edit(f"OTRS/Volunteering {tag}", text, "Page Creator")
    mediawiki.move(f"OTRS/Volunteering {tag}", f"Volunteer Response Team/Volunteering {tag}", "Page Creator")
    p = run("scan", "--page", f"OTRS/Volunteering {tag}", "--json", home=home,
            env={"OTRSHELP_WIKI_API": mediawiki.api_url, "OTRSHELP_CONTACT": "tests@example.org"})
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    apps = json.loads(p.stdout)["applications"]
    assert [a["applicant"] for a in apps] == [a["applicant"] for a in scan_json(
        "tests/fixtures/volunteering-2020-sample.wiki", home)]


def test_scan_page_with_the_wiki_down_is_one_clear_line(home: Path) -> None:
    p = run("scan", "--page", "OTRS/Volunteering", home=home,
            env={"OTRSHELP_WIKI_API": "http://127.0.0.1:9/api.php"})
    no_traceback(p)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1].startswith("scan: Wiki API request")


def test_site_conf_beats_defaults_and_the_environment_beats_it(tmp_path: Path) -> None:
    site = tmp_path / "otrshelp.conf"
    site.write_text("# a comment\nsupybot.plugins.OTRSHelp.answerDelay: 3\n"
                    "supybot.plugins.OTRSHelp.adminChannel: #vrt-admins\n"
                    "supybot.plugins.OTRSHelp.page: Some/Other page\n"
                    "supybot.protocols.irc.throttleTime: 1.0\n", encoding="utf-8")
    st = load_settings({"OTRSHELP_PAGE": "Volunteer Response Team/Volunteering", "OTRSHELP_HOME": str(tmp_path)})
    lines = registry_lines(st, site)
    assert "supybot.plugins.OTRSHelp.answerDelay: 3" in lines
    assert "supybot.plugins.OTRSHelp.adminChannel: #vrt-admins" in lines
    assert "supybot.protocols.irc.throttleTime: 1.0" in lines
    assert "supybot.plugins.OTRSHelp.page: Volunteer Response Team/Volunteering" in lines
    assert not any(l.startswith("supybot.plugins.OTRSHelp.page: Some") for l in lines)


def test_a_broken_site_conf_is_one_clear_line(tmp_path: Path) -> None:
    site = tmp_path / "otrshelp.conf"
    site.write_text("answerDelay = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"otrshelp.conf:1: expected 'supybot.name: value'"):
        registry_lines(load_settings({"OTRSHELP_HOME": str(tmp_path)}), site)


def test_the_site_conf_sets_what_the_environment_leaves_unset(tmp_path: Path, keep_umask) -> None:
    site = tmp_path / "site.conf"
    site.write_text("supybot.plugins.OTRSHelp.page: Volunteer Response Team/Volunteering\n"
                    "supybot.plugins.OTRSHelp.pollSeconds: 20\n"
                    "supybot.plugins.OTRSHelp.contact: User:Operator\n", encoding="utf-8")
    lines = registry_lines(settings(tmp_path, OTRSHELP_SITE_CONF=str(site)))
    assert "supybot.plugins.OTRSHelp.page: Volunteer Response Team/Volunteering" in lines
    assert "supybot.plugins.OTRSHelp.pollSeconds: 20" in lines
    assert "supybot.plugins.OTRSHelp.contact: User:Operator" in lines
    # a variable that is set wins over the site conf
    lines = registry_lines(settings(tmp_path, OTRSHELP_SITE_CONF=str(site), OTRSHELP_POLL_SECONDS="5"))
    assert "supybot.plugins.OTRSHelp.pollSeconds: 5" in lines


def test_values_changed_from_irc_survive_a_restart(tmp_path: Path, keep_umask) -> None:
    """Limnoria writes its registry back on exit with what was changed from
    IRC; the next start keeps those changes (but not over the environment)."""
    site = tmp_path / "site.conf"
    site.write_text("supybot.plugins.OTRSHelp.answerDelay: 4\n", encoding="utf-8")
    st = settings(tmp_path, OTRSHELP_SITE_CONF=str(site), OTRSHELP_NICK="OTRSHelp")
    conf_file = prepare_home(st)
    text = conf_file.read_text(encoding="utf-8")
    # as Limnoria writes it back after `announce off` and `config ... answerDelay 2`
    text = text.replace("supybot.plugins.OTRSHelp.answerDelay: 4", "supybot.plugins.OTRSHelp.answerDelay: 2")
    text = text.replace("supybot.nick: OTRSHelp", "supybot.nick: SomethingElse")
    text += "supybot.plugins.OTRSHelp.announce.#wikimedia-otrsconnect: False\n"
    conf_file.write_text(text, encoding="utf-8")
    lines = (prepare_home(st).read_text(encoding="utf-8")).splitlines()
    assert "supybot.plugins.OTRSHelp.answerDelay: 2" in lines
    assert "supybot.plugins.OTRSHelp.announce.#wikimedia-otrsconnect: False" in lines
    assert "supybot.nick: OTRSHelp" in lines  # the environment wins
    # and again after another restart with no change
    assert "supybot.plugins.OTRSHelp.answerDelay: 2" in prepare_home(st).read_text(encoding="utf-8").splitlines()


def test_an_unreachable_irc_server_is_one_line_then_one_when_it_answers() -> None:
    import logging

    f = run_bot.ConnectionRetries("irc.libera.chat:6697", 120)

    def rec(msg: str, *args) -> logging.LogRecord:
        return logging.LogRecord("supybot", logging.INFO, __file__, 1, msg, args, None)

    shown = []
    for _ in range(3):  # three failed attempts, three lines each from Limnoria
        for r in (rec("Connecting to %s:%s.", "irc.libera.chat", 6697, ""),
                  rec("Error connecting to %s: %s", "irc.libera.chat:6697", "ConnectionRefusedError"),
                  rec("Reconnecting to %s at %s.", "libera", "later")):
            if f.filter(r):
                try:
                    shown.append(r.getMessage())
                except TypeError:  # Limnoria's spare argument: its logger copes
                    shown.append(r.msg)
    ok = rec("Server %s has version %s", "irc.libera.chat", "solanum")
    assert f.filter(ok)
    shown.append(ok.getMessage())
    assert shown[0] == "Connecting to %s:%s."
    assert shown[1].startswith("cannot reach the IRC server irc.libera.chat:6697 (ConnectionRefusedError)")
    assert "at most every 120 s" in shown[1]
    assert shown[2:] == ["the IRC server irc.libera.chat:6697 answers again"]


def test_limnoria_keeps_a_short_message_history(tmp_path: Path) -> None:
    """Limnoria's default keeps 1,000 messages (about 1.5 MB with tags) for
    plugins that look back; the bot loads none, so it keeps a hundred."""
    lines = dict(line.split(": ", 1) for line in registry_lines(settings(tmp_path)))
    assert not {"Seen", "ChannelLogger", "Later"} & set(lines["supybot.plugins"].split())
    assert int(lines["supybot.protocols.irc.maxHistoryLength"]) <= 100

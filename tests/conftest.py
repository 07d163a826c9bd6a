"""Test setup shared by every test module.

Limnoria's test harness expects to be started by ``supybot-test``; under
pytest we open its test registry ourselves, point the plugin path at the
repository, and keep pytest from collecting the harness's own TestCase
classes that ``from supybot.test import *`` drags into each module.

Tests that need a real server are marked ``servers`` here, not in each
module, so ``python -m pytest -m "not servers"`` runs the unit core in
seconds; a test that starts a server without the mark fails and says so.
Everything the tests write goes under a temporary directory: Limnoria's
``web``/``tmp`` data directories, pytest-benchmark (off) and Hypothesis
(no example database); a session that leaves a new file in the working
directory or the repository fails.
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))


def _listing(directory: str) -> set[str]:
    try:
        return set(os.listdir(directory))
    except OSError:
        return set()


# What is next to the code before anything is imported: Limnoria writes on
# import, so pytest_sessionstart would be too late to notice.
_before: dict[str, set[str]] = {d: _listing(d) for d in {os.getcwd(), ROOT, TESTS}}
for _p in (TESTS, ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import supybot.scripts.limnoria_test  # noqa: E402,F401  opens the test registry
from supybot import conf, log, world  # noqa: E402

# Limnoria's DataFilenameDirectory creates its *default* relative name ("web",
# "tmp") in the working directory before joining it to the data directory
# (its MRO calls Directory.__call__ first); absolute values skip that.
# supybot.httpserver asks for "web" when supybot.test imports it.
for _name in ("web", "tmp"):
    _setting = conf.supybot.directories.data.get(_name)
    _setting.setValue(os.path.join(conf.supybot.directories.data(), _name))

import supybot.test as supytest  # noqa: E402

world.testing = True
log.testing = True
world.myVerbose = 0
conf.supybot.directories.plugins.setValue([ROOT, os.path.join(ROOT, "plugins")])

_original_init = supytest.PluginTestCase.__init__


def _init(self, methodName: str = "runTest") -> None:
    # pytest instantiates TestCase classes with "runTest" to probe them;
    # Limnoria's __init__ wraps the named method and fails when it is absent.
    if not hasattr(self, methodName):
        supytest.SupyTestCase.__init__(self, methodName)
        self.originals = {}
        self.timeout = supytest.timeout
        return
    _original_init(self, methodName)


supytest.PluginTestCase.__init__ = _init


def pytest_pycollect_makeitem(collector, name, obj):
    """Do not collect Limnoria's own base TestCase classes."""
    if isinstance(obj, type) and getattr(obj, "__module__", "").startswith("supybot"):
        return []
    return None


from realservers import *  # noqa: E402,F401,F403  real servers as fixtures

import socket  # noqa: E402

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    """No network in tests beyond 127.0.0.1: a test that would reach Meta
    fails at once instead of hanging or leaking traffic."""
    if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = address[0]
        if not (host.startswith("127.") or host in ("::1", "localhost")):
            raise OSError(f"test tried to reach {host}: only 127.0.0.1 is allowed in tests")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only


# ---------------------------------------------------------------------------
# The `servers` marker
# ---------------------------------------------------------------------------

import types  # noqa: E402

import pytest  # noqa: E402

import botprocess  # noqa: E402
import realservers  # noqa: E402

#: Fixtures that start (or hand out) a real server.
SERVER_FIXTURES = frozenset({
    "mediawiki", "ircd", "ircd_services", "ircd_libera",
    "postgres_url", "postgres_db", "mariadb_url",
})
#: Names whose use in a test's own code starts a server or a bot process.
SERVER_NAMES = frozenset({
    "MediaWikiServer", "IrcServer", "PostgresServer", "MariaDBServer",
    "BotProcess", "Scene",
})
_GUARDED = (realservers.PostgresServer, realservers.MariaDBServer,
            realservers.MediaWikiServer, realservers.IrcServer, botprocess.BotProcess)


def _code_names(code: types.CodeType) -> set[str]:
    """Global names and string constants a function's code (and the code of
    functions nested in it) refers to: enough to see ``IrcServer(...)`` or
    ``request.getfixturevalue("mariadb_url")``."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, str):
            names.add(const)
        elif isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def needs_servers(item: pytest.Item) -> bool:
    """Whether a test needs a real server: through a server fixture, its own
    code naming a server or a bot process, a module that drives the bot as a
    process (it imports ``botprocess``), or a parameter that a module's
    ``SERVER_URL`` maps to a server fixture (``store`` on "postgresql")."""
    if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    if module is not None and any(
        getattr(value, "__module__", None) == "botprocess" for value in vars(module).values()
    ):
        return True
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    if code is not None:
        names = _code_names(code)
        if names & (SERVER_NAMES | SERVER_FIXTURES):
            return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    server_params = getattr(module, "SERVER_URL", {}) if module is not None else {}
    return any(isinstance(v, str) and v in server_params for v in params.values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if needs_servers(item):
            item.add_marker(pytest.mark.servers)


_current: list[pytest.Item] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _current.append(item)
    try:
        return (yield)
    finally:
        _current.pop()


def _guard(cls: type) -> None:
    start = cls.start

    def guarded_start(self, *args, **kwargs):
        item = _current[-1] if _current else None
        if item is not None and item.get_closest_marker("servers") is None:
            pytest.fail(
                f"{item.nodeid} starts {cls.__name__} but is not marked `servers`: "
                "use a server fixture, or teach tests/conftest.py:needs_servers "
                "how to see it", pytrace=False)
        return start(self, *args, **kwargs)

    guarded_start.__wrapped__ = start  # type: ignore[attr-defined]
    guarded_start.__doc__ = start.__doc__
    cls.start = guarded_start


for _cls in _GUARDED:
    _guard(_cls)


# ---------------------------------------------------------------------------
# Tests write only under a temporary directory
# ---------------------------------------------------------------------------

try:  # Hypothesis keeps an example database in ./.hypothesis unless told not to.
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a test requirement
    pass
else:
    _hypothesis_settings.register_profile("otrshelp", database=None)
    _hypothesis_settings.load_profile("otrshelp")
    # Hypothesis 6.1xx also caches the constants it finds in the code there.
    import atexit
    import shutil
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    _hypothesis_home = tempfile.mkdtemp(prefix="otrshelp-hypothesis-")
    set_hypothesis_home_dir(_hypothesis_home)
    atexit.register(shutil.rmtree, _hypothesis_home, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a run that leaves files next to the code: they end up committed
    or confuse the next run (a stale ``web/`` or ``tmp/``)."""
    if not _before:  # pragma: no cover - xdist workers and the like
        return
    left = sorted(os.path.join(directory, name) for directory, names in _before.items()
                  for name in _listing(directory) - names
                  if name != "__pycache__")
    _before.clear()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "tests left files outside their temporary directories: " + ", ".join(left)
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _domain_modules_as_imported():
    """Loading the plugin (each Limnoria test case does) imports the domain
    modules afresh, as ``reload OTRSHelp`` must; give every other test back
    the modules it imported, so its classes and exceptions stay the ones the
    code under test uses."""
    saved = {k: v for k, v in sys.modules.items() if k == "OTRSHelp" or k.startswith("OTRSHelp.")}
    yield
    for k in [k for k in sys.modules if k.startswith("OTRSHelp.") and k not in saved]:
        del sys.modules[k]
    sys.modules.update(saved)
    package = saved.get("OTRSHelp")
    if package is not None:
        for k, module in saved.items():
            if "." in k:
                setattr(package, k.rsplit(".", 1)[1], module)

"""Test setup shared by every test module.

Limnoria's test harness expects to be started by ``supybot-test``; under
pytest we open its test registry ourselves, point the plugin path at the
repository, and keep pytest from collecting the harness's own TestCase
classes that ``from supybot.test import *`` drags into each module.
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
for _p in (TESTS, ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import supybot.scripts.limnoria_test  # noqa: E402,F401  opens the test registry
from supybot import conf, log, world  # noqa: E402
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

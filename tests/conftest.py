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


try:  # real servers (PostgreSQL, MediaWiki, InspIRCd, Anope) as fixtures
    from realservers import *  # noqa: E402,F401,F403
except ImportError:  # pragma: no cover - only while realservers.py is written
    pass

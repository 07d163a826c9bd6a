"""Real servers for the tests: PostgreSQL, MariaDB, MediaWiki, InspIRCd (+ Anope).

The tests talk to the real programs, not to fakes, so that what they check
is what the bot meets in production: the Action API's real answers, real
IRC registration, real SASL. Every server here

* listens on 127.0.0.1 only, on a free port chosen at run time, so parallel
  runs and other engineers' servers on the same machine never collide;
* lives in a fresh ``tempfile.mkdtemp()`` directory (not pytest's
  ``tmp_path``: that is 0700 root, and PostgreSQL, MariaDB and Anope run as
  their own users);
* runs in its own process group and is stopped by PID (the whole group), also
  when its setup fails halfway and, through ``atexit``, when the test run dies
  without tearing its fixtures down.

Each server is a context manager class and a session-scoped pytest fixture,
in a module of its own under ``tests/servers/``: ``common`` (ports,
processes, ``require``), ``postgres``, ``mariadb``, ``mediawiki``, ``ircd``
(InspIRCd + Anope) and ``person`` (``IrcPerson``). This module only gathers
them: ``tests/conftest.py`` does ``from realservers import *`` to register
the fixtures (``__all__`` lists them), and tests import names from here. A missing program skips the test, or fails
it when ``CI=true`` (see :func:`require`); ``.ci/install`` installs them all.
"""

from __future__ import annotations

from servers.common import HOST, _Server, _spawn, _stop, free_port, require
from servers.ircd import IrcServer, ircd, ircd_libera, ircd_services
from servers.mariadb import MariaDBServer, mariadb_url
from servers.mediawiki import MediaWikiServer, mediawiki
from servers.person import IrcPerson
from servers.postgres import PostgresServer, create_database, postgres_db, postgres_url

__all__ = [
    "IrcPerson",
    "IrcServer",
    "ircd_libera",
    "MariaDBServer",
    "MediaWikiServer",
    "PostgresServer",
    "create_database",
    "free_port",
    "ircd",
    "ircd_services",
    "mariadb_url",
    "mediawiki",
    "postgres_db",
    "postgres_url",
    "require",
]
# Not exported by ``*`` (tests of the machinery import them by name).
_INTERNAL = (HOST, _Server, _spawn, _stop)

"""The test suite's own promises to a maintainer: `pytest -m "not servers"`
leaves out exactly the tests that need a real server, a test that starts a
server without the mark fails instead of slipping into the quick run, and a
test run writes nothing outside its temporary directories."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import conftest
import realservers

ROOT = Path(__file__).resolve().parent.parent


def fake_item(function=None, fixturenames=(), params=None, module=None):
    return SimpleNamespace(
        function=function or (lambda: None),
        fixturenames=list(fixturenames),
        callspec=SimpleNamespace(params=params or {}),
        module=module or SimpleNamespace(),
    )


def test_a_server_fixture_anywhere_in_the_closure_marks_the_test() -> None:
    assert conftest.needs_servers(fake_item(fixturenames=["tmp_path", "ircd_services"]))
    assert not conftest.needs_servers(fake_item(fixturenames=["tmp_path", "monkeypatch"]))


def test_a_server_started_in_the_test_body_marks_it() -> None:
    def starts_one():
        with realservers.IrcServer() as server:  # pragma: no cover - never called
            return server

    def asks_for_one(request):
        return request.getfixturevalue("mariadb_url")  # pragma: no cover - never called

    def plain():
        return sorted([3, 1, 2])  # pragma: no cover - never called

    assert conftest.needs_servers(fake_item(starts_one))
    assert conftest.needs_servers(fake_item(asks_for_one))
    assert not conftest.needs_servers(fake_item(plain))


def test_a_backend_parameter_marks_only_its_own_case() -> None:
    module = SimpleNamespace(SERVER_URL={"postgresql": "postgres_url"})
    assert conftest.needs_servers(fake_item(params={"store": "postgresql"}, module=module))
    assert not conftest.needs_servers(fake_item(params={"store": "sqlite"}, module=module))


def test_starting_a_server_without_the_mark_fails_with_the_reason() -> None:
    unmarked = SimpleNamespace(nodeid="tests/test_x.py::test_y", get_closest_marker=lambda name: None)
    conftest._current.append(unmarked)
    try:
        with pytest.raises(pytest.fail.Exception, match="test_y starts PostgresServer but is not marked"):
            realservers.PostgresServer.start(object())
    finally:
        conftest._current.pop()


@pytest.mark.slow
def test_a_test_run_writes_nothing_into_the_working_directory(tmp_path: Path) -> None:
    """Limnoria's test harness used to leave ``web/`` and ``tmp/`` behind,
    pytest-benchmark ``.benchmarks/``: run real tests from an empty directory."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pytest.ini"),
         "--rootdir", str(ROOT), "-m", "not servers",
         str(ROOT / "tests" / "test_access.py"), str(ROOT / "tests" / "test_listener.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "passed" in run.stdout
    assert sorted(os.listdir(tmp_path)) == []

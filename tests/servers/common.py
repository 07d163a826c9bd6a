"""What every test server shares: free ports on 127.0.0.1, processes in their own
group stopped by PID (also at exit), a fresh work directory, and ``require``
(skip, or fail under ``CI=true``, when a program is missing)."""
from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

HOST = "127.0.0.1"


#: How long a server may take to come up before the fixture gives up.
START_TIMEOUT = 60.0


# ---------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------


def require(name: str, ok: bool, why: str) -> None:
    """Skip (or, under ``CI=true``, fail) the current test unless ``ok``.

    On a developer's machine a missing server is a reason to skip; in CI it
    means ``.ci/install`` is broken, and a skip would hide that behind a
    green run.
    """
    if ok:
        return
    message = f"{name} is not available: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    The kernel picks it (bind to port 0), so two test runs on one machine do
    not fight over a fixed number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    """The end of a log file, for error messages that explain a failed start."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


T = TypeVar("T")


def _wait_until(
    probe: Callable[[], T | None],
    what: str,
    *,
    timeout: float = START_TIMEOUT,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until it returns something truthy.

    Fails early, with the log's tail, when ``proc`` has died: waiting out the
    timeout for a server that already crashed only makes the run slower.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{what}: process exited with {proc.returncode}\n"
                + (_tail(log) if log else "")
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{what}: not ready after {timeout:.0f} s\n" + (_tail(log) if log else "")
            )
        time.sleep(interval)


def _user_ids(user: str | None) -> tuple[int, int] | None:
    """(uid, gid) to run a server as, or None to run it as ourselves.

    PostgreSQL refuses to run as root and Anope should not, so as root we
    switch to their Debian system users; as anyone else we stay who we are.
    """
    if user is None or os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _chown_tree(path: Path, user: str | None) -> None:
    ids = _user_ids(user)
    if ids is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, *ids)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), *ids)


# ---------------------------------------------------------------------------
# Processes: started in their own group, stopped by PID, never leaked
# ---------------------------------------------------------------------------

_live_lock = threading.Lock()
_live_procs: set[subprocess.Popen[bytes]] = set()
_live_dirs: set[Path] = set()


def _spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    cwd: Path,
    user: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in a new session (so its PID is its process group id).

    Output goes to ``log`` so a failed start can be explained.
    """
    ids = _user_ids(user)
    extra: dict[str, Any] = {}
    if ids is not None:
        extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [os.fspath(a) for a in argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            **extra,
        )
    with _live_lock:
        _live_procs.add(proc)
    return proc


def _run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    user: str | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 120.0,
) -> str:
    """Run a setup command to completion; raise with its output if it fails."""
    ids = _user_ids(user)
    extra: dict[str, Any] = {}
    if ids is not None:
        extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
    done = subprocess.run(
        [os.fspath(a) for a in argv],
        cwd=cwd,
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        timeout=timeout,
        check=False,
        **extra,
    )
    output = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{output}")
    return output


def _stop(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Stop a process group started by :func:`_spawn`: ``sig``, then SIGKILL.

    The final SIGKILL to the group also catches children that outlived their
    parent (PHP's server workers, for instance).
    """
    if proc is None:
        return
    try:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    finally:
        with _live_lock:
            _live_procs.discard(proc)


def _make_workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"otrshelp-{prefix}-"))
    with _live_lock:
        _live_dirs.add(path)
    return path


def _remove_workdir(path: Path | None) -> None:
    if path is None:
        return
    shutil.rmtree(path, ignore_errors=True)
    with _live_lock:
        _live_dirs.discard(path)


@atexit.register
def _reap_everything() -> None:
    """Last line of defence: nothing this module started outlives Python."""
    with _live_lock:
        procs = list(_live_procs)
        dirs = list(_live_dirs)
    for proc in procs:
        _stop(proc, signal.SIGKILL, timeout=5)
    for path in dirs:
        _remove_workdir(path)


class _Server:
    """Context-manager plumbing shared by the servers.

    ``__enter__`` calls :meth:`start`; if that raises halfway, whatever was
    already running is stopped and the work directory removed before the
    error propagates. ``__exit__`` does the same after a normal run.
    """

    workdir: Path | None = None

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        """Stop the server and delete its files."""
        try:
            self.stop()
        finally:
            _remove_workdir(self.workdir)
            self.workdir = None

    def __enter__(self: _S) -> _S:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_S = TypeVar("_S", bound=_Server)


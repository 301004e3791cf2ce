"""Running the app for real, shared by the crash test (``tests/resilience``) and the load benchmark
(``benchmarks/bench_load.py``, which imports this as ``tests.harness``):

* ``Server``: a server as a subprocess in a session (so a process group) of its own, so a stop or a
  SIGKILL reaches every worker; started again on the same port after a kill; ``dxm_serve`` builds one
  that runs ``dxm serve --workers N``;
* ``Cluster``: a throwaway PostgreSQL cluster, made the way ``scripts/test.sh`` makes the test suite's
  (``initdb`` in a temporary directory, as the unprivileged user ``dxmtest`` when run as root, since
  PostgreSQL refuses root; a free port; ``fsync=off``). The test suite itself gets its PostgreSQL from
  ``scripts/test.sh`` (``DXM_TEST_DATABASE``); the benchmark starts one of these;
* ``tax_codes``: valid, distinct tax codes for businesses made in bulk.

Nothing here imports pytest, or more of the app than ``assessment.taxcode``: a benchmark run needs
no test extras.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from assessment.taxcode import check_digit, normalise

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 15.0  # s for a clean stop before SIGKILL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    """A server exited or did not answer in time (with the tail of its log)."""


class Server:
    """A server subprocess in its own process group (its group id is its pid), logging to
    ``log_dir/<name>-<start>.log``. ``start`` waits until ``ready_path`` answers 200."""

    def __init__(self, name: str, argv: list[str], *, env: Mapping[str, str], log_dir: str | Path,
                 port: int, cwd: str | Path = ROOT, ready_path: str = "/healthz",
                 ready_timeout: float = 45.0) -> None:
        self.name, self.argv, self.env, self.port = name, list(argv), dict(env), port
        self.cwd, self.log_dir = str(cwd), Path(log_dir)
        self.ready_path, self.ready_timeout = ready_path, ready_timeout
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int:
        """Its process group: started in a session of its own, the group's id is its pid."""
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.starts}.log"

    def start(self) -> float:
        """Start it and wait (bounded in count and in time) until it answers; the seconds it took.
        ServerError when it exits first or does not answer within ``ready_timeout``."""
        self.starts += 1
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(timeout=2.0) as client:
            for _ in range(int(self.ready_timeout / 0.1) + 1):
                if time.monotonic() > deadline:
                    break
                if self.proc.poll() is not None:
                    raise ServerError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.base + self.ready_path).status_code == 200:
                        return time.perf_counter() - started
                time.sleep(0.1)
        raise ServerError(f"{self.name} did not answer within {self.ready_timeout:.0f}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: the supervisor and every worker, mid-request; returns
        once the group is gone (or after 5 s)."""
        assert self.proc is not None, f"{self.name} is not running"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        for _ in range(100):  # the workers die with it (killpg(0) fails once all are gone)
            if time.monotonic() > deadline:
                break
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.proc = None

    def stop(self) -> int | None:
        """A clean stop (SIGTERM to the supervisor, which stops its workers), SIGKILL to the group if
        it hangs, and SIGKILL to any worker left behind. The exit code; None when it was not running."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker left behind, if any
        return proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def dxm_serve(database_url: str, *, workers: int, log_dir: str | Path, env: Mapping[str, str] | None = None,
              upgrade: bool = True, name: str | None = None, ready_timeout: float = 45.0) -> Server:
    """``dxm serve --workers N`` on a free port of 127.0.0.1 with ``DXM_DATABASE_URL`` (not started)."""
    port = free_port()
    argv = [sys.executable, "-m", "assessment.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--upgrade" if upgrade else "--no-upgrade"]
    return Server(name or f"dxm-{workers}w", argv, env={**os.environ, **(env or {}), "DXM_DATABASE_URL": database_url},
                  log_dir=log_dir, port=port, ready_timeout=ready_timeout)


class Cluster:
    """A throwaway PostgreSQL cluster, owned by ``dxmtest`` when we are root. ``start`` returns its URL;
    ``stop`` stops it and removes its directory (also as a context manager)."""

    def __init__(self, *, max_connections: int = 300) -> None:
        self.max_connections = max_connections
        self.dir: str | None = None
        self.data = ""
        self.port = 0
        self.pg_ctl = ""
        self.prefix: list[str] = []
        self.started = False

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.prefix, *argv], check=True, cwd=self.dir, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)

    @staticmethod
    def bin_dir() -> str:
        """The newest /usr/lib/postgresql/<version>/bin (Debian), or where ``initdb`` is on PATH."""
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
        return bins[-1] if bins else str(Path(shutil.which("initdb") or "initdb").parent)

    def start(self) -> str:
        pg_bin = self.bin_dir()
        self.dir = tempfile.mkdtemp(prefix="dxm-pg-")
        self.data = os.path.join(self.dir, "data")
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if subprocess.run(["id", "dxmtest"], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "dxmtest"],
                               check=True)
            import pwd

            entry = pwd.getpwnam("dxmtest")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self.prefix = ["runuser", "-u", "dxmtest", "--"]
        self._run(f"{pg_bin}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self.port = free_port()
        self.pg_ctl = f"{pg_bin}/pg_ctl"
        self._run(self.pg_ctl, "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  f"-c max_connections={self.max_connections}", "start")
        self.started = True
        return self.url

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def postmaster_pid(self) -> int:
        with open(os.path.join(self.data, "postmaster.pid"), encoding="ascii") as f:
            return int(f.readline())

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(Exception):
                self._run(self.pg_ctl, "-D", self.data, "-m", "fast", "-w", "stop")
            self.started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def tax_codes(start: int = 1_000_000, prefix: str = "01") -> Iterator[str]:
    """Valid 10-digit tax codes: ``prefix`` + 7 digits counting up from ``start`` + the check digit
    (sequence numbers that have none are skipped). Distinct, in order."""
    for n in range(start, 10_000_000):
        first_nine = f"{prefix}{n:07d}"
        digit = check_digit(first_nine)
        if digit is not None:
            yield normalise(first_nine + str(digit))

"""A real daphne server in a subprocess, on a free loopback port, with its own database.

Used by the browser tests and the benchmarks: they need the whole stack (daphne, the engine's
worker processes, static files) exactly as `make run` serves it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:PORT
    ws_url: str  # ws://127.0.0.1:PORT/ws/speech/
    env: dict[str, str]
    process: subprocess.Popen

    def manage(self, *args: str, stdin: str | None = None) -> str:
        """Run a manage.py command against this server's database; returns its stdout."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def set_quota(self, username: str, **limits: int | None) -> None:
        """Override a user's quota (daily_seconds, monthly_seconds, concurrent_sessions)."""
        assignments = ", ".join(f"{name}={value!r}" for name, value in limits.items())
        code = f"User.objects.filter(username={username!r}).update({assignments})"
        self.manage("shell", "-c", f"from speechsite.accounts.models import User; {code}")

    def lift_quota(self, username: str) -> None:
        """For load tests and benchmarks: limits no single learner would ever reach."""
        self.set_quota(username, daily_seconds=10**9, monthly_seconds=10**9, concurrent_sessions=10**6)

    def session_for(self, username: str) -> str:
        """A signed-in session cookie value for `username` (created by seed_demo)."""
        return self.manage("login_session", username).strip()


def server_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "speechsite.settings",
            "DEBUG": "1",
            "SECRET_KEY": "live-server-test-key",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def live_server(workdir: Path, *, prepare_database: bool = True, **extra_env: str) -> Iterator[LiveServer]:
    """prepare_database=False: a further server on a database another live_server already set up."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(workdir, **extra_env)
    if prepare_database:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = (workdir / "daphne.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "speechsite.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not start; see {workdir / 'daphne.log'}")
            time.sleep(0.1)
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/speech/", env, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

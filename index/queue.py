"""The ingestion queue, kept in the catalog so that nothing a restart or a crash interrupts
is lost: a job is a batch of uploaded files, each waiting where the collection keeps its
files (index/blobs.py: queue/<job>/<n>/upload) until a runner has added it (or found why
not), and its report stays until it expires.

A runner claims a file by marking its row "running" under its own name, with a lease it
renews while it works. On PostgreSQL any number of runners (``koshqon worker`` on any
machine) claim at once: each takes the oldest queued row no other transaction holds
(``FOR UPDATE SKIP LOCKED``), so two never wait for or take the same file. A file whose
lease ran out was left by a runner that died: it is queued again, however often that
happens, since a runner dying says nothing of the file (a file that crashes its reader
fails in the reader's own process, ingest/contained.py). With the embedded SQLite
catalog one runner works on a data folder at a time (it holds ``RUNNER_LOCK``), so every
file it finds "running" when it starts is such a file.

Each file's document is committed before its row says so; a runner killed in between adds
the file again on its next try, which finds it already in the collection. A runner whose
lease ran out while it worked (a pause longer than the lease) finds its row taken over,
records nothing, and leaves the upload to the new claimant. A failed file's upload is
kept until the job's report expires, so that a librarian can retry it (``retry``)."""

from __future__ import annotations

import fcntl
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from ingest.errors import KoshqonError

from .blobs import Blobs
from .catalog import Catalog, placeholders

QUEUE_DIR = "queue"
UPLOAD_NAME = "upload"
RUNNER_LOCK = "RUNNER.lock"
DONE = ("added", "skipped", "failed")
KEPT = ("queued", "running", "failed")  # files whose upload is kept
log = logging.getLogger("koshqon.jobs")
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


@dataclass(frozen=True)
class JobSummary:
    """A job in the list of jobs: its files counted."""

    id: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    total: int
    done: int
    failed: int

    @property
    def state(self) -> str:
        if self.finished_at:
            return "finished"
        return "running" if self.started_at else "queued"


class NothingToRetry(KoshqonError):
    title = "Nothing to retry"


def _file(row) -> QueuedFile:
    values = dict(row)
    values["metadata"] = json.loads(values["metadata"])
    values["progress"] = json.loads(values["progress"]) if values["progress"] else None
    return QueuedFile(**values)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobQueue:
    def __init__(self, catalog: Catalog, blobs: Blobs):
        self.catalog, self.blobs = catalog, blobs
        self._clock = catalog.dialect.epoch  # leases by the database's clock, not a machine's

    @staticmethod
    def key(job_id: str, ordinal: int) -> str:
        """Where a queued file waits (under a name of its own: the upload's may be anything
        a file system refuses; the row keeps it)."""
        return f"{QUEUE_DIR}/{job_id}/{ordinal}/{UPLOAD_NAME}"

    def upload(self, file: QueuedFile) -> bytes | None:
        """A queued file's content (None if it is missing)."""
        try:
            return self.blobs.read(self.key(file.job_id, file.ordinal))
        except FileNotFoundError:
            return None

    def submit(self, uploads: list[tuple[str, BinaryIO, dict]]) -> str:
        """Store the uploads (name, content, metadata) durably and queue them as one job;
        all of it or nothing (a full disk leaves no file behind)."""
        job_id = uuid.uuid4().hex
        try:
            sizes = [
                self.blobs.put(self.key(job_id, ordinal), upload)
                for ordinal, (_, upload, _) in enumerate(uploads)
            ]
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
            self.blobs.delete(f"{QUEUE_DIR}/{job_id}")
            raise
        return job_id

    def claim(self, runner: str, lease_s: float) -> QueuedFile | None:
        """The next queued file of the oldest job, marked running under ``runner``'s name
        for ``lease_s`` seconds (renewed by ``renew``). None when there is none, or when
        this process does not reach the stored uploads now (it claims nothing it cannot
        read)."""
        if unreachable := self.blobs.reachable():
            log.error("%s: this runner claims no file until it is back", unreachable)
            return None
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
        is finished with its last file. Then let go of the stored upload, unless the file
        failed (it waits for a retry until the report expires). False (and nothing
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
        if recorded and outcome[0] != "failed":
            self.blobs.delete(f"{QUEUE_DIR}/{file.job_id}/{file.ordinal}")
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
        """Queue again the files left running by a runner that died: those whose lease ran
        out, or (``every_running``: this is the data folder's only runner) all of them.
        However often: a runner's death is not the file's fault."""
        left = "state = 'running'"
        if not every_running:
            left += f" AND (lease_until IS NULL OR lease_until < {self._clock})"
        with self.catalog.transaction(serialised=False) as db:
            db.execute(
                "UPDATE job_files SET state = 'queued', progress = NULL, worker = NULL, "
                f"lease_until = NULL WHERE {left}"
            )

    def retry(self, job_id: str) -> tuple[int, list[str]]:
        """Queue a job's failed files again: how many (none when none failed), and the
        names of those that cannot be (their upload is gone: NothingToRetry if that is
        every one)."""
        with self.catalog.transaction(serialised=False) as db:
            seq = self._seq(db, job_id)
            failed = db.execute(
                "SELECT ordinal, filename FROM job_files WHERE job_seq = ? AND state = 'failed'",
                (seq,),
            ).fetchall()
            if not failed:
                return 0, []
            kept = [o for o, _ in failed if self.blobs.exists(self.key(job_id, o))]
            db.execute(
                "UPDATE job_files SET state = 'queued', reason = NULL, document_id = NULL, "
                "progress = NULL, seconds = NULL, worker = NULL, lease_until = NULL "
                f"WHERE job_seq = ? AND ordinal IN ({placeholders(kept)})",
                (seq, *kept),
            )
            if kept:
                db.execute("UPDATE jobs SET finished_at = NULL WHERE seq = ?", (seq,))
        gone = [name for ordinal, name in failed if ordinal not in kept]
        if not kept:
            raise NothingToRetry(
                f"the failed files of job {job_id} can no longer be retried (their uploads "
                f"were not kept): {', '.join(gone)}; upload them again"
            )
        return len(kept), gone

    def jobs(self, limit: int = 50) -> list[JobSummary]:
        """The latest jobs first, each with its files counted."""
        rows = self.catalog.query(
            "SELECT j.id, j.created_at, j.started_at, j.finished_at, COUNT(*), "
            "SUM(CASE WHEN f.state IN ('added', 'skipped', 'failed') THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN f.state = 'failed' THEN 1 ELSE 0 END) "
            "FROM jobs j JOIN job_files f ON f.job_seq = j.seq "
            "GROUP BY j.seq, j.id, j.created_at, j.started_at, j.finished_at "
            "ORDER BY j.seq DESC LIMIT ?",
            (limit,),
        )
        return [JobSummary(*row) for row in rows]

    def expire(self, days: float) -> int:
        """Forget the reports of jobs finished more than ``days`` ago, and the uploads of
        their failed files."""
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        with self.catalog.transaction(serialised=False) as db:
            expired = db.execute(
                "DELETE FROM jobs WHERE finished_at < ? RETURNING id", (cutoff,)
            ).fetchall()
        for (job_id,) in expired:
            self.blobs.delete(f"{QUEUE_DIR}/{job_id}")
        return len(expired)

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
        """Delete stored uploads that no file waiting or failed names: a job whose row
        never committed (after ``older_than_s``: a submit may be under way), a file done,
        or a job whose report expired."""
        known = {row["id"] for row in self.catalog.query("SELECT id FROM jobs")}
        kept = {  # read after ``known``: a job committed in between keeps its files
            (row["job_id"], str(row["ordinal"]))
            for row in self.catalog.query(
                "SELECT j.id AS job_id, f.ordinal FROM job_files f JOIN jobs j "
                f"ON j.seq = f.job_seq WHERE f.state IN ({placeholders(KEPT)})",
                KEPT,
            )
        }
        for key, age in list(self.blobs.listed(QUEUE_DIR)):
            job_id, ordinal = key.split("/")[1:3]
            if job_id not in known:
                if age > older_than_s:
                    self.blobs.delete(f"{QUEUE_DIR}/{job_id}")
            elif (job_id, ordinal) not in kept:
                self.blobs.delete(f"{QUEUE_DIR}/{job_id}/{ordinal}")


@contextmanager
def runner_lock(folder: Path, who: str) -> Iterator[bool]:
    """Whether this process is the data folder's runner (held until the block ends); the
    runner is known as ``who`` meanwhile (``runner_of``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / RUNNER_LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.truncate(0)
        handle.write(who)
        handle.flush()
        yield True


def runner_of(folder: Path) -> str | None:
    """Who runs the data folder's queue now, if a process does."""
    try:
        with open(folder / RUNNER_LOCK) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "another process"
            return None
    except FileNotFoundError:
        return None

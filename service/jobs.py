"""Ingestion jobs: a batch of uploads is answered at once (202) and added in the background,
one file after another, by the data folder's runner: a thread of `koshqon worker` if one
runs, else of `koshqon serve`, which takes over when the worker stops. Jobs are kept in
the catalog (index/queue.py): a restart resumes them, and GET /jobs/{id} reports each
file's outcome until the report expires (KOSHQON_JOB_REPORT_DAYS). Stopping takes at most
``STOP_GRACE_S`` plus the time to close: a file that is not done by then is put back and
added on the next start."""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import suppress
from typing import BinaryIO

from index.queue import QUEUE_DIR, JobQueue, JobReport, QueuedFile, runner_lock
from ingest.errors import KoshqonError
from ingest.models import Metadata

from .core import Koshqon, metadata_from

log = logging.getLogger("koshqon.jobs")
STOP_GRACE_S = 3.0
NOTE_EVERY_S = 1.0  # a file's progress is written to its queue row at most this often
IDLE_POLL_S = 2.0  # how often an idle runner looks for jobs queued by another process
TIDY_EVERY_S = 600  # how often an idle runner deletes uploads that no job names


class NotedProgress:
    """A file's progress (pages read by OCR, passages encoded) noted in its queue row, at
    most once a second, with the ETA of the stage in hand from that stage's own pace."""

    def __init__(self, queue: JobQueue, file: QueuedFile):
        self.queue, self.file = queue, file
        self.series: tuple[str, int] | None = None
        self.started = self.last = time.monotonic()
        self.noted = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if (stage, total) != self.series:  # a new stage began when the last one reported
            self.series, self.started = (stage, total), self.last
        self.last = now
        if now - self.noted < NOTE_EVERY_S and done < total:
            return
        self.noted = now
        eta = (now - self.started) / done * (total - done) if done else None
        progress = {"stage": stage, "done": done, "total": total}
        self.queue.note(
            self.file, progress | {"eta_seconds": None if eta is None else round(eta, 1)}
        )


class JobNotFound(KoshqonError):
    title = "Job not found"


class Jobs:
    def __init__(self, koshqon: Koshqon, run: bool = True):
        self.koshqon = koshqon
        self.queue = JobQueue(koshqon.store.catalog, koshqon.settings.data_dir / QUEUE_DIR)
        self._stop, self._wake = threading.Event(), threading.Event()
        self._current: QueuedFile | None = None
        self._runner = threading.Thread(target=self._run, name="koshqon-ingest", daemon=True)
        if run:
            self._runner.start()

    def submit(self, uploads: list[tuple[str, BinaryIO, Metadata | None]]) -> JobReport:
        """Store the uploads (spooled to disk as they arrived), each with its metadata, and
        queue them; at once."""
        job_id = self.queue.submit(
            [
                (name, upload, metadata.given() if metadata else {})
                for name, upload, metadata in uploads
            ]
        )
        self._wake.set()
        return self.queue.report(job_id)

    def get(self, job_id: str) -> JobReport:
        report = self.queue.report(job_id)
        if report is None:
            days = self.koshqon.settings.job_report_days
            raise JobNotFound(f"no job with id {job_id} (reports are kept {days:g} days)")
        return report

    def close(self) -> bool:
        """Stop the runner: whether it stopped in time (else its file was put back, and the
        caller must not close the catalog under it)."""
        self._stop.set()
        self._wake.set()
        if not self._runner.is_alive():
            return True
        self._runner.join(STOP_GRACE_S)
        if not self._runner.is_alive():
            return True
        current = self._current
        if current is not None:
            self.queue.release(current)
        return False

    def _run(self) -> None:
        # this thread's share of encoding yields to searches (Linux: niceness per thread)
        niceness = self.koshqon.settings.ingest_niceness
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        while not self._stop.is_set():
            with runner_lock(self.queue.folder) as runner:
                if runner:
                    self._work()
                    return
            self._stop.wait(IDLE_POLL_S)  # another process runs the queue: wait our turn

    def _work(self) -> None:
        self.queue.recover()
        self.queue.expire(self.koshqon.settings.job_report_days)
        tidied = time.monotonic()
        while not self._stop.is_set():
            try:
                self._current = file = self.queue.claim()
                if file is None:
                    if time.monotonic() - tidied > TIDY_EVERY_S:  # uploads a crash left
                        self.queue.collect()
                        tidied = time.monotonic()
                    self._wake.wait(IDLE_POLL_S)
                    self._wake.clear()
                    continue
                self._add(file)
            except Exception:  # the catalog busy too long, say: the runner goes on
                log.exception("the job runner met an error; it goes on in %s s", IDLE_POLL_S)
                if self._current is not None:
                    with suppress(Exception):
                        self.queue.release(self._current)
                self._stop.wait(IDLE_POLL_S)
            self._current = None

    def _add(self, file: QueuedFile) -> None:
        path = self.queue.path(file)
        if not path.is_file():
            self.queue.finish(file, "failed", "the stored upload is missing", None)
            return
        metadata = metadata_from(file.metadata)
        noted = NotedProgress(self.queue, file)
        outcome = self.koshqon.add_queued(path, file.filename, metadata, noted)
        document_id = outcome.document.id if outcome.document else None
        self.queue.finish(file, outcome.status, outcome.reason, document_id)
        log.info(
            "job %s file %d %s: %s%s", file.job_id, file.ordinal, file.filename,
            outcome.status, f" ({outcome.reason})" if outcome.reason else "",
        )  # fmt: skip
        if self.queue.report(file.job_id).finished_at:
            self.queue.expire(self.koshqon.settings.job_report_days)

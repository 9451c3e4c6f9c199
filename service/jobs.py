"""Ingestion jobs: a batch of uploads is answered at once (202) and added in the background,
one file after another, by a runner. With the embedded SQLite catalog that is the data
folder's runner: a thread of `koshqon worker` if one runs, else of `koshqon serve`, which
takes over when the worker stops. With a PostgreSQL catalog every `koshqon worker` (and
every `koshqon serve` unless KOSHQON_SERVE_JOBS=false) is a runner, each claiming files
for itself. Jobs are kept in the catalog (index/queue.py): a restart resumes them, and
GET /jobs/{id} reports each file's outcome until the report expires
(KOSHQON_JOB_REPORT_DAYS). A runner renews its claim on the file in hand every third of
its lease (KOSHQON_JOB_LEASE_S); a runner that dies stops renewing, and another takes the
file once the lease runs out. Stopping takes at most ``STOP_GRACE_S`` plus the time to
close: a file that is not done by then is put back and added on the next start."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from contextlib import suppress
from typing import BinaryIO

from index.queue import JobQueue, JobReport, QueuedFile, runner_lock
from index.store import Switching
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

    def __init__(self, queue: JobQueue, file: QueuedFile, runner: str):
        self.queue, self.file, self.runner = queue, file, runner
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
        eta_seconds = None if eta is None else round(eta, 1)
        self.queue.note(self.file, self.runner, progress | {"eta_seconds": eta_seconds})


class JobNotFound(KoshqonError):
    title = "Job not found"


class Jobs:
    def __init__(self, koshqon: Koshqon, run: bool = True):
        self.koshqon = koshqon
        settings = koshqon.settings
        self.queue = JobQueue(koshqon.store.catalog, koshqon.store.blobs)
        self.folder = settings.data_dir  # where the embedded catalog's runner lock lies
        self.shared = koshqon.store.catalog.dialect.name == "postgresql"
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = settings.job_lease_s
        self._stop, self._wake = threading.Event(), threading.Event()
        self._current: QueuedFile | None = None
        self._runner = threading.Thread(target=self._run, name="koshqon-ingest", daemon=True)
        self._renewer = threading.Thread(target=self._renew, name="koshqon-lease", daemon=True)
        if run:
            self._runner.start()
            self._renewer.start()

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

    def retry(self, job_id: str) -> JobReport:
        """Queue a job's failed files again (NothingToRetry if none can be)."""
        self.get(job_id)
        self.queue.retry(job_id)
        self._wake.set()
        return self.get(job_id)

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
            self.queue.release(current, self.name)
        return False

    def _run(self) -> None:
        # this thread's share of encoding yields to searches (Linux: niceness per thread)
        niceness = self.koshqon.settings.ingest_niceness
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        if self.shared:  # any number of runners, each on files it claims
            self._work()
            return
        while not self._stop.is_set():
            with runner_lock(self.folder, self.name) as runner:
                if runner:
                    self._work()
                    return
            self._stop.wait(IDLE_POLL_S)  # another process runs the queue: wait our turn

    def _renew(self) -> None:
        """Keep the claim on the file in hand while this process lives."""
        while not self._stop.wait(self.lease_s / 3):
            current = self._current
            if current is not None:
                with suppress(Exception):  # the catalog unreachable: the next try may do
                    self.queue.renew(current, self.name, self.lease_s)

    def _work(self) -> None:
        self.queue.recover(every_running=not self.shared)
        self.queue.collect()
        self.queue.expire(self.koshqon.settings.job_report_days)
        tidied = time.monotonic()
        while not self._stop.is_set():
            try:
                if self.shared:  # files whose runner died elsewhere
                    self.queue.recover()
                self._current = file = self.queue.claim(self.name, self.lease_s)
                if file is None:
                    if time.monotonic() - tidied > TIDY_EVERY_S:  # uploads a crash left
                        self.queue.collect()
                        tidied = time.monotonic()
                    self._wake.wait(IDLE_POLL_S)
                    self._wake.clear()
                    continue
                self._add(file)
            except Exception as error:  # the catalog busy too long, say: the runner goes on
                if isinstance(error, Switching):  # its file waits for the new model
                    log.info("%s; the file is tried again in %s s", error, IDLE_POLL_S)
                else:
                    log.exception("the job runner met an error; it goes on in %s s", IDLE_POLL_S)
                if self._current is not None:
                    with suppress(Exception):
                        self.queue.release(self._current, self.name)
                self._stop.wait(IDLE_POLL_S)
            self._current = None

    def _add(self, file: QueuedFile) -> None:
        data = self.queue.upload(file)
        if data is None:
            self.queue.finish(file, self.name, ("failed", "the stored upload is missing", None), 0)
            return
        started = time.monotonic()
        metadata = metadata_from(file.metadata)
        noted = NotedProgress(self.queue, file, self.name)
        outcome = self.koshqon.add_queued(data, file.filename, metadata, noted)
        document_id = outcome.document.id if outcome.document else None
        result = (outcome.status, outcome.reason, document_id)
        if not self.queue.finish(file, self.name, result, time.monotonic() - started):
            log.warning("job %s file %d was taken over (lease ran out)", file.job_id, file.ordinal)
            return
        log.info(
            "job %s file %d %s: %s%s", file.job_id, file.ordinal, file.filename,
            outcome.status, f" ({outcome.reason})" if outcome.reason else "",
        )  # fmt: skip
        if self.queue.report(file.job_id).finished_at:
            self.queue.expire(self.koshqon.settings.job_report_days)

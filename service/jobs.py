"""Ingestion jobs for the HTTP API: a batch of uploads is answered at once (202) and added
in the background, one file after another; GET /jobs/{id} reports progress and each file's
outcome. Jobs live in memory: a restart forgets them (the documents they added stay)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ingest.errors import KoshqonError
from ingest.models import Metadata

from .core import FileOutcome, Koshqon


class JobNotFound(KoshqonError):
    title = "Job not found"


@dataclass
class Job:
    id: str
    total: int
    created_at: str
    state: str = "queued"  # queued, running, finished
    outcomes: list[FileOutcome] = field(default_factory=list)


class Jobs:
    def __init__(self, koshqon: Koshqon):
        self.koshqon = koshqon
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="koshqon-ingest")

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def submit(self, uploads: list[tuple[str, BinaryIO]], metadata: Metadata | None) -> Job:
        """Copy the uploads (spooled to disk as they arrived) into a temporary folder and
        queue them; returns the job at once."""
        job = Job(uuid.uuid4().hex, len(uploads), datetime.now(UTC).isoformat(timespec="seconds"))
        folder = Path(tempfile.mkdtemp(prefix=f"koshqon-job-{job.id[:8]}-"))
        paths = []
        try:
            for number, (name, upload) in enumerate(uploads):
                path = folder / str(number) / Path(name).name
                path.parent.mkdir()
                with path.open("wb") as copy:
                    shutil.copyfileobj(upload, copy)
                paths.append(path)
        except BaseException:  # the disk filled up, say: no folder left behind
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._lock:
            self._jobs[job.id] = job
        self._worker.submit(self._run, job, paths, metadata, folder)
        return job

    def _run(self, job: Job, paths: list[Path], metadata: Metadata | None, folder: Path) -> None:
        # this thread's share of encoding yields to searches (Linux: niceness per thread)
        niceness = self.koshqon.settings.ingest_niceness
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        job.state = "running"
        try:
            for outcome in self.koshqon.ingest([(p, None, None) for p in paths], metadata):
                job.outcomes.append(outcome)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            job.state = "finished"

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

"""Ingestion jobs are kept in the catalog (index/queue.py, service/jobs.py): a restart, a
SIGTERM or a kill -9 loses no queued file and no committed document, and leaves the indexes
in step with the catalog."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from test_server import server
from test_store import HashingEmbedder, in_step

import service.core
from index.blobs import FolderBlobs, open_blobs
from index.queue import JobQueue, NothingToRetry
from index.store import Store, open_catalog
from service.api.app import create_app
from service.config import Settings
from service.core import Koshqon
from service.jobs import Jobs

TESTS = Path(__file__).resolve().parent


def note(n: int, sentences: int = 3) -> tuple[str, io.BytesIO, dict]:
    text = " ".join(f"Кандас {n} тіркеуі туралы анықтама, {i}-бөлім." for i in range(sentences))
    return f"note-{n}.txt", io.BytesIO(text.encode()), {"doc_type": "guide"}


@pytest.fixture
def queue(tmp_path, database_url) -> JobQueue:
    """A queue in each engine's catalog (SQLite, and a throwaway PostgreSQL), its uploads
    where each keeps them (the data folder; PostgreSQL itself)."""
    catalog = open_catalog(tmp_path, database_url)
    yield JobQueue(catalog, open_blobs(catalog, tmp_path, None))
    catalog.close()


LEASE_S = 60


def test_a_job_waits_in_the_catalog_until_each_file_is_done(queue):
    job_id = queue.submit([note(1), note(2)])
    assert queue.report(job_id).state == "queued"
    first = queue.claim("a", LEASE_S)
    assert (first.job_id, first.ordinal, first.state, first.attempts) == (job_id, 0, "running", 1)
    assert queue.upload(first).startswith("Кандас 1".encode())
    assert first.metadata == {"doc_type": "guide"}
    assert queue.finish(first, "a", ("added", None, 7), 1.5)
    assert queue.upload(first) is None, "a done file's upload is let go"
    assert queue.report(job_id).state == "running"
    queue.finish(queue.claim("a", LEASE_S), "a", ("failed", "unreadable", None), 0.1)
    report = queue.report(job_id)
    assert report.state == "finished" and report.finished_at
    assert [(f.state, f.document_id, f.reason, f.seconds) for f in report.files] == [
        ("added", 7, None, 1.5),
        ("failed", None, "unreadable", 0.1),
    ]
    assert queue.claim("a", LEASE_S) is None


def test_a_file_left_running_by_dead_runners_is_queued_again_however_often(queue):
    """A runner's death says nothing of the file (a file that crashes its reader fails in
    the reader's own process): the file is queued again each time, never failed for it."""
    job_id = queue.submit([note(1)])
    for attempt in range(1, 11):
        file = queue.claim("a", LEASE_S)
        assert (file.ordinal, file.attempts) == (0, attempt)
        queue.note(file, "a", {"stage": "reading", "done": 1, "total": 5, "eta_seconds": 9.0})
        queue.recover(every_running=True)  # the next runner's start: this one died in the file
    [file] = queue.report(job_id).files
    assert (file.state, file.reason, file.progress) == ("queued", None, None)
    assert queue.finish(queue.claim("a", LEASE_S), "a", ("added", None, 3), 1.0)
    assert queue.report(job_id).state == "finished"


def test_failed_files_are_kept_to_be_retried_until_the_report_expires(queue):
    job_id = queue.submit([note(1), note(2)])
    queue.finish(queue.claim("a", LEASE_S), "a", ("added", None, 1), 1.0)
    assert queue.retry(job_id) == (0, []), "none failed: nothing to do"
    failed = queue.claim("a", LEASE_S)
    queue.finish(failed, "a", ("failed", "reading it took over 600 s", None), 600.0)
    assert queue.report(job_id).state == "finished"
    queue.collect(older_than_s=0)
    assert queue.upload(failed), "a failed file's upload waits for a retry"
    assert queue.retry(job_id) == (1, [])
    report = queue.report(job_id)
    assert report.state == "running" and report.finished_at is None
    assert [(f.state, f.reason) for f in report.files] == [("added", None), ("queued", None)]
    again = queue.claim("b", LEASE_S)
    assert (again.ordinal, again.attempts) == (1, 2)
    queue.finish(again, "b", ("added", None, 2), 1.0)
    assert queue.report(job_id).state == "finished" and queue.upload(again) is None
    assert [(j.id, j.total, j.done, j.failed, j.state) for j in queue.jobs()] == [
        (job_id, 2, 2, 0, "finished")
    ]


def test_a_failed_file_whose_report_expired_cannot_be_retried(queue):
    job_id = queue.submit([note(1)])
    queue.finish(queue.claim("a", LEASE_S), "a", ("failed", "unreadable", None), 1.0)
    queue.blobs.delete(queue.key(job_id, 0))  # as collect() does once the report expired
    with pytest.raises(NothingToRetry, match="not kept.*note-1.txt; upload them again"):
        queue.retry(job_id)


def test_runners_side_by_side_claim_different_files_and_take_over_a_dead_ones(queue):
    """Runners sharing a catalog: each file is claimed by one. A runner that stops renewing
    its lease (it died) loses the file to another once the lease runs out; the first, if
    it was only slow, then finds it taken and records nothing."""
    job_id = queue.submit([note(1), note(2), note(3)])
    first, second = queue.claim("a", LEASE_S), queue.claim("b", 0.2)
    assert (first.ordinal, second.ordinal) == (0, 1)
    queue.recover()
    assert queue.report(job_id).files[1].state == "running", "a live lease is kept"
    time.sleep(0.3)
    queue.recover()  # "b" died: its lease ran out
    assert queue.renew(first, "a", LEASE_S) and not queue.renew(second, "b", LEASE_S)
    retried = queue.claim("c", LEASE_S)
    assert (retried.ordinal, retried.attempts) == (1, 2)
    assert not queue.finish(second, "b", ("added", None, 5), 1.0), "b no longer holds it"
    assert queue.upload(retried), "the upload stays for the runner that holds it"
    assert queue.finish(retried, "c", ("added", None, 6), 1.0)
    assert [f.state for f in queue.report(job_id).files] == ["running", "added", "queued"]


def test_a_job_whose_last_two_files_finish_at_once_is_finished(queue):
    """Two runners finishing a job's last files at the same moment: one of them closes it
    (each alone would see the other's file still running)."""
    for _ in range(10):
        job_id = queue.submit([note(1), note(2)])
        claimed = [queue.claim("a", LEASE_S), queue.claim("b", LEASE_S)]
        together = threading.Barrier(2)

        def finish(file, runner, together=together):
            together.wait()
            queue.finish(file, runner, ("added", None, None), 1.0)

        threads = [
            threading.Thread(target=finish, args=(f, r)) for f, r in zip(claimed, "ab", strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert queue.report(job_id).state == "finished"


def test_a_file_put_back_by_a_stopping_runner_loses_no_attempt(queue):
    queue.submit([note(1)])
    queue.release(queue.claim("a", LEASE_S), "a")
    assert queue.claim("a", LEASE_S).attempts == 1


def test_old_reports_expire_and_stray_uploads_are_collected(queue):
    job_id = queue.submit([note(1)])
    queue.finish(queue.claim("a", LEASE_S), "a", ("added", None, 1), 1.0)
    assert queue.expire(days=30) == 0
    with queue.catalog.transaction() as db:
        db.execute("UPDATE jobs SET finished_at = '2020-01-01T00:00:00+00:00'")
    assert queue.expire(days=30) == 1 and queue.report(job_id) is None
    stray = queue.key("f" * 32, 0)  # a submit killed before its commit
    queue.blobs.put(stray, io.BytesIO(b"x"))
    queue.collect()
    assert queue.blobs.exists(stray), "a submit may be under way"
    if isinstance(queue.blobs, FolderBlobs):
        os.utime(queue.blobs.path(stray), (0, 0))
    else:
        with queue.catalog.transaction() as db:
            db.execute("UPDATE blobs SET written_at = 0")
    queue.collect()
    assert not list(queue.blobs.listed("queue"))


def test_a_jobs_report_outlives_the_server(settings, tmp_path):
    with TestClient(create_app(settings)) as client:
        files = [("files", ("a.txt", "Кандас мәртебесі туралы.".encode()))]
        job = client.post("/jobs", files=files).json()
        while job["state"] != "finished":
            time.sleep(0.1)
            job = client.get(f"/jobs/{job['id']}").json()
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/jobs/{job['id']}").json() == job
        assert job["finished_at"] and job["results"][0]["status"] == "added"


RUNNER = f"""
import sys, threading
from pathlib import Path
sys.path[:0] = [{str(TESTS)!r}, {str(TESTS.parent)!r}]
from test_store import HashingEmbedder
import service.core
service.core._embedder = lambda *args: HashingEmbedder()
from service.config import Settings
from service.core import Koshqon
from service.jobs import Jobs
jobs = Jobs(Koshqon(Settings(data_dir=Path(sys.argv[1]))))
print("running", flush=True)
threading.Event().wait()
"""


def opened(data_dir: Path) -> Store:
    return Store(data_dir, HashingEmbedder())


@pytest.mark.slow
def test_kill_9_at_20_random_moments_loses_nothing_committed(tmp_path, monkeypatch):
    """A runner (with the hashing embedder: the code around the model) is killed 20 times
    while it works through four jobs; each time the collection reopens in step, every
    document committed before is still there, and at the end every file has arrived."""
    store = opened(tmp_path)
    queue = JobQueue(store.catalog, store.blobs)
    jobs = [queue.submit([note(100 * j + n, sentences=40) for n in range(25)]) for j in range(4)]
    store.close()
    randomly, committed = random.Random(11), set()
    for round_ in range(20):
        runner = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        runner.stdout.readline()
        time.sleep(randomly.uniform(0.0, 1.2))
        runner.kill()
        runner.wait()
        store = opened(tmp_path)
        assert in_step(store), f"round {round_}"
        now = {d.id for d in store.catalog.documents()}
        assert committed <= now, f"round {round_}: committed documents were lost"
        committed = now
        waiting = store.catalog.query(
            "SELECT COUNT(*) FROM job_files WHERE state IN ('queued', 'running')"
        )[0][0]
        store.close()
    assert waiting, "every kill landed while files were waiting"
    monkeypatch.setattr(service.core, "_embedder", lambda *args: HashingEmbedder())
    koshqon = Koshqon(Settings(data_dir=tmp_path))
    runner = Jobs(koshqon)
    queue = runner.queue
    while not all(queue.report(job).state == "finished" for job in jobs):
        time.sleep(0.1)
    runner.close()
    files = [f for job in jobs for f in queue.report(job).files]
    assert {f.state for f in files} <= {"added", "skipped"}, "a kill is never the file's fault"
    found = {f.document_id for f in files}
    assert found == {d.id for d in koshqon.documents()} >= committed and len(found) == 100
    assert in_step(koshqon.store)
    assert not list(queue.blobs.listed("queue")), "no upload is left behind"
    koshqon.close()


def wait_for(client: httpx.Client, job_id: str, until, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while not until(job := client.get(f"/jobs/{job_id}").json()):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


@pytest.mark.slow
def test_a_real_server_killed_or_stopped_mid_job_resumes_it(tmp_path, models_dir):
    """kill -9 in a job, then SIGTERM in a long file: the server stops within 10 s, and
    each time the next start finishes the job with nothing lost and the indexes in step."""
    settings = Settings(data_dir=tmp_path / "data", models_dir=models_dir)
    files = [("files", (name, data.read())) for name, data, _ in map(note, range(6))]
    with server(settings) as client:
        job = client.post("/jobs", files=files).json()
        wait_for(client, job["id"], lambda job: job["done"] >= 1)
        client.process.kill()
    with server(settings) as client:
        job = wait_for(client, job["id"], lambda job: job["state"] == "finished")
        # a file whose document committed just before the kill is found there on its retry
        assert {r["status"] for r in job["results"]} <= {"added", "skipped"}
        ids = {d["id"] for d in client.get("/documents").json()["documents"]}
        assert {r["document_id"] for r in job["results"]} == ids and len(ids) == 6
        long = " ".join(
            f"Статья {n}. Порядок регистрации кандасов, пункт {n}." for n in range(1200)
        )
        job = client.post("/jobs", files=[("files", ("long.txt", long.encode()))]).json()
        wait_for(client, job["id"], lambda job: job["state"] == "running")
        time.sleep(1)
        stopping = time.monotonic()
        client.process.terminate()
        client.process.wait(timeout=60)
        assert time.monotonic() - stopping < 10  # measured: 3.4 s
    with server(settings) as client:
        job = wait_for(client, job["id"], lambda job: job["state"] == "finished")
        assert [r["status"] for r in job["results"]] == ["added"]
        health = client.get("/health").json()
        assert (health["status"], health["documents"]) == ("ok", 7)


@pytest.mark.slow
def test_a_worker_runs_the_queue_and_the_server_takes_over_when_it_is_killed(tmp_path, models_dir):
    """`koshqon worker` adds the files a server queues; killed with -9 in a job, the
    server takes the queue over and finishes the job, losing nothing."""
    import threading

    from test_server import KOSHQON

    settings = Settings(data_dir=tmp_path / "data", models_dir=models_dir)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KOSHQON_MODELS_DIR": str(models_dir)}
    open_catalog(settings.data_dir).close()  # an empty collection: a worker makes none
    worker = subprocess.Popen(
        [str(KOSHQON), "worker", "--data-dir", str(settings.data_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # ready once it says so (after preparing the model, the first time)
    assert any("Adding the queued files" in line for line in worker.stderr)
    worker_log: list[str] = []
    threading.Thread(target=lambda: worker_log.extend(worker.stdout), daemon=True).start()
    try:
        with server(settings) as client:
            files = [("files", (name, data.read())) for name, data, _ in map(note, range(2))]
            first = client.post("/jobs", files=files).json()
            wait_for(client, first["id"], lambda job: job["state"] == "finished")
            time.sleep(0.5)
            assert [line.split(": ")[-1].strip() for line in worker_log] == ["added"] * 2
            files = [("files", (name, data.read())) for name, data, _ in map(note, range(2, 8))]
            second = client.post("/jobs", files=files).json()
            wait_for(client, second["id"], lambda job: job["done"] >= 1)
            worker.kill()
            second = wait_for(client, second["id"], lambda job: job["state"] == "finished")
            assert {r["status"] for r in second["results"]} <= {"added", "skipped"}
            health = client.get("/health").json()
            assert (health["status"], health["documents"]) == ("ok", 8)
    finally:
        worker.kill()
        worker.wait()

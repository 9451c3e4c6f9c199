"""Past one machine (docs/deployment.md): two `koshqon serve` replicas and two `koshqon
worker`s, real processes with the real model, share one PostgreSQL catalog (a throwaway
cluster) and nothing else: each has a data folder of its own, as on machines of their own,
and the files (originals, queued uploads) are kept in PostgreSQL. Each replica keeps its
own indexes and follows the catalog's change log; the workers claim queued files with
leases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from conftest import free_port

from service.config import Settings
from service.core import model_and_chunker

pytestmark = pytest.mark.slow  # four real processes and a PostgreSQL server

KOSHQON = Path(sys.executable).with_name("koshqon")
LEASE_S = 3
FOLLOWED_WITHIN_S = 2
DOCUMENTS = {
    "kandas.txt": "Кандас — этникалық қазақ, тарихи отанына оралып, кандас мәртебесін алған адам.",
    "registration.txt": "Иностранец регистрируется по месту жительства в течение десяти дней.",
    "quota.txt": "The regional quota sets how many kandas families each region can receive.",
}


class Processes:
    """The processes of one deployment on this machine, each with a data folder of its own
    (for its indexes) and the PostgreSQL catalog in common."""

    def __init__(self, root: Path, database_url: str, models_dir: Path):
        self.root, self.replicas, self.workers = root, {}, {}
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(root),
            "KOSHQON_MODELS_DIR": str(models_dir),
            "KOSHQON_DATABASE_URL": database_url,
            "KOSHQON_SERVE_JOBS": "false",
            "KOSHQON_JOB_LEASE_S": str(LEASE_S),
        }

    def _start(self, name: str, *arguments: str) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("a")
        return subprocess.Popen(
            [str(KOSHQON), *arguments, "--data-dir", str(self.root / name)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def replica(self, name: str) -> httpx.Client:
        port = free_port()
        process = self._start(name, "serve", "--port", str(port))
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        client.process = process
        self.replicas[name] = client
        return client

    def worker(self, name: str) -> subprocess.Popen:
        self.workers[name] = self._start(name, "worker")
        return self.workers[name]

    def ready(self, client: httpx.Client, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert client.process.poll() is None, self.log_of(client)
            with suppress(httpx.TransportError):
                if client.get("/health").status_code == 200:
                    return
            assert time.monotonic() < deadline, "a replica did not start"
            time.sleep(0.3)

    def log_of(self, client: httpx.Client) -> str:
        name = next(n for n, c in self.replicas.items() if c is client)
        return (self.root / f"{name}.log").read_text()

    def stop(self) -> None:
        processes = [c.process for c in self.replicas.values()] + list(self.workers.values())
        for process in processes:
            with suppress(ProcessLookupError):
                process.kill()
        for process in processes:
            process.wait()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres, models_dir):
    model_and_chunker(Settings(models_dir=models_dir))  # built once, before four processes
    processes = Processes(
        tmp_path_factory.mktemp("deployment"), postgres.new_database(), models_dir
    )
    a = processes.replica("replica-a")
    processes.ready(a)  # the first one creates the catalog's schema …
    b = processes.replica("replica-b")  # … the others find it
    processes.worker("worker-1")
    processes.worker("worker-2")
    processes.ready(b)
    yield processes
    processes.stop()


def hits(client: httpx.Client, query: str) -> list[tuple]:
    results = client.get("/search", params={"q": query, "k": 5}).json()["results"]
    return [
        (h["chunk_id"], round(h["score"], 4), h["citation"]["document_id"], h["text"])
        for h in results
    ]


def eventually(check, timeout: float = FOLLOWED_WITHIN_S):
    """``check()``'s value once true, polling until ``timeout``; the last value if never."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_writes_through_either_replica_show_on_the_other_within_2_s(deployment):
    a, b = deployment.replicas["replica-a"], deployment.replicas["replica-b"]
    ids = {}
    for n, (name, text) in enumerate(DOCUMENTS.items()):
        through = (a, b)[n % 2]
        response = through.post("/documents", files={"file": (name, text.encode())})
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    for query in ("Кандас деген кім?", "регистрация иностранцев", "regional quota"):
        assert eventually(lambda q=query: hits(a, q) == hits(b, q) != []), query
    assert hits(b, "регистрация иностранцев")[0][2] == ids["registration.txt"]

    edited = a.patch(f"/documents/{ids['quota.txt']}", json={"title": "Квоталар туралы"})
    assert edited.status_code == 200
    assert b.get(f"/documents/{ids['quota.txt']}").json()["title"] == "Квоталар туралы"

    new_text = "Иностранец регистрируется по месту пребывания в течение трёх рабочих дней."
    replaced = b.put(
        f"/documents/{ids['registration.txt']}",
        files={"file": ("registration.txt", new_text.encode())},
    )
    assert replaced.status_code == 200, replaced.text
    assert eventually(lambda: hits(a, "трёх рабочих дней")[0][3] == new_text)

    assert a.delete(f"/documents/{ids['kandas.txt']}").status_code == 200
    assert eventually(
        lambda: ids["kandas.txt"] not in {hit[2] for hit in hits(b, "Кандас деген кім?")}
    )
    for query in ("Кандас деген кім?", "регистрация иностранцев", "regional quota"):
        assert hits(a, query) == hits(b, query)


def long_text(paragraphs: int) -> str:
    return "\n\n".join(
        f"{n}-бап. Кандастарды қоныстандыру өңірлерінің {n}-бағдарламасы: тұрғын үй, жұмыс, "
        f"тіл курстары және әлеуметтік көмек; {n * 7} отбасы, {n * 3} аудан, {n + 1990}-жыл. " * 6
        for n in range(paragraphs)
    )


def result(client: httpx.Client, job_id: str, filename: str) -> dict | None:
    job = client.get(f"/jobs/{job_id}").json()
    return next((f for f in job["results"] if f["filename"] == filename), None)


def test_a_worker_killed_in_a_file_loses_nothing_and_another_finishes_it(deployment):
    """SIGKILL the worker encoding a long file: no half of it reaches the catalog, the
    other worker takes the file once the lease runs out, and the job's report (kept in
    PostgreSQL) says it was tried twice."""
    a, b = deployment.replicas["replica-a"], deployment.replicas["replica-b"]
    files = [("files", ("long.txt", long_text(70).encode()))] + [
        ("files", (f"short-{n}.txt", f"{n}-қысқа анықтама: кандас куәлігі.".encode()))
        for n in range(3)
    ]
    job = a.post("/jobs", files=files).json()
    workers = {p.pid: name for name, p in deployment.workers.items()}

    def encoding_long_file() -> dict | None:
        current = b.get(f"/jobs/{job['id']}").json()["current"]
        ready = current and current["filename"] == "long.txt" and current["stage"] == "encoding"
        return current if ready else None

    current = eventually(encoding_long_file, timeout=180)
    assert current, b.get(f"/jobs/{job['id']}").json()
    holder = next(pid for pid in workers if f":{pid}:" in current["runner"])
    os.kill(holder, signal.SIGKILL)
    deployment.workers[workers[holder]].wait()

    def named_long() -> list[dict]:
        return [d for d in b.get("/documents").json()["documents"] if d["filename"] == "long.txt"]

    assert named_long() == [], "no part of the killed worker's file was committed"
    done = eventually(lambda: b.get(f"/jobs/{job['id']}").json()["state"] == "finished", 300)
    report = b.get(f"/jobs/{job['id']}").json()
    assert done, report
    assert [r["status"] for r in report["results"]] == ["added"] * 4, report
    long = result(a, job["id"], "long.txt")
    assert long["attempts"] == 2, long
    assert [d["id"] for d in named_long()] == [long["document_id"]]
    document = a.get(f"/documents/{long['document_id']}").json()
    assert len(document["passages"]) == document["chunks"] > 20, "the document is whole"
    query = "Кандастарды қоныстандыру бағдарламасы"
    assert eventually(lambda: hits(a, query) == hits(b, query) != [])
    deployment.worker(workers[holder])  # back to two workers for what follows


def test_a_job_sent_to_one_replica_is_added_by_workers_with_folders_of_their_own(deployment):
    """The reproduction of issue 22: six files posted to replica A, claimed by workers
    whose data folders hold none of them, all arrive."""
    a, b = deployment.replicas["replica-a"], deployment.replicas["replica-b"]
    files = [
        ("files", (f"note-{n}.txt", f"{n}-анықтама: кандас куәлігін алу тәртібі.".encode()))
        for n in range(6)
    ]
    job = a.post("/jobs", files=files).json()
    done = eventually(lambda: b.get(f"/jobs/{job['id']}").json()["state"] == "finished", 300)
    report = b.get(f"/jobs/{job['id']}").json()
    assert done and [r["status"] for r in report["results"]] == ["added"] * 6, report
    document = report["results"][0]["document_id"]
    assert b.get(f"/documents/{document}/original").content.startswith("0-анықтама".encode())


def test_a_process_that_would_keep_files_elsewhere_refuses_to_start(deployment):
    """A worker given a shared folder the others do not use would lose what it stores."""
    refused = subprocess.run(
        [str(KOSHQON), "worker", "--data-dir", str(deployment.root / "stray")],
        env=deployment.env | {"KOSHQON_SHARED_DIR": str(deployment.root / "nfs")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1, refused.stderr
    assert "keeps its originals and uploads in PostgreSQL" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_replica_restarted_catches_up_from_its_snapshot_and_the_log(deployment):
    a, b = deployment.replicas["replica-a"], deployment.replicas["replica-b"]
    b.process.send_signal(signal.SIGTERM)
    assert b.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn ends by the signal it got
    text = "Көші-қон полициясы шетелдіктерді тіркеу туралы анықтама береді."
    added = a.post("/documents", files={"file": ("police.txt", text.encode())}).json()
    b = deployment.replica("replica-b")
    deployment.ready(b)
    found = hits(b, "шетелдіктерді тіркеу полициясы")
    assert found and found[0][2] == added["id"]
    for query in ("шетелдіктерді тіркеу", "Кандас деген кім?", "regional quota"):
        assert hits(a, query) == hits(b, query)
    assert "rebuilding" not in deployment.log_of(b), "loaded from its own snapshot"


def test_the_cli_reads_the_shared_catalog_and_refuses_what_only_the_embedded_one_does(
    deployment,
):
    cli = deployment.root / "cli"
    listed = subprocess.run(
        [str(KOSHQON), "docs", "list", "--json", "--data-dir", str(cli)],
        env=deployment.env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    served = deployment.replicas["replica-a"].get("/documents").json()["documents"]
    assert [d["id"] for d in json.loads(listed.stdout)] == [d["id"] for d in served]
    backup = subprocess.run(
        [str(KOSHQON), "backup", str(deployment.root / "copy"), "--data-dir", str(cli)],
        env=deployment.env,
        capture_output=True,
        text=True,
    )
    assert backup.returncode == 1 and "PostgreSQL" in backup.stderr, backup.stderr
    assert not (deployment.root / "copy").exists()

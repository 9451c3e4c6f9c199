"""Nothing a crash interrupts is lost: after ``kill -9`` at any moment (in a write, in a
snapshot of the indexes, in a reindex) the collection reopens with its dense and keyword
indexes holding exactly the catalog's passages, and can be written again.

A child process writes in a loop with the hashing embedder (the code around the model),
saving a snapshot after every round so that kills land inside one too; the parent kills
it at staggered moments and reopens the collection each time.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from test_reindex import MODELS, SmallerModel
from test_store import HashingEmbedder, document, in_step

from index.store import Store

TESTS = Path(__file__).resolve().parent
PRELUDE = f"""
import sys
from pathlib import Path
sys.path[:0] = [{str(TESTS)!r}, {str(TESTS.parent)!r}]
from test_store import HashingEmbedder, document
from index.store import Store
"""
WRITER = (
    PRELUDE
    + """
store = Store(Path(sys.argv[1]), HashingEmbedder())
for n in range(10**6):
    texts = [f"Кандас {n} тіркеу {i}. Регистрация {n} {i}." for i in range(5)]
    added = store.add_many([document(t, f"d{n}-{i}.txt") for i, t in enumerate(texts)])
    store.remove(added[0].document.id)
    store.update(added[1].document.id, {"title": f"Справочник {n}"})
    store.snapshot()
    print(n, flush=True)
"""
)
REINDEXER = (
    PRELUDE
    + """
from test_reindex import MODELS, SmallerModel
from index.reindex import reindex
from index.store import open_catalog
data_dir = Path(sys.argv[1])
print("start", flush=True)
for _ in reindex(open_catalog(data_dir), data_dir / "index", SmallerModel(), (256, 32)):
    pass
print("done", flush=True)
"""
)


def killed_after(script: str, data_dir: Path, delay: float) -> None:
    """Run ``script`` until it has said something, then ``delay`` seconds more; kill -9."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    child.stdout.readline()
    time.sleep(delay)
    child.kill()
    child.wait()


def test_a_kill_in_any_write_or_snapshot_leaves_the_collection_in_step(tmp_path):
    randomly = random.Random(0)
    for round_ in range(6):
        killed_after(WRITER, tmp_path, randomly.uniform(0.0, 0.6))
        store = Store(tmp_path, HashingEmbedder())
        assert in_step(store), f"round {round_}"
        added = store.add(document(f"После сбоя {round_}.", f"after-{round_}.txt"))
        assert in_step(store)
        store.remove(added.document.id)
        store.close()


def test_a_kill_during_reindex_leaves_one_whole_collection(tmp_path):
    """Killed before the switch, the collection searches its old passages as they were;
    killed after it, the new ones; either way with its indexes in step. Run again, the
    rebuild finishes."""
    store = Store(tmp_path, HashingEmbedder())
    store.add_many([document(f"Виза номер {n} выдаётся на год.", f"v{n}.txt") for n in range(60)])
    documents = [d.id for d in store.catalog.documents()]
    store.close()
    for delay in (0.0, 0.2, 0.5, None):
        if delay is None:  # not killed: the rebuild resumes and finishes
            subprocess.run([sys.executable, "-c", REINDEXER, str(tmp_path)], check=True)
        else:
            killed_after(REINDEXER, tmp_path, delay)
        store = Store(tmp_path, HashingEmbedder(), models=lambda g: MODELS[g.model_id])
        assert [d.id for d in store.catalog.documents()] == documents
        assert in_step(store)
        store.close()
    assert store.generation.model_id == SmallerModel.model_id

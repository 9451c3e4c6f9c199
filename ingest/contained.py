"""Reading an untrusted file where it cannot hurt the service: in a Python process of its
own, with a memory limit (RLIMIT_AS), a CPU-time limit and a wall-clock budget. A zip bomb,
a page nested a hundred thousand deep or a PDF that declares a million pages costs that
process, not the server's memory or its searches, and the file is refused with the reason.

The process gets the file on stdin and answers with the extracted text as JSON (never a
pickle: its output is as untrusted as its input). Run as ``python -m ingest.contained``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from collections import deque
from contextlib import suppress

from .errors import KoshqonError, TooDemanding, UnreadableFile
from .models import DEFAULT_BUDGET, Budget, Extracted, Limits, PageSpan, Progress
from .readers import extract, media_type_of

PROGRESS_LINE = b'{"progress"'
KEPT_ERROR_LINES = 50


def read_contained(
    data: bytes,
    filename: str,
    budget: Budget = DEFAULT_BUDGET,
    progress: Progress | None = None,
) -> Extracted:
    """``readers.extract`` in a separate, limited process; its progress (pages read by
    OCR) is passed on to ``progress`` as it comes."""
    media_type_of(filename)  # a wrong type is refused without starting anything
    if not data.strip():
        raise UnreadableFile("the file is empty")
    command = [sys.executable, "-m", "ingest.contained", filename, _to_json(budget)]
    done, timed_out = _run([*command, str(os.getpid())], data, budget.seconds, progress)
    if timed_out:
        raise TooDemanding(f"reading it took over {budget.seconds:g} s (KOSHQON_PARSE_SECONDS)")
    if done.returncode != 0:
        raise _failure(done, budget)
    found = json.loads(done.stdout)
    return Extracted(
        text=found["text"],
        pages=tuple(PageSpan(**page) for page in found["pages"]),
        title=found["title"],
        author=found["author"],
        year=found["year"],
        ocr_pages=tuple(found["ocr_pages"]),
        ocr_doubtful=tuple(found["ocr_doubtful"]),
    )


def _run(
    command: list[str], data: bytes, seconds: float, progress: Progress | None
) -> tuple[subprocess.CompletedProcess, bool]:
    """The reading process to its end, killed after ``seconds``: its output, and whether
    it ran out of time. Its progress lines on stderr go to ``progress`` as they come; of
    the rest only the last lines are kept (a parser may warn without end)."""
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out_of_time = threading.Event()

    def stop() -> None:
        out_of_time.set()
        child.kill()

    def feed() -> None:
        with suppress(BrokenPipeError):  # it ended early (refused the file, or was killed)
            child.stdin.write(data)
            child.stdin.close()

    output: list[bytes] = []
    helpers = [
        threading.Thread(target=feed),
        threading.Thread(target=lambda: output.append(child.stdout.read())),
    ]
    timer = threading.Timer(seconds, stop)
    errors: deque[bytes] = deque(maxlen=KEPT_ERROR_LINES)
    try:
        for thread in (*helpers, timer):
            thread.start()
        for line in child.stderr:
            if not (line.startswith(PROGRESS_LINE) and _passed_on(line, progress)):
                errors.append(line)
        child.wait()
    finally:
        timer.cancel()
        if child.poll() is None:
            child.kill()
        for thread in helpers:
            thread.join()
        child.stderr.close()
    done = subprocess.CompletedProcess(command, child.returncode, output[0], b"".join(errors))
    return done, out_of_time.is_set() and child.returncode == -signal.SIGKILL


def _passed_on(line: bytes, progress: Progress | None) -> bool:
    """A progress line handed to ``progress``; False if it is not one after all."""
    try:
        stage, done, total = json.loads(line)["progress"]
        if stage not in ("reading", "encoding") or not (
            isinstance(done, int) and isinstance(total, int)
        ):
            return False
    except (ValueError, KeyError, TypeError):
        return False
    if progress:
        progress(stage, done, total)
    return True


def _report(stage: str, done: int, total: int) -> None:
    """(In the reading process.) One progress line for the service to pass on."""
    print(json.dumps({"progress": [stage, done, total]}), file=sys.stderr, flush=True)


def _failure(done: subprocess.CompletedProcess, budget: Budget) -> KoshqonError:
    """The reading process's own error, or what its end says (killed, out of memory)."""
    try:
        error = json.loads(done.stderr.decode().strip().splitlines()[-1])
        kind = {"UnreadableFile": UnreadableFile, "MemoryError": TooDemanding}.get(
            error["kind"], KoshqonError
        )
        message = error["message"]
    except (ValueError, IndexError, KeyError, TypeError):
        kind, message = TooDemanding, f"the reading process ended with status {done.returncode}"
    if kind is TooDemanding:
        message = (
            f"reading it needs over {budget.memory_mb} MB of memory or "
            f"{budget.seconds:g} s of CPU (KOSHQON_PARSE_MEMORY_MB); {message}"
        )
    return kind(message)


def _to_json(budget: Budget) -> str:
    return json.dumps(dataclasses.asdict(budget))


def _die_with(parent: int) -> None:
    """Killed when the service ends, even by kill -9, rather than read on unwatched
    (Linux: PR_SET_PDEATHSIG)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it ended before the line above
        os._exit(1)


def _main() -> None:
    filename, settings, parent = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    _die_with(parent)
    budget = Budget(**{**settings, "limits": Limits(**settings["limits"])})
    memory = budget.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(budget.seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    os.nice(budget.niceness)
    try:
        extracted = extract(sys.stdin.buffer.read(), filename, budget.limits, _report)
    except (KoshqonError, MemoryError, RecursionError) as error:
        kind = type(error).__name__ if not isinstance(error, RecursionError) else "MemoryError"
        print(json.dumps({"kind": kind, "message": str(error)}), file=sys.stderr)
        sys.exit(1)
    json.dump(dataclasses.asdict(extracted), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    _main()

"""The machine a benchmark ran on, for the report's first line, the percentile its
figures are quoted with, and waiting for a server it started."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return next(names, platform.processor())


def describe() -> str:
    return f"{os.cpu_count()} CPU cores ({cpu_name()})"


def started(server: subprocess.Popen, port: int) -> subprocess.Popen:
    """``server`` once it answers /health on ``port`` (five minutes at most)."""
    import httpx

    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError(f"the server ended with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

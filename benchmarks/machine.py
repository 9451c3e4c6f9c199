"""The machine a benchmark ran on, for the report's first line, and the percentile its
figures are quoted with."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return next(names, platform.processor())


def describe() -> str:
    return f"{os.cpu_count()} CPU cores ({cpu_name()})"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

"""Machine facts the engines need: peak memory of this process, total memory."""

from __future__ import annotations

import os
import resource
import sys


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB, macOS bytes)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0


def total_memory_mb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1024.0 * 1024.0)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8192.0


def default_memory_limit_mb() -> float:
    """Stop a search at 80% of the machine's memory rather than let the OS kill it."""
    return 0.8 * total_memory_mb()

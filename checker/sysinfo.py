"""Machine facts the engines need: peak memory of this process, total memory."""

from __future__ import annotations

import os
import resource
import sys


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (MiB).

    On Linux this is VmHWM, the high-water mark of this address space: `ru_maxrss` is kept across
    `exec`, so an `ircheck` started from a large process (pytest, an IDE) would report its parent's
    peak instead of its own. Elsewhere `ru_maxrss` (macOS reports bytes, the BSDs KiB)."""
    hwm = _vm_hwm_kib()
    if hwm is not None:
        return hwm / 1024.0
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0


def _vm_hwm_kib() -> int | None:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def total_memory_mb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1024.0 * 1024.0)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8192.0


def default_memory_limit_mb() -> float:
    """Stop a search at 80% of the machine's memory rather than let the OS kill it."""
    return 0.8 * total_memory_mb()

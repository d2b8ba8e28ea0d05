"""Machine facts the engines need: peak and current memory of this process, total memory."""

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


def current_rss_mb() -> float:
    """Resident set size of this process now in MB (VmRSS on Linux; elsewhere the peak, an upper bound)."""
    rss = _status_kib(b"VmRSS:")
    return rss / 1024.0 if rss is not None else peak_rss_mb()


def _vm_hwm_kib() -> int | None:
    return _status_kib(b"VmHWM:")


def _status_kib(field: bytes) -> int | None:
    """A field of /proc/self/status in KiB (None where there is no /proc)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(field):
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

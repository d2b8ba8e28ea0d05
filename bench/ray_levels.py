"""Measure the Ray engine (checker/ray_bfs.py) per level: python bench/ray_levels.py MODEL.irq [PARTITIONS]

Runs the partitioned BFS on a local Ray with PARTITIONS actors (default 2) and prints, per BFS level,
the new states, the bytes exchanged between actors and the CPU seconds of the slowest actor; then the
totals: states per CPU second per actor (the per-worker rate), bytes exchanged per stored state, and
the wall time against the one-process explicit search of the same checks. bench/README.md ("Past one
machine") extrapolates from these figures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ircheck.api import compile_source
from ircheck.cluster import Cluster
from ircheck.explicit import Explicit
from ircheck.ray_bfs import RayExplicit, connect


def main(path: str, partitions: int = 2) -> None:
    text = Path(path).read_text()
    connect(Cluster("local"), partitions)
    t0 = time.perf_counter()
    last = [t0]
    eng = RayExplicit(compile_source(text, path), None, lambda _s, _d, _t: last.append(time.perf_counter()),
                      partitions=partitions)
    res = eng.run()
    wall = time.perf_counter() - t0
    levels_wall = last[-1] - t0  # up to the last level's progress line: the partitioned search alone
    print(f"{'level':>5} {'new':>10} {'bytes':>12} {'cpu max s':>9}")
    for d, lev in enumerate(eng.measures.levels):
        print(f"{d:>5} {lev.new:>10,} {lev.sent_bytes:>12,} {lev.cpu_max:>9.2f}")
    cpu = sum(lev.cpu_sum for lev in eng.measures.levels)
    crit = sum(lev.cpu_max for lev in eng.measures.levels)
    sent = sum(lev.sent_bytes for lev in eng.measures.levels)
    biggest = max(lev.sent_bytes for lev in eng.measures.levels)
    print(f"states {res.states:,}  depth {res.depth}  complete {res.complete}  wall {wall:.1f} s "
          f"(the levels {levels_wall:.1f} s, then gathering and the one-process analyses)")
    print(f"per-actor rate: {res.states / cpu:,.0f} states per actor CPU second (expand + merge) "
          f"(sum of actor CPU {cpu:.1f} s, slowest actor per level summed {crit:.1f} s)")
    print(f"exchanged: {sent:,} bytes in all, {sent / max(1, res.states):.1f} bytes per state, "
          f"largest level {biggest:,} bytes; peak MB (all processes) {res.peak_mb:.0f}")
    t1 = time.perf_counter()
    stamps = [t1]
    one = Explicit(compile_source(text, path), None, lambda _s, _d, _t: stamps.append(time.perf_counter())).run()
    print(f"one process: {one.states:,} states in {time.perf_counter() - t1:.1f} s, the BFS alone "
          f"{stamps[-1] - t1:.1f} s ({one.states / max(1e-9, stamps[-1] - t1):,.0f} states/s)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)

"""The Z3 engine against the explicit one where BFS runs out: python bench/smt.py [--quick] [--timeout S]

Two families from gen_smt.py, each size checked by `--engine explicit` and `--engine smt` in a
fresh process with the same `--timeout` (and the default memory ceiling), one table:
- `deep N B K`: `max_nesting K` is broken 3K+2 steps deep; BFS stores every shallower state first;
- `cascade N B K`: `deep` on the PC pair (master in special fully nested mode, 9 to 15 lines);
- `safe N B` and `cascade_safe N B`: `max_nesting 1` holds; explicit must store the whole space,
  the Z3 engine proves it.
Columns: engine, verdict, the check's status and note (how it was proved, or why not), states
stored (explicit) or BMC depth reached (smt), wall seconds of the process, peak MB (the engine's
own figure: VmHWM of that process), and what stopped a search.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from gen_smt import smt_family  # noqa: E402

SIZES = {"quick": [("deep", 4, 2, 3), ("safe", 4, 2, 0)],
         "full": [("deep", 6, 2, 3), ("deep", 8, 2, 5), ("cascade", 15, 2, 3), ("safe", 6, 3, 0), ("safe", 8, 3, 0),
                  ("cascade_safe", 15, 2, 0)]}


def run(path: Path, engine: str, timeout: float) -> dict[str, object]:
    """One check in a child process, so that peak memory is this run's alone."""
    code = ("import json,sys,ircheck; r=ircheck.check_file(sys.argv[1], engine=sys.argv[2], timeout=float(sys.argv[3]));"
            "c=r.checks[0]; s=r.stats;"
            "print(json.dumps({'engine': s.engine, 'verdict': r.verdict, 'status': c.status, 'note': c.note,"
            "'trace': len(c.trace), 'states': s.states, 'depth': s.depth, 'smt': s.smt, 'peak': s.peak_mb,"
            "'stopped': s.stopped_by if not s.complete else ''}))")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, str(path), engine, str(timeout)], capture_output=True,
                       text=True, check=True)
    d: dict[str, object] = json.loads(p.stdout)
    d["wall"] = time.perf_counter() - t0
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small size per family")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per engine and model (default 120)")
    args = ap.parse_args()
    print(f"# bench/smt.py, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]},"
          f" --timeout {args.timeout:g} s per run")
    print()
    print("| model | engine | verdict | check | states (explicit) / BMC depth (smt) | trace | s | peak MB | "
          "stopped / proof |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for kind, n, b, k in SIZES["quick" if args.quick else "full"]:
            path = Path(work, f"{kind}_{n}_{b}.irq")
            path.write_text(smt_family(kind, n, b, k or 3))
            name = f"{kind} {n} lines x{b}" + (f", max_nesting {k}" if kind in ("deep", "cascade") else "")
            for engine in ("explicit", "smt"):
                d = run(path, engine, args.timeout)
                size = (f"{d['states']:,} states, BFS depth {d['depth']}" if engine == "explicit"
                        else f"depth {d['depth']}")
                smt = d.get("smt") or {}
                z3 = f", z3 {smt['z3']}" if isinstance(smt, dict) and smt.get("z3") else ""
                why = d["stopped"] or d["note"] or ""
                trace = d["trace"] if d["status"] == "violated" else ""
                print(f"| {name} | {engine}{z3} | {d['verdict']} | {d['status']} | {size} | {trace} "
                      f"| {d['wall']:.1f} | {d['peak']:.0f} | {why} |", flush=True)


if __name__ == "__main__":
    main()

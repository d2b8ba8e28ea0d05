"""ircheck vs SPIN on the same models, in one run: python bench/run.py [--quick] [--compact]

For each model: ircheck's explicit engine (default options: reductions on), the same with reductions
off (`--reduction none`: the raw rate of the core), with `--workers 2` (which searches unreduced), then
SPIN on ircheck's Promela export (spin -a; gcc -O2 -DNOREDUCE -DSAFETY; ./pan), with and without SPIN's
compile time. States, seconds, states/s, peak MB and verdict side by side. SPIN is skipped cleanly
if not installed (apt-get install spin). `--compact` adds a column for `--compact`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from gen_nested import nested_pic  # noqa: E402

REALISTIC = ["x86_cascade_disk_both_eoi.irq", "seed_nic_poll_ring.irq", "x86_timer_storm_rotate.irq",
             "early_eoi_sti_nesting_depth2.irq"]


def run_ircheck(path: Path, **options: object) -> dict[str, object]:
    """In a child process, so that peak memory is this model's alone (with workers: summed over processes).

    options: keyword arguments of ircheck.check_file (workers=2, store="compact", ...).
    """
    code = ("import json,sys,ircheck; r=ircheck.check_file(sys.argv[1], **json.loads(sys.argv[2])); "
            "print(json.dumps({'states': r.stats.states, 'seconds': r.stats.seconds, 'peak': r.stats.peak_mb,"
            "'verdict': r.verdict, 'reductions': list(r.stats.reductions)}))")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, str(path), json.dumps(options)], capture_output=True, text=True,
                       check=True)
    wall = time.perf_counter() - t0
    d = json.loads(p.stdout)
    d["wall"] = wall
    return d


def run_spin(path: Path) -> dict[str, object] | None:
    spin, gcc = shutil.which("spin"), shutil.which("gcc")
    if not (spin and gcc):
        return None
    with tempfile.TemporaryDirectory() as work:
        pml = subprocess.run([sys.executable, "-m", "ircheck", "export", "--promela", str(path)],
                             capture_output=True, text=True, check=True).stdout
        Path(work, "m.pml").write_text(pml)
        t0 = time.perf_counter()
        subprocess.run([spin, "-a", "m.pml"], cwd=work, check=True, capture_output=True)
        subprocess.run([gcc, "-O2", "-DNOREDUCE", "-DSAFETY", "-o", "pan", "pan.c"], cwd=work,
                       check=True, capture_output=True)
        compiled = time.perf_counter()
        timer = shutil.which("time") or "/usr/bin/time"
        cmd = ["./pan", "-m1000000"]
        if Path(timer).exists():
            cmd = [timer, "-f", "PEAKKB %M"] + cmd
        p = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
        done = time.perf_counter()
        mk = re.search(r"PEAKKB (\d+)", p.stderr)
        peak = int(mk.group(1)) if mk else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        m = re.search(r"(\d+) states, stored", p.stdout)
        errors = re.search(r"errors: (\d+)", p.stdout)
        return {"states": int(m.group(1)) if m else 0, "search": done - compiled, "total": done - t0,
                "peak": peak / 1024.0,
                "verdict": "violated" if errors and errors.group(1) != "0" else "holds"}


def _rate(d: dict[str, object]) -> float:
    """States per second of search (the engine's own clock, without start-up and replay)."""
    secs = d["seconds"]
    return d["states"] / secs if secs else 0.0  # type: ignore[operator]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="nested-PIC 4 and 5 only")
    ap.add_argument("--compact", action="store_true", help="add a column for ircheck --compact")
    args = ap.parse_args()
    models: list[tuple[str, Path]] = []
    tmp = Path(tempfile.mkdtemp())
    for n in ((4, 5) if args.quick else (4, 5, 6)):
        p = tmp / f"nested{n}.irq"
        p.write_text(nested_pic(n, 2))
        models.append((f"nested-PIC {n} lines", p))
    for name in REALISTIC:
        models.append((name, ROOT / "models" / name))
    print(f"# ircheck vs SPIN, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if not shutil.which("spin"):
        print("# spin not installed (apt-get install spin): SPIN columns skipped")
    head = ("| model | ircheck states | ircheck s | ircheck states/s | ircheck MB | verdict | reductions "
            "| reductions off: states | off s | off states/s | off MB "
            "| --workers 2 s | --workers 2 states/s | --workers 2 MB "
            + ("| --compact s | --compact states/s | --compact MB | --compact verdict " if args.compact else "")
            + "| SPIN states | SPIN search s | SPIN total s (compile incl.) | SPIN MB | SPIN verdict |")
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for label, path in models:
        ic = run_ircheck(path)
        off = run_ircheck(path, reduction="none")
        w2 = run_ircheck(path, workers=2)
        sp = run_spin(path)
        reds = ", ".join(ic["reductions"]) or "none"  # type: ignore[arg-type]
        row = (f"| {label} | {ic['states']:,} | {ic['wall']:.2f} | {_rate(ic):,.0f} | {ic['peak']:.0f} | {ic['verdict']} "
               f"| {reds} | {off['states']:,} | {off['wall']:.2f} | {_rate(off):,.0f} | {off['peak']:.0f} "
               + ("" if off["verdict"] == ic["verdict"] else f"(DIFFERS: {off['verdict']}) ")
               + f"| {w2['wall']:.2f} | {_rate(w2):,.0f} | {w2['peak']:.0f} ")
        if (w2["states"], w2["verdict"]) != (off["states"], off["verdict"]):
            row += f"(DIFFERS: {w2['states']:,} states, {w2['verdict']}) "
        if args.compact:
            cp = run_ircheck(path, store="compact")
            row += f"| {cp['wall']:.2f} | {_rate(cp):,.0f} | {cp['peak']:.0f} | {cp['verdict']} "
        if sp:
            row += (f"| {sp['states']:,} | {sp['search']:.2f} | {sp['total']:.2f} | {sp['peak']:.0f} "
                    f"| {sp['verdict']} |")
        else:
            row += "| - | - | - | - | - |"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ircheck vs SPIN on the same models, in one run: python bench/run.py [--quick] [--compact] [--no-kernel]

Two tables. The nested-PIC one: for each model, ircheck's explicit engine (default options: reductions
on), the same with reductions off (`--reduction none`: the raw rate of the core), with `--workers 2`
(the partitioned BFS on a local Ray of 2 CPUs started per model, its start-up of a few seconds
included; it searches unreduced), then SPIN on ircheck's Promela export (spin -a; gcc -O2 -DNOREDUCE -DSAFETY;
./pan), with and without SPIN's compile time. States, seconds, states/s, peak MB and verdict side by
side. SPIN is skipped cleanly if not installed (apt-get install spin). `--compact` adds a column for
`--compact`.

The kernel one (`kernel_table`): the gen_kernel.py family, 2-4 CPUs and 1-3 NICs (see KERNEL), with
the default options (every check of the model: time to verdict, peak memory, verdict), then the checks
SPIN gets (those the export carries, `--check` of them) with each reduction (`--reduction none`, `por`,
`all`: states per reduction), then SPIN on the export compiled at -O0 (-O2 takes minutes of gcc on
these) with -DMEMLIM. Every run has the time limit `--kernel-timeout` (default 300 s): a run that stops
there says so ("inconclusive (--timeout 300s)", SPIN "timeout"), never a verdict.
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
from gen_kernel import kernel_family  # noqa: E402
from gen_nested import nested_pic  # noqa: E402

# (cpus, devices, raises): 2-4 CPUs, 1-3 NICs raised once, and the 2 2 2 / 3 2 2 references of issue 18
KERNEL = [(2, 1, 1), (3, 1, 1), (4, 1, 1), (2, 2, 1), (3, 2, 1), (4, 2, 1), (2, 3, 1), (3, 3, 1), (4, 3, 1),
          (2, 2, 2), (3, 2, 2)]
KERNEL_QUICK = [(2, 1, 1), (3, 1, 1), (2, 2, 1), (2, 1, 2)]
SPIN_MEMLIM_MB = 8192  # pan stops there (-DMEMLIM) instead of taking the shared machine's memory

REALISTIC = ["x86_cascade_disk_both_eoi.irq", "seed_nic_poll_ring.irq", "x86_timer_storm_rotate.irq",
             "early_eoi_sti_nesting_depth2.irq"]


def run_ircheck(path: Path, **options: object) -> dict[str, object]:
    """In a child process, so that peak memory is this model's alone (with workers: summed over processes).

    options: keyword arguments of ircheck.check_file (workers=2, store="compact", ...).
    """
    code = ("import json,sys,ircheck; r=ircheck.check_file(sys.argv[1], **json.loads(sys.argv[2])); "
            "print(json.dumps({'states': r.stats.states, 'seconds': r.stats.seconds, 'peak': r.stats.peak_mb,"
            "'verdict': r.verdict, 'reductions': list(r.stats.reductions), 'stopped_by': r.stats.stopped_by}))")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, str(path), json.dumps(options)], capture_output=True, text=True,
                       check=True)
    wall = time.perf_counter() - t0
    d = json.loads(p.stdout)
    d["wall"] = wall
    return d


def run_spin(path: Path, opt: str = "-O2", memlim_mb: int | None = None,
             timeout: float | None = None) -> dict[str, object] | None:
    """SPIN on ircheck's Promela export of `path`: states, compile / search / total seconds, peak MB,
    verdict ("timeout" when `timeout` seconds of search pass, "out of memory" at -DMEMLIM)."""
    spin, gcc = shutil.which("spin"), shutil.which("gcc")
    if not (spin and gcc):
        return None
    with tempfile.TemporaryDirectory() as work:
        pml = subprocess.run([sys.executable, "-m", "ircheck", "export", "--promela", str(path)],
                             capture_output=True, text=True, check=True).stdout
        Path(work, "m.pml").write_text(pml)
        t0 = time.perf_counter()
        subprocess.run([spin, "-a", "m.pml"], cwd=work, check=True, capture_output=True)
        flags = [opt, "-DNOREDUCE", "-DSAFETY"] + ([f"-DMEMLIM={memlim_mb}"] if memlim_mb else [])
        subprocess.run([gcc, *flags, "-o", "pan", "pan.c"], cwd=work, check=True, capture_output=True)
        compiled = time.perf_counter()
        timer = shutil.which("time") or "/usr/bin/time"
        cmd = ["./pan", "-m1000000"]
        if Path(timer).exists():
            cmd = [timer, "-f", "PEAKKB %M"] + cmd
        try:
            p = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"states": 0, "compile": compiled - t0, "search": time.perf_counter() - compiled,
                    "total": time.perf_counter() - t0, "peak": 0.0, "verdict": "timeout"}
        done = time.perf_counter()
        mk = re.search(r"PEAKKB (\d+)", p.stderr)
        peak = int(mk.group(1)) if mk else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        m = re.search(r"(\d+) states, stored", p.stdout)
        errors = re.search(r"errors: (\d+)", p.stdout)
        verdict = "violated" if errors and errors.group(1) != "0" else "holds"
        if "MEMLIM" in p.stdout or "out of memory" in p.stdout:
            verdict = "out of memory"
        return {"states": int(m.group(1)) if m else 0, "compile": compiled - t0, "search": done - compiled,
                "total": done - t0, "peak": peak / 1024.0, "verdict": verdict}


def _rate(d: dict[str, object]) -> float:
    """States per second of search (the engine's own clock, without start-up and replay)."""
    secs = d["seconds"]
    return d["states"] / secs if secs else 0.0  # type: ignore[operator]


def _verdict(d: dict[str, object]) -> str:
    """The verdict, with the limit that stopped the run when it is inconclusive."""
    return f"{d['verdict']} ({d['stopped_by']})" if d["verdict"] == "inconclusive" and d["stopped_by"] else str(d["verdict"])


def spin_checks(path: Path) -> list[str]:
    """The checks ircheck's Promela export of `path` carries (its first comment line names them)."""
    pml = subprocess.run([sys.executable, "-m", "ircheck", "export", "--promela", str(path)],
                         capture_output=True, text=True, check=True).stdout
    m = re.match(r"/\* generated by ircheck export --promela; checks: ([^*]*) \*/", pml)
    return [c.strip() for c in m.group(1).split(",")] if m else []


def kernel_table(sizes: list[tuple[int, int, int]], timeout: float) -> None:
    """The gen_kernel.py family against SPIN on the export, one row per size (see the module docstring)."""
    tmp = Path(tempfile.mkdtemp())
    head = ("| cpus devices raises | default: states | reductions | time to verdict s | peak MB | verdict "
            "| SPIN's checks: none states | none s | por states | por s | all states | all s | verdict "
            "| SPIN states | SPIN compile s (-O0) | SPIN search s | SPIN MB | SPIN verdict | SPIN total / ircheck none |")
    print(f"\n# kernel family (gen_kernel.py) vs SPIN, every run limited to {timeout:g} s")
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for c, d, r in sizes:
        path = tmp / f"kernel_{c}_{d}_{r}.irq"
        path.write_text(kernel_family(c, d, r))
        ic = run_ircheck(path, timeout=timeout)
        checks = spin_checks(path)
        red = {name: run_ircheck(path, checks=checks, reduction=name, timeout=timeout)
               for name in ("none", "por", "all")}
        row = (f"| {c} {d} {r} | {ic['states']:,} | {', '.join(ic['reductions']) or 'none'} "  # type: ignore[arg-type]
               f"| {ic['wall']:.1f} | {ic['peak']:.0f} | {_verdict(ic)} ")
        for name in ("none", "por", "all"):
            row += f"| {red[name]['states']:,} | {red[name]['wall']:.1f} "
        verdicts = {_verdict(x) for x in red.values()}
        row += f"| {' / '.join(sorted(verdicts))} "
        sp = run_spin(path, "-O0", SPIN_MEMLIM_MB, timeout)
        if sp:
            decided = red["none"]["verdict"] != "inconclusive" and sp["verdict"] in ("holds", "violated")
            ratio = f"{sp['total'] / red['none']['wall']:.2f}" if decided else "-"  # type: ignore[operator]
            row += (f"| {sp['states']:,} | {sp['compile']:.1f} | {sp['search']:.1f} | {sp['peak']:.0f} "
                    f"| {sp['verdict']} | {ratio} |")
        else:
            row += "| - | - | - | - | - | - |"
        print(row, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="nested-PIC 4 and 5 only, the small kernel sizes")
    ap.add_argument("--compact", action="store_true", help="add a column for ircheck --compact")
    ap.add_argument("--no-kernel", action="store_true", help="leave out the kernel family table")
    ap.add_argument("--kernel-only", action="store_true", help="only the kernel family table")
    ap.add_argument("--kernel-timeout", type=float, default=300.0, metavar="S",
                    help="the time limit of every kernel run, ircheck's and SPIN's search (default 300)")
    ap.add_argument("--kernel-sizes", metavar="C:D:R,...", help="these sizes instead of KERNEL")
    args = ap.parse_args()
    if args.kernel_only:
        sizes = _sizes(args.kernel_sizes) if args.kernel_sizes else (KERNEL_QUICK if args.quick else KERNEL)
        kernel_table(sizes, args.kernel_timeout)
        return 0
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
    if not args.no_kernel:
        sizes = _sizes(args.kernel_sizes) if args.kernel_sizes else (KERNEL_QUICK if args.quick else KERNEL)
        kernel_table(sizes, args.kernel_timeout)
    return 0


def _sizes(text: str) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for item in text.split(","):
        c, d, r = (int(x) for x in item.split(":"))
        out.append((c, d, r))
    return out


if __name__ == "__main__":
    sys.exit(main())

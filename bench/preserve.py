"""Behaviour fingerprint: the same verdicts, state counts and traces before and after a refactor.

    python bench/preserve.py record OUT.json [--quick] [--smt N]
    python bench/preserve.py compare BEFORE.json AFTER.json
    python bench/preserve.py speed BEFORE_TREE AFTER_TREE [--rounds 3] [--model nested6]

`record` checks every bundled model (models/*.irq) and the differential generators' models (fixed
seeds: tests/support/generators.py `models`, `x86_models`, `kernel_models` and the closed-form
`shapes`) with the explicit engine twice (default reductions, and `--reduction none`), and with the
Z3 engine on the first N generated models (default 40). For each run it writes what a user sees
except time and memory: every check's status, message, note, trace (every step's JSON),
loop start and further traces, and the search's states, transitions and depth. `compare` prints
every difference and exits 1 if there is one, 0 if the two fingerprints are the same.

A refactor that claims to keep behaviour runs `record` on both commits (e.g. two worktrees) and
`compare` on the results (issue 15's "done when"). `speed` measures the search's states/s on the
nested-PIC 6 model (bench/gen_nested.py, 2.5 million states) for two checkouts in one run, on the same
machine, alternating them round by round (each run a fresh process with that tree's package first on
its path), and prints the best rate of each and their ratio.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _stage(root: Path) -> Path:
    """This checkout's package in its installed layout (symlinks in a temporary folder), so that the
    fingerprint is of this tree even when another checkout is the one pip installed."""
    top = Path(tempfile.mkdtemp(prefix="ircheck-stage-"))
    pkg = top / "ircheck"
    pkg.mkdir()
    for f in (root / "checker").iterdir():
        if f.name not in ("spec", "grammar"):  # a worktree may link them into checker/ (its own stage)
            (pkg / f.name).symlink_to(f)
    (pkg / "spec").symlink_to(root / "spec")
    (pkg / "grammar").symlink_to(root / "grammar")
    return top


sys.path[:0] = [str(_stage(ROOT)), str(ROOT)]

from ircheck import check_source  # noqa: E402
from tests.support import generators as gen  # noqa: E402


def _corpus(quick: bool) -> list[tuple[str, str]]:
    out = [(f"models/{p.name}", p.read_text()) for p in sorted((ROOT / "models").glob("*.irq"))]
    n = 20 if quick else 120
    for name, strategy in (("bare", gen.models()), ("x86", gen.x86_models()), ("kernel", gen.kernel_models())):
        out += [(f"{name}#{i}", text) for i, text in enumerate(gen.examples(strategy, n))]
    for seed in range(2 if quick else 6):
        out += [(f"shape{seed}:{s.name}", s.text) for s in gen.shapes(seed)]
    return out


def _run(text: str, **kw: Any) -> dict[str, Any]:
    r = check_source(text, "model.irq", **kw)
    j = r.to_json()
    stats = j["stats"]
    assert isinstance(stats, dict)
    for k in ("seconds", "peak_mb", "states_per_s"):
        stats.pop(k, None)
    if isinstance(stats.get("smt"), dict):
        stats["smt"] = {k: v for k, v in stats["smt"].items() if "second" not in k and k != "z3"}
    return {"json": j, "states": r.stats.states, "transitions": r.stats.transitions, "depth": r.stats.depth,
            "complete": r.stats.complete}


def record(out: Path, quick: bool, smt: int) -> None:
    corpus = _corpus(quick)
    result: dict[str, Any] = {}
    t0 = time.perf_counter()
    for k, (name, text) in enumerate(corpus):
        entry = {"explicit": _run(text, max_states=200_000),
                 "none": _run(text, max_states=200_000, reduction="none")}
        if not name.startswith("models/") and k % 3 == 0 and smt > 0:
            smt -= 1
            entry["smt"] = _run(text, engine="smt", timeout=60)
        result[name] = entry
        print(f"\r{k + 1}/{len(corpus)} {time.perf_counter() - t0:.0f}s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))


def _diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            _diff(f"{path}.{k}", a.get(k), b.get(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(f"{path}[{i}]", x, y, out)
    elif a != b:
        out.append(f"{path}: {json.dumps(a, default=str)[:300]} != {json.dumps(b, default=str)[:300]}")


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    out: list[str] = []
    _diff("", a, b, out)
    for line in out[:200]:
        print(line)
    print(f"{len(a)} models, {len(out)} differences")
    return 1 if out else 0


def speed(before: Path, after: Path, rounds: int) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_nested import nested_pic
    model = Path(tempfile.mkdtemp(prefix="ircheck-speed-")) / "nested6.irq"
    model.write_text(nested_pic(6, 2))
    code = ("import json,sys,ircheck; r=ircheck.check_file(sys.argv[1]); "
            "print(json.dumps({'states': r.stats.states, 'seconds': r.stats.seconds, 'file': ircheck.__file__}))")
    stages = {str(before): _stage(before.resolve()), str(after): _stage(after.resolve())}
    best: dict[str, float] = {}
    for k in range(rounds):
        for tree, stage in stages.items():
            env = dict(os.environ, PYTHONPATH=str(stage))
            p = subprocess.run([sys.executable, "-c", code, str(model)], capture_output=True, text=True, env=env,
                               check=True)
            r = json.loads(p.stdout)
            assert str(r["file"]).startswith(str(stage)), r["file"]
            rate = r["states"] / r["seconds"]
            best[tree] = max(best.get(tree, 0.0), rate)
            print(f"round {k + 1}: {tree}: {r['states']:,} states, {r['seconds']:.2f} s, {rate:,.0f} states/s")
    a, b = best[str(before)], best[str(after)]
    print(f"best: before {a:,.0f} states/s, after {b:,.0f} states/s, after/before {b / a:.3f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("out", type=Path)
    r.add_argument("--quick", action="store_true")
    r.add_argument("--smt", type=int, default=40)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    sp = sub.add_parser("speed")
    sp.add_argument("before", type=Path)
    sp.add_argument("after", type=Path)
    sp.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "speed":
        return speed(args.before, args.after, args.rounds)
    if args.cmd == "record":
        record(args.out, args.quick, args.smt)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())

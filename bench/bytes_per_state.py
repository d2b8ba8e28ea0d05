"""Bytes per stored state of the default store, measured: python bench/bytes_per_state.py [--quick]

The `--engine auto` budget (checker/engine_choice.py `memory_budget`) divides the memory left under
the ceiling by a cost per stored state; this script measures that cost on the bench families so the
constants there (`STATE_BYTES`, plus the state's own bytes up to `COLLAPSED_BYTES`) rest on
numbers. Each model runs explicit, default options and unreduced, in a fresh process; a tiny model
with the same start-up (one device, one handler) gives the resident memory before any state is
stored, so

    bytes per state = (peak RSS of the run - peak RSS of the tiny run) / states stored

which counts everything a run holds per state: the store (checker/state_store.py: the state's packed
bytes in the arena, or past 65,536 states its collapsed indices and component tables,
checker/collapse.py; its parent id and hash, its share of the table, the table's growth), and the
liveness and deadlock analyses after the search (`no_starvation` and `no_deadlock` walk the whole
graph) - and the model's own start-up beyond the tiny one's (its lowering and generated code: 10-33
MB more on the kernel family). "above its start-up" leaves that out: the same over the peak of the
model's run stopped at one state. State counts and bytes are load-independent; the seconds are not
(the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from gen_kernel import kernel_family  # noqa: E402
from gen_nested import nested_pic  # noqa: E402

TINY = "pic master : i8259 { base 0x20 }\ndevice d { irq master.0 edge raises 1 }\n" \
       "idt { 0x20 -> h interrupt_gate dpl 0 }\nhandler h { eoi master.0 }\ncheck max_nesting 1\n"

CODE = ("import json,sys,ircheck\n"
        "from ircheck.api import compile_source\n"
        "from ircheck.codegen import Packing\n"
        "src = open(sys.argv[1]).read()\n"
        "bits = Packing.of(compile_source(src)).bits\n"
        "r = ircheck.check_file(sys.argv[1], engine='explicit', **json.loads(sys.argv[2]))\n"
        "print(json.dumps({'states': r.stats.states, 'peak': r.stats.peak_mb, 'bits': bits,"
        " 'seconds': r.stats.seconds, 'verdict': r.verdict}))\n")


def measure(path: Path, **options: object) -> dict[str, float]:
    p = subprocess.run([sys.executable, "-c", CODE, str(path), json.dumps(options)], capture_output=True,
                       text=True, check=True)
    out: dict[str, float] = json.loads(p.stdout)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the smaller models only")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    models = [("nested-PIC 5", nested_pic(5, 2)), ("kernel 2 1 2", kernel_family(2, 1, 2)),
              ("kernel 2 2 1", kernel_family(2, 2, 1))]
    if not args.quick:
        models += [("nested-PIC 6", nested_pic(6, 2)), ("kernel 2 2 2", kernel_family(2, 2, 2)),
                   ("kernel 4 2 1", kernel_family(4, 2, 1))]
    tiny = tmp / "tiny.irq"
    tiny.write_text(TINY)
    base = measure(tiny)["peak"]
    print(f"# start-up peak (tiny model): {base:.0f} MB")
    print("| model | state bits | reductions | states | peak MB | bytes/state | above its start-up "
          "| search s (loaded machine) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, src in models:
        path = tmp / (label.replace(" ", "_") + ".irq")
        path.write_text(src)
        own = measure(path, max_states=1)["peak"]  # the model's own start-up: lowering, generated code
        for red in ("default", "none"):
            d = measure(path, **({} if red == "default" else {"reduction": "none"}))
            per = (d["peak"] - base) * 1048576 / d["states"] if d["states"] else 0.0
            net = (d["peak"] - own) * 1048576 / d["states"] if d["states"] else 0.0
            print(f"| {label} | {int(d['bits'])} | {red} | {int(d['states']):,} | {d['peak']:.0f} | {per:.0f} "
                  f"| {net:.0f} | {d['seconds']:.1f} | {d['verdict']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

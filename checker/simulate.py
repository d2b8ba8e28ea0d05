"""`ircheck simulate MODEL [--seed S] [--steps N] [--runs R]`: random runs of a design (SPIN -r, TLC
-simulate), printed like counterexample traces.

Each run starts in the initial state and takes, at each step, one of the enabled transitions chosen
by a `random.Random(S)` shared by the runs in order: the same seed gives the same runs. Steps are
taken by the reference semantics (spec/step.py), so what is printed is what the model allows. A run
stops after N steps, when no step is possible, or at the first step that breaks a safety check (a
violating transition, a state property false afterwards): it says which, and the command exits 1;
else 0. Checks judged on whole runs (no_starvation, no_deadlock, no_lost_wakeup, lockdep) are not
judged by a finite random run.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence

from ircheck.api import build
from ircheck.cli_args import POSITIVE_INT
from ircheck.grammar.diagnostics import IrcheckError, shown_path
from ircheck.grammar.parser import parse_file
from ircheck.spec.explain import explain
from ircheck.spec.step import enabled, fire
from ircheck.spec.ts import TransitionSystem, evaluate
from ircheck.tools import subcommand_args


def _run(ts: TransitionSystem, rng: random.Random, steps: int) -> tuple[list[int], list[tuple[int, ...]], str, str]:
    """One random run: transitions, states, how it ended, and the broken check's message ("" if none)."""
    s = ts.init()
    states: list[tuple[int, ...]] = [s]
    taken: list[int] = []
    checks = set(ts.checks)
    for p in ts.state_props:
        if p.check in checks and not evaluate(p.ok, s):
            return taken, states, p.check, p.message
    for _ in range(steps):
        en = sorted(enabled(ts, s))
        if not en:
            return taken, states, "", "no check broken; then no step is possible"
        ti = rng.choice(en)
        s = fire(ts, s, ti)
        taken.append(ti)
        states.append(s)
        for check, msg in ts.transitions[ti].violates:
            if check in checks:
                return taken, states, check, msg
        for p in ts.state_props:
            if p.check in checks and not evaluate(p.ok, s):
                return taken, states, p.check, p.message
    return taken, states, "", "no check broken"


def simulate_main(argv: Sequence[str]) -> int:

    def build_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", metavar="MODEL.irq")
        p.add_argument("--seed", type=int, default=0, metavar="S", help="the random seed (default 0): "
                       "the same seed gives the same runs")
        p.add_argument("--steps", type=POSITIVE_INT, default=100, metavar="N", help="steps per run (default 100)")
        p.add_argument("--runs", type=POSITIVE_INT, default=1, metavar="R", help="runs (default 1)")
    args = subcommand_args("ircheck simulate", argv, build_args)
    if isinstance(args, int):
        return args
    source = ""
    try:
        model = parse_file(args.model)
        source = model.source
        ts = build(model)
    except IrcheckError as e:
        print("\n".join(d.render(getattr(e, "source", None) or source) for d in e.diagnostics), file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    where = shown_path(args.model)
    broke = False
    for r in range(1, int(args.runs) + 1):
        taken, states, check, msg = _run(ts, rng, int(args.steps))
        bad = len(taken) - 1 if check and taken else None
        trace = explain(ts, states, taken, bad)
        end = f"{check} VIOLATED" if check else msg
        print(f"{where}: run {r} (seed {args.seed}), {len(taken)} step{'s' if len(taken) != 1 else ''}: {end}")
        width = max((len(st.context) for st in trace), default=0)
        for st in trace:
            mark = "  <- violation" if st.note == "violation" else ""
            line = f"  [{where}:{st.line}]" if st.line else ""
            print(f"    {st.number:>3}  {st.context:<{width}}  {st.action}{line}{mark}")
            if st.changes:
                print(f"    {'':>3}  {'':<{width}}    " + ", ".join(f"{k} {a}->{b}" for k, (a, b) in st.changes.items()))
        if check:
            print(f"    => {msg}")
            broke = True
    return 1 if broke else 0

"""`ircheck fmt`, `ircheck trace` and `ircheck replay`: the small subcommands beside checking and export.

Exit statuses: `fmt` 0, 1 (--check: not in canonical form), 2 (bad input), 4 (formatting would change
the model: nothing written); `trace` those of the
check run it draws (0 every check holds, 1 drawn, 2 bad input, 3 inconclusive: nothing to draw, and
why); `replay` see `replay_main` (0 replays without the violation, 1 reproduced, 2 bad input,
5 the trace does not fit the model).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ircheck.api import ENGINES, build, check_file
from ircheck.cli_args import POSITIVE_INT, SECONDS, SUBCOMMANDS, Interrupts, check_names
from ircheck.grammar.diagnostics import IrcheckError, shown_path
from ircheck.grammar.parser import parse, parse_file
from ircheck.grammar.printer import comments, format_source
from ircheck.pictures import dot, mermaid
from ircheck.report import text
from ircheck.result import INCONCLUSIVE, VIOLATED
from ircheck.spec.checks import IMPLICIT_CHECKS
from ircheck.spec.explain import changes
from ircheck.spec.step import enabled, fire
from ircheck.spec.ts import TransitionSystem, evaluate

REPLAY_REPRODUCED = 1
REPLAY_DOES_NOT_FIT = 5
REPLAY_EPILOG = ("exit status: 0 the trace replays but the check is not broken at its end (a liveness lasso, or the "
                 "model was fixed), 1 reproduced: the check is violated at the last step, 2 bad input (an unreadable "
                 "trace or model, no violated check in the file), 5 the trace does not fit the model (a step is not "
                 "possible, or the states differ)")


def subcommand_args(prog: str, argv: Sequence[str], build: object, epilog: str | None = None) -> argparse.Namespace | int:
    p = argparse.ArgumentParser(prog=prog, description=SUBCOMMANDS[prog.split()[-1]] + ".", epilog=epilog)
    build(p)  # type: ignore[operator]
    try:
        args = p.parse_args(list(argv))
        if "check" in args and isinstance(args.check, list):
            args.check = check_names(args.check, p.error)
        return args
    except SystemExit as e:
        return 2 if e.code else 0


class FormatChanged(Exception):
    """The canonical form would not read back as the same model with the same comments (a printer bug)."""


def canonical(source: str, path: str) -> str:
    """`source` in canonical layout (`grammar.printer.format_source`). Raises IrcheckError for bad
    input and `FormatChanged` when the result would not parse back to the same declarations with the
    same comments, so that a printer bug is never written out (`ircheck fmt`, the language server)."""
    model = parse(source, path)
    out = format_source(model.source)
    again = parse(out, path)
    if again.decls != model.decls or comments(out) != comments(model.source):
        raise FormatChanged(path)
    return out


def fmt_main(argv: Sequence[str]) -> int:
    """Print a model in canonical layout; --check exits 1 if it would change, --write rewrites it.

    Canonical layout (`grammar.printer.format_source`) keeps every comment, the author's line
    breaks and blank-line grouping (at most one blank line); it normalises indentation and the
    spaces between tokens. The result must read back as the same model with the same comments, or
    nothing is written.
    """
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument("models", nargs="+", metavar="MODEL.irq")
        p.add_argument("--write", action="store_true", help="rewrite the files in place")
        p.add_argument("--check", action="store_true", help="exit 1 if a file is not in canonical form")
    args = subcommand_args("ircheck fmt", argv, build)
    if isinstance(args, int):
        return args
    worst = 0
    for path in args.models:
        try:
            model = parse_file(path)
            out = canonical(model.source, path)  # must read back (a printer bug is never written out)
        except IrcheckError as e:
            print(e.render(), file=sys.stderr)
            return 2
        except FormatChanged:
            print(f"ircheck fmt: internal error: formatting {shown_path(path)} would change the model or its "
                  "comments; the file is left as it is (please report this)", file=sys.stderr)
            return 4
        if args.check:
            if out.encode("utf-8") != Path(path).read_bytes():
                print(f"{shown_path(path)}: not in canonical form", file=sys.stderr)
                worst = 1
        elif args.write:
            if out.encode("utf-8") != Path(path).read_bytes():
                Path(path).write_bytes(out.encode("utf-8"))
        else:
            sys.stdout.write(out)
    return worst


def trace_main(argv: Sequence[str]) -> int:
    """Draw one violated check's counterexample: `--check NAME`, or the first violated check (stderr
    says which, and how to pick another). When nothing is violated, say why there
    is nothing to draw: every check holds (0), or the run was stopped before a verdict (3: the notes
    of the undecided checks say by what - a limit, or Ctrl-C/SIGTERM)."""

    def build(p: argparse.ArgumentParser) -> None:
        kind = p.add_mutually_exclusive_group()
        kind.add_argument("--mermaid", action="store_true", help="a Mermaid sequence diagram (default)")
        kind.add_argument("--dot", action="store_true", help="Graphviz DOT")
        p.add_argument("model", metavar="MODEL.irq")
        p.add_argument("--check", action="append", default=None, metavar="NAME",
                       help="the check to draw (by default the first violated one, named on stderr)")
        p.add_argument("--engine", choices=ENGINES, default="auto")
        p.add_argument("--max-states", type=POSITIVE_INT, default=None, metavar="N")
        p.add_argument("--timeout", type=SECONDS, default=None, metavar="S")
    args = subcommand_args("ircheck trace", argv, build)
    if isinstance(args, int):
        return args
    with Interrupts() as interrupts:
        report = check_file(args.model, args.check, args.engine, args.max_states, args.timeout)
        if interrupts.hit:
            interrupts.relabel(report)
    if report.errors:
        print(text(report), file=sys.stderr)
        return 2
    violated = [c for c in report.checks if c.status == VIOLATED]
    if not violated:
        undecided = [c for c in report.checks if c.status == INCONCLUSIVE]
        if undecided or interrupts.hit:
            why = "; ".join(f"{c.name}: {c.note or 'inconclusive'}" for c in undecided) or \
                f"interrupted ({interrupts.name})"
            print(f"{shown_path(args.model)}: inconclusive, no violation found before the run stopped, nothing to draw "
                  f"({why})", file=sys.stderr)
            return 3
        print(f"{shown_path(args.model)}: every check holds, nothing to draw" if report.checks else
              f"{shown_path(args.model)}: no check ran, nothing to draw", file=sys.stderr)
        return report.exit_code
    # one picture per invocation (two documents back to back are neither valid DOT nor Mermaid)
    chosen = violated[0]
    if not (args.check and len(args.check) == 1):
        others = [c.name for c in violated[1:]]
        print(f"{shown_path(args.model)}: drawing {chosen.name}, "
              + (f"the first of {len(violated)} violated checks (also violated: {', '.join(others)}); draw another "
                 "with --check NAME" if others else "the only violated check"), file=sys.stderr)
    sys.stdout.write(dot(chosen, args.model) if args.dot else mermaid(chosen, args.model))
    return 1


def _itf_checks(docs: list[object]) -> list[dict[str, object]] | None:
    """ITF traces (`--format itf`) in a loaded document, or None if it is not ITF."""
    traces = [d for d in docs if isinstance(d, dict) and "states" in d and "vars" in d]
    if not traces:
        return None
    out = []
    for t in traces:
        meta = t.get("#meta")
        meta = meta if isinstance(meta, dict) else {}
        out.append({"name": meta.get("check", "?"), "status": "violated", "itf": t})
    return out


def _itf_value(v: object) -> int:
    if isinstance(v, dict) and "#bigint" in v:
        return int(str(v["#bigint"]))
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"not an integer: {v!r}")
    return v


def replay_main(argv: Sequence[str]) -> int:
    """Step through a saved counterexample against the model, step by step. The trace is the output
    of `ircheck --format json` (its steps are matched by action and line) or `--format itf` (full
    states: each step must lead to exactly the next state).

    Exit status: 0 the trace replays but the check is not broken at its end (a liveness lasso, or
    the model was fixed); 1 reproduced: the check is violated at the last step; 2 bad input (the
    trace file or the model cannot be read, or holds no violated check); 5 the trace does not fit
    the model (a step is not possible there, or an ITF state differs).
    """

    def build_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("trace", metavar="TRACE.json|TRACE.itf.json")
        p.add_argument("model", metavar="MODEL.irq")
        p.add_argument("--check", default=None, metavar="NAME", help="which violated check of the file to replay")
    args = subcommand_args("ircheck replay", argv, build_args, REPLAY_EPILOG)
    if isinstance(args, int):
        return args
    try:
        doc = json.loads(Path(args.trace).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"ircheck replay: cannot read {args.trace}: {e}", file=sys.stderr)
        return 2
    docs = doc if isinstance(doc, list) else [doc]
    itf = _itf_checks(docs)
    candidates = itf if itf is not None else [
        c for d in docs if isinstance(d, dict) for c in d.get("checks", []) if isinstance(c, dict)]
    chosen = [c for c in candidates if c.get("status") == "violated"
              and (args.check is None or c.get("name") == args.check)]
    if not chosen:
        print("ircheck replay: no violated check with a trace in that file"
              + (f" for --check {args.check}" if args.check else ""), file=sys.stderr)
        return 2
    check = chosen[0]
    name = str(check["name"])
    try:
        model = parse_file(args.model)
    except IrcheckError as e:
        print(e.render(), file=sys.stderr)
        return 2
    try:
        if "itf" in check:
            return _replay_itf(model, name, check["itf"], args.model)  # type: ignore[arg-type]
        return _replay_json(model, name, check, args.model)
    except IrcheckError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError) as e:
        print(f"ircheck replay: {args.trace} is not a trace ircheck wrote: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 2


def _build_for(model: object, name: str) -> object:
    return build(model, [name] if name not in IMPLICIT_CHECKS else [])  # type: ignore[arg-type]


def _replay_json(model: object, name: str, check: dict[str, object], path: str) -> int:

    ts = _build_for(model, name)
    assert isinstance(ts, TransitionSystem)
    trace = check["trace"]
    assert isinstance(trace, list)
    s = ts.init()
    print(f"replaying {name} ({len(trace)} steps) on {shown_path(path)}")
    last = None
    for step in trace:
        options = [ti for ti in enabled(ts, s) if step["action"].startswith(ts.transitions[ti].label.action)
                   and ts.transitions[ti].label.line == step["line"]]
        if not options:
            print(f"  step {step['step']}: '{step['action']}' is not possible here: the model has changed",
                  file=sys.stderr)
            return REPLAY_DOES_NOT_FIT
        last = options[0]
        t = fire(ts, s, last)
        diff = ", ".join(f"{k} {a}->{b}" for k, (a, b) in changes(ts, s, t).items())
        print(f"  {step['step']:>3}  {step['context']}: {step['action']}" + (f"\n       {diff}" if diff else ""))
        s = t
    return _verdict(ts, name, s, last)


def _replay_itf(model: object, name: str, itf: dict[str, object], path: str) -> int:

    names = [str(v) for v in itf["vars"]]  # type: ignore[attr-defined]
    raw = itf["states"]
    assert isinstance(raw, list)
    ts = _build_for(model, name)
    assert isinstance(ts, TransitionSystem)
    if [v.name for v in ts.vars] != names:  # the run had other checks on: the model's own set
        other = build(model, None)  # type: ignore[arg-type]
        if [v.name for v in other.vars] == names:
            ts = other
    mine = [v.name for v in ts.vars]
    if sorted(mine) != sorted(names):
        gone, new = sorted(set(names) - set(mine)), sorted(set(mine) - set(names))
        print("  the trace's variables are not the model's: the model has changed"
              + (f" (not in the model: {', '.join(gone[:5])})" if gone else "")
              + (f" (not in the trace: {', '.join(new[:5])})" if new else ""), file=sys.stderr)
        return REPLAY_DOES_NOT_FIT
    states = [tuple(_itf_value(st[n]) for n in mine) for st in raw]
    print(f"replaying {name} ({len(states) - 1} steps, ITF) on {shown_path(path)}")
    if not states or states[0] != ts.init():
        print("  state 0 is not the model's initial state: the model has changed", file=sys.stderr)
        return REPLAY_DOES_NOT_FIT
    s, last = states[0], None
    for i, nxt in enumerate(states[1:], start=1):
        meta = raw[i].get("#meta", {}) if isinstance(raw[i], dict) else {}
        action = meta.get("action", "") if isinstance(meta, dict) else ""
        options = [ti for ti in enabled(ts, s) if fire(ts, s, ti) == nxt]
        if not options:
            print(f"  step {i}: {action or 'this step'} does not lead to the trace's next state here: "
                  "the model has changed", file=sys.stderr)
            return REPLAY_DOES_NOT_FIT
        last = options[0]
        diff = ", ".join(f"{k} {a}->{b}" for k, (a, b) in changes(ts, s, nxt).items())
        print(f"  {i:>3}  {action or ts.transitions[last].label.action}" + (f"\n       {diff}" if diff else ""))
        s = nxt
    return _verdict(ts, name, s, last)


def _verdict(ts: object, name: str, s: tuple[int, ...], last: int | None) -> int:
    assert isinstance(ts, TransitionSystem)
    broken = (last is not None and any(c == name for c, _m in ts.transitions[last].violates)) or any(
        p.check == name and not evaluate(p.ok, s) for p in ts.state_props)
    if broken:
        print(f"reproduced: {name} is violated at the last step")
        return REPLAY_REPRODUCED
    print(f"the trace replays, but {name} is not broken at its end "
          "(a liveness lasso, or the model was fixed)")
    return 0

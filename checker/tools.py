"""`ircheck fmt` and `ircheck trace`: the small subcommands beside checking and export."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ircheck.api import check_file
from ircheck.grammar.diagnostics import IrcheckError
from ircheck.grammar.parser import parse, parse_file
from ircheck.grammar.printer import model_text
from ircheck.pictures import dot, mermaid
from ircheck.report import text


def _args(prog: str, argv: Sequence[str], build: object) -> argparse.Namespace | int:
    p = argparse.ArgumentParser(prog=prog)
    build(p)  # type: ignore[operator]
    try:
        return p.parse_args(list(argv))
    except SystemExit as e:
        return 2 if e.code else 0


def fmt_main(argv: Sequence[str]) -> int:
    """Print a model in canonical form; --check exits 1 if it would change.

    The comment block at the top of the file (the `# expect:` header and the design notes) is kept;
    comments inside the model are not (the AST does not carry them).
    """
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument("models", nargs="+", metavar="MODEL.irq")
        p.add_argument("--write", action="store_true", help="rewrite the files in place")
        p.add_argument("--check", action="store_true", help="exit 1 if a file is not in canonical form")
    args = _args("ircheck fmt", argv, build)
    if isinstance(args, int):
        return args
    worst = 0
    for path in args.models:
        try:
            model = parse_file(path)
            out = _header(model.source) + model_text(model)
            parse(out, path)  # the canonical form must read back (a printer bug is never written out)
        except IrcheckError as e:
            print(e.render(), file=sys.stderr)
            return 2
        if args.check:
            if out != Path(path).read_text():
                print(f"{path}: not in canonical form", file=sys.stderr)
                worst = 1
        elif args.write:
            Path(path).write_text(out)
        else:
            sys.stdout.write(out)
    return worst


def trace_main(argv: Sequence[str]) -> int:
    """Draw the counterexamples of a model's violated checks."""
    def build(p: argparse.ArgumentParser) -> None:
        kind = p.add_mutually_exclusive_group()
        kind.add_argument("--mermaid", action="store_true", help="a Mermaid sequence diagram (default)")
        kind.add_argument("--dot", action="store_true", help="Graphviz DOT")
        p.add_argument("model", metavar="MODEL.irq")
        p.add_argument("--check", action="append", default=None, metavar="NAME[,NAME]")
    args = _args("ircheck trace", argv, build)
    if isinstance(args, int):
        return args
    checks = [c.strip() for g in args.check for c in g.split(",") if c.strip()] if args.check else None
    report = check_file(args.model, checks)
    if report.errors:
        print(text(report), file=sys.stderr)
        return 2
    violated = [c for c in report.checks if c.status == "violated"]
    if not violated:
        print(f"{args.model}: no violated check, nothing to draw", file=sys.stderr)
        return report.exit_code
    for c in violated:
        sys.stdout.write(dot(c) if args.dot else mermaid(c))
    return 1


def _header(source: str) -> str:
    lines = []
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def replay_main(argv: Sequence[str]) -> int:
    """Step through a saved counterexample (`--format json` output) against the model, step by step."""
    import json

    from ircheck.api import build
    from ircheck.spec.explain import changes
    from ircheck.spec.step import enabled, fire
    from ircheck.spec.ts import evaluate

    def build_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("trace", metavar="TRACE.json")
        p.add_argument("model", metavar="MODEL.irq")
        p.add_argument("--check", default=None, metavar="NAME", help="which violated check of the file to replay")
    args = _args("ircheck replay", argv, build_args)
    if isinstance(args, int):
        return args
    try:
        doc = json.loads(Path(args.trace).read_text())
    except (OSError, ValueError) as e:
        print(f"ircheck replay: cannot read {args.trace}: {e}", file=sys.stderr)
        return 2
    docs = doc if isinstance(doc, list) else [doc]
    chosen = [c for d in docs if isinstance(d, dict) for c in d.get("checks", [])
              if c.get("status") == "violated" and (args.check is None or c.get("name") == args.check)]
    if not chosen:
        print("ircheck replay: no violated check with a trace in that file", file=sys.stderr)
        return 2
    check = chosen[0]
    try:
        ts = build(parse_file(args.model), [check["name"]] if check["name"] != "counter_range" else [])
    except IrcheckError as e:
        print(e.render(), file=sys.stderr)
        return 2
    s = ts.init()
    print(f"replaying {check['name']} ({len(check['trace'])} steps) on {args.model}")
    last = None
    for step in check["trace"]:
        options = [ti for ti in enabled(ts, s) if step["action"].startswith(ts.transitions[ti].label.action)
                   and ts.transitions[ti].label.line == step["line"]]
        if not options:
            print(f"  step {step['step']}: '{step['action']}' is not possible here: the model has changed",
                  file=sys.stderr)
            return 1
        last = options[0]
        t = fire(ts, s, last)
        diff = ", ".join(f"{k} {a}->{b}" for k, (a, b) in changes(ts, s, t).items())
        print(f"  {step['step']:>3}  {step['context']}: {step['action']}" + (f"\n       {diff}" if diff else ""))
        s = t
    broken = (last is not None and any(c == check["name"] for c, _m in ts.transitions[last].violates)) or any(
        p.check == check["name"] and not evaluate(p.ok, s) for p in ts.state_props)
    if broken:
        print(f"reproduced: {check['name']} is violated at the last step")
        return 1
    print(f"the trace replays, but {check['name']} is not broken at its end "
          "(a liveness lasso, or the model was fixed)")
    return 0

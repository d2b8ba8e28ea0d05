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

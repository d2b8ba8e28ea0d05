"""The `ircheck` command line (LANGUAGE.md "Command line (contract)").

Exit status: 0 every check holds; 1 some check is violated; 2 the input is
wrong; 3 inconclusive. With several models, the worst status wins in that
order: 2 > 1 > 3 > 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ircheck.api import ENGINES, InternalError, check_file
from ircheck.formats import itf_doc, junit, sarif
from ircheck.report import json_doc, text
from ircheck.result import Report
from ircheck.spec.resolve import ALL_CHECKS

FORMATS = ("text", "json", "itf", "sarif", "junit")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"ircheck: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ircheck", description="Model-check interrupt designs written in .irq files.",
                epilog="exit status: 0 all checks hold, 1 a check is violated, 2 bad input, 3 inconclusive")
    p.add_argument("models", nargs="+", metavar="MODEL.irq")
    p.add_argument("--check", action="append", default=None, metavar="NAME[,NAME]",
                   help="only these checks: " + ", ".join(ALL_CHECKS))
    p.add_argument("--engine", choices=ENGINES, default="auto")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--max-states", type=int, default=None, metavar="N")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds per model")
    p.add_argument("--max-memory", type=float, default=None, metavar="MB",
                   help="stop a search above this resident memory (default: 80%% of the machine)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the verdict line per model")
    return p


def _progress() -> object:
    if not sys.stderr.isatty():
        return None

    def show(states: int, depth: int, secs: float) -> None:
        rate = states / secs if secs > 0 else 0
        sys.stderr.write(f"\r  {states:,} states, depth {depth}, {rate:,.0f} states/s, {secs:.0f} s   ")
        sys.stderr.flush()
    return show


def _worst(codes: list[int]) -> int:
    for c in (2, 1, 3):
        if c in codes:
            return c
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "export":
        from ircheck.export import main as export_main
        return export_main(argv[1:])
    if argv and argv[0] in ("fmt", "trace", "replay"):
        from ircheck.tools import fmt_main, replay_main, trace_main
        return {"fmt": fmt_main, "trace": trace_main, "replay": replay_main}[argv[0]](argv[1:])
    args = _parser().parse_args(argv)
    if args.max_states is not None and args.max_states < 1:
        print("ircheck: error: --max-states must be at least 1", file=sys.stderr)
        return 2
    if args.timeout is not None and args.timeout <= 0:
        print("ircheck: error: --timeout must be positive", file=sys.stderr)
        return 2
    checks = None
    if args.check:
        checks = [c.strip() for group in args.check for c in group.split(",") if c.strip()]
    reports: list[Report] = []
    progress = _progress()
    for path in args.models:
        try:
            r = check_file(path, checks, args.engine, args.max_states, args.timeout, args.max_memory,
                           progress)  # type: ignore[arg-type]
        except InternalError as e:
            print(f"ircheck: internal error on {path}: {e}\nplease report this model", file=sys.stderr)
            return 4
        if progress:
            sys.stderr.write("\r" + " " * 70 + "\r")
        reports.append(r)
        if args.format == "text":
            if args.quiet and not r.errors:
                print(f"{r.model}: {r.verdict}")
            else:
                print(text(r), file=sys.stderr if r.errors else sys.stdout)
        elif args.format == "itf" and r.errors:
            print(text(r), file=sys.stderr)  # ITF holds traces only: input errors go to stderr
    if args.format == "json":
        print(json_doc(reports))
    elif args.format == "sarif":
        print(sarif(reports))
    elif args.format == "junit":
        print(junit(reports))
    elif args.format == "itf":
        print(itf_doc(reports))
    return _worst([r.exit_code for r in reports])


def entry() -> None:
    """Console-script entry: a closed pipe (`ircheck m.irq | head`) ends quietly."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        code = 3
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()

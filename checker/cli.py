"""The `ircheck` command line (LANGUAGE.md "Command line (contract)").

Exit status: 0 every check holds; 1 some check is violated; 2 the input is
wrong; 3 inconclusive. With several models, the worst status wins in that
order: 2 > 1 > 3 > 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from types import FrameType

from ircheck.api import ENGINES, InternalError, check_file
from ircheck.compact import STORES
from ircheck.formats import itf_doc, junit, sarif
from ircheck.progress import Progress, wanted
from ircheck.reduce import DEFAULT as REDUCTION_DEFAULT
from ircheck.reduce import parse_reduction
from ircheck.report import json_doc, stats_text, text
from ircheck.result import VIOLATED, Report
from ircheck.spec.resolve import ALL_CHECKS
from ircheck.suggest import CANDIDATE_MAX_STATES, CANDIDATE_TIMEOUT, Suggestions, suggest, suggestions_text

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
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="search with N processes; the results are those of one process")
    p.add_argument("--reduction", default=REDUCTION_DEFAULT, metavar="R[,R]",
                   help="state-space reductions: none, all, or a comma list of por (partial-order), merge "
                        "(one-successor states are not stored), symmetry (declared identical components). "
                        f"Default {REDUCTION_DEFAULT}. They serve the safety checks; with no_deadlock or a "
                        "liveness check, or with --workers/--store, the search is unreduced. Verdicts and "
                        "counterexamples are those of --reduction none")
    p.add_argument("--store", choices=STORES, default="dict",
                   help="the visited set: dict (default), compact (8 bytes a word, <= 16 bytes a state: exact "
                        "when a state fits in 62 bits, else hash compaction) or hash (hash compaction). "
                        "A hash-compacted search never says holds: what it does not find violated is "
                        "inconclusive, with the probability that it missed states")
    p.add_argument("--compact", dest="store", action="store_const", const="compact",
                   help="the same as --store compact")
    p.add_argument("--suggest", action="store_true",
                   help="for a violated model, try the standard repairs (irqsave, missing EOI, interrupt gate, "
                        "wait_event, ...) and print the smallest that make every check hold, as diffs")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only the verdict line per model (and no progress line)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print each model's search statistics and the checks run to stderr")
    p.add_argument("--no-timings", action="store_true",
                   help="leave out seconds, states/s and peak memory: the output is then byte-identical "
                        "from run to run")
    return p


class _Interrupts:
    """SIGINT as usual (KeyboardInterrupt, which the engine turns into "inconclusive"), remembered,
    so that the command stops after the model it interrupted instead of going on to the next one."""

    def __init__(self) -> None:
        self.hit = False
        self._old: object = None

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.hit = True
        raise KeyboardInterrupt

    def __enter__(self) -> _Interrupts:
        try:
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: leave SIGINT alone
            self._old = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)  # type: ignore[arg-type]


def _worst(codes: list[int]) -> int:
    for c in (2, 1, 3):
        if c in codes:
            return c
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "graph":
        from ircheck.graph import graph_main
        return graph_main(argv[1:])
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
    try:
        parse_reduction(args.reduction)
    except ValueError as e:
        print(f"ircheck: error: --reduction: {e}", file=sys.stderr)
        return 2
    if args.workers < 1 or (args.workers > 1 and args.store != "dict"):
        print("ircheck: error: --workers must be at least 1, and a compact store runs in one process",
              file=sys.stderr)
        return 2
    checks = None
    if args.check:
        checks = [c.strip() for group in args.check for c in group.split(",") if c.strip()]
    reports: list[Report] = []
    timings = not args.no_timings
    progress = Progress() if wanted(sys.stderr, args.quiet) else None
    with _Interrupts() as interrupts:
        for i, path in enumerate(args.models):
            try:
                r = check_file(path, checks, args.engine, args.max_states, args.timeout, args.max_memory,
                               progress.start(path) if progress else None, args.workers, args.store,
                               args.reduction)
            except InternalError as e:
                print(f"ircheck: internal error on {path}: {e}\nplease report this model", file=sys.stderr)
                return 4
            except KeyboardInterrupt:  # outside the search (parsing, code generation, replay): no result
                interrupts.hit = True
                _interrupted(path, None, args.models[i + 1:], timings)
                break
            finally:
                if progress:
                    progress.stop()
            found = _suggest(r, checks, args) if (args.suggest and r.verdict == VIOLATED
                                                  and args.format in ("text", "json")) else None
            reports.append(r)
            if args.format == "text":
                if args.quiet and not r.errors:
                    print(f"{r.model}: {r.verdict}")
                else:
                    print(text(r, timings=timings), file=sys.stderr if r.errors else sys.stdout)
                if found is not None:
                    print(suggestions_text(found))
            elif args.format == "itf" and r.errors:
                print(text(r), file=sys.stderr)  # ITF holds traces only: input errors go to stderr
            if args.verbose:
                print(stats_text(r, timings), file=sys.stderr)
            if interrupts.hit:  # the engine stopped the search: this report is what was found so far
                _interrupted(path, r, args.models[i + 1:], timings, stats=not args.verbose)
                break
    if args.format == "json":
        print(json_doc(reports, timings, as_list=len(args.models) > 1))
    elif args.format == "sarif":
        print(sarif(reports))
    elif args.format == "junit":
        print(junit(reports if timings else [replace(r, stats=replace(r.stats, seconds=0.0)) for r in reports]))
    elif args.format == "itf":
        print(itf_doc(reports))
    codes = [r.exit_code for r in reports]
    return _worst(codes + [3] if interrupts.hit else codes)


def _suggest(r: Report, checks: list[str] | None, args: argparse.Namespace) -> Suggestions:
    """`--suggest`: search the repairs of a violated model (per-candidate limits: the run's own
    --max-states/--timeout if given) and attach them to the report for the JSON output."""
    found = suggest(r.source, r.model, checks, original=r,
                    max_states=args.max_states or CANDIDATE_MAX_STATES, timeout=args.timeout or CANDIDATE_TIMEOUT)
    r.suggestions = found.to_json()
    return found


def _interrupted(path: str, report: Report | None, rest: Sequence[str], timings: bool,
                 stats: bool = True) -> None:
    """Ctrl-C: say where the run stopped, the statistics so far, and which models were not checked."""
    print(f"ircheck: interrupted (Ctrl-C) while checking {path}"
          + ("" if report is not None else "; no result for it"), file=sys.stderr)
    if report is not None and stats:
        print(stats_text(report, timings), file=sys.stderr)
    if rest:
        print(f"ircheck: not checked: {', '.join(rest)}", file=sys.stderr)


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

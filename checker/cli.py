"""The `ircheck` command line (docs/reference.md, "Command line").

Exit status:
  0  every check holds
  1  some check is violated
  2  the input or the command line is wrong (also a warning under --strict)
  3  inconclusive: a limit, or a signal (Ctrl-C, SIGTERM, SIGHUP), stopped the run before a verdict
  4  internal error: a bug in ircheck (one line on stderr; the traceback only with --debug)
With several models the worst status wins, in this order: 4 > 2 > 1 > 3 > 0. A reader that closes
stdout early (`ircheck m.irq | head -1`) changes nothing: the run goes on to its verdict and exits
with it. `ircheck replay` exits 1 when the trace reproduces the violation and 5 when the trace does
not fit the model (see `ircheck.tools.replay_main`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from ircheck.api import ENGINES, check_file
from ircheck.cli_args import (
    KNOWN_CHECKS,
    MEGABYTES,
    POSITIVE_INT,
    SECONDS,
    SUBCOMMANDS,
    Interrupts,
    check_names,
)
from ircheck.cluster import INSTALL_HINT, from_options, ray_available
from ircheck.compact import STORES
from ircheck.coverage import Warn, counting, coverage_text
from ircheck.formats import itf_doc, junit, sarif
from ircheck.grammar.diagnostics import Diagnostic, shown_path
from ircheck.graph import graph_main
from ircheck.lsp import lsp_main
from ircheck.proc_interrupts import interrupts_main
from ircheck.progress import Progress, wanted
from ircheck.reduce_plan import DEFAULT as REDUCTION_DEFAULT
from ircheck.reduce_plan import parse_reduction
from ircheck.report import json_doc, stats_text, text
from ircheck.result import VIOLATED, Report
from ircheck.simulate import simulate_main
from ircheck.spec.checks import DEADLOCK_CHECK, IMPLICIT_CHECKS
from ircheck.suggest import CANDIDATE_MAX_STATES, CANDIDATE_TIMEOUT, Suggestions, suggest, suggestions_text
from ircheck.tools import fmt_main, replay_main, trace_main
from ircheck.version import __version__

FORMATS = ("text", "json", "itf", "sarif", "junit")

# exit statuses (module docstring); WORST orders them for several models
HOLDS_STATUS, VIOLATED_STATUS, INPUT_STATUS, INCONCLUSIVE_STATUS, INTERNAL_STATUS = 0, 1, 2, 3, 4
WORST = (INTERNAL_STATUS, INPUT_STATUS, VIOLATED_STATUS, INCONCLUSIVE_STATUS)
PIPE_STATUS = 141  # stdout closed before anything was decided (128 + SIGPIPE, as a shell reports it)
REPORT_BUG = "please report it with the model and this command at the project's issue tracker"

EXIT_HELP = """exit status:
  0  every check holds
  1  a check is violated
  2  bad input, a bad option, or a warning under --strict
  3  inconclusive: a limit or a signal (Ctrl-C, SIGTERM, SIGHUP) stopped the run
  4  internal error in ircheck (please report it; --debug shows the traceback)
with several models the worst wins: 4 > 2 > 1 > 3 > 0"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<8} {what}" for name, what in SUBCOMMANDS.items())
    p = _Parser(prog="ircheck", formatter_class=argparse.RawDescriptionHelpFormatter,
                usage="ircheck [options] MODEL.irq|DIR [MODEL.irq|DIR ...]\n"
                      "       ircheck {" + ",".join(SUBCOMMANDS) + "} ...  (ircheck COMMAND --help)",
                description="Model-check interrupt designs written in .irq files.",
                epilog=f"commands:\n{commands}\n\n{EXIT_HELP}")
    p.add_argument("--version", action="version", version=f"ircheck {__version__}")
    p.add_argument("models", nargs="+", metavar="MODEL.irq|DIR",
                   help="models to check; a directory stands for the *.irq files in it (sorted, not recursive)")
    p.add_argument("--check", action="append", default=None, metavar="NAME[,NAME]",
                   help="only these checks: " + ", ".join(KNOWN_CHECKS))
    p.add_argument("--engine", choices=ENGINES, default="auto")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--max-states", type=POSITIVE_INT, default=None, metavar="N")
    p.add_argument("--max-traces", type=POSITIVE_INT, default=1, metavar="N",
                   help="up to N counterexamples per violated check, each ending another way (another violating "
                        "step or failed property) and shortest of its kind, like TLC's -continue (explicit "
                        "engine, one process, unreduced)")
    p.add_argument("--timeout", type=SECONDS, default=None, metavar="S", help="seconds per model")
    p.add_argument("--max-memory", type=MEGABYTES, default=None, metavar="MB",
                   help="stop a search above this resident memory (default: 80%% of the machine)")
    p.add_argument("--workers", type=POSITIVE_INT, default=1, metavar="N",
                   help="search with N Ray actors, one partition each, on a local Ray of N CPUs (pip install "
                        "'ircheck[cluster]'; on a cluster with --cluster or RAY_ADDRESS). Same verdicts, state counts "
                        "and trace lengths as one process")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="search on Ray (pip install 'ircheck[cluster]'): 'local' starts a local Ray with "
                        "--workers CPUs (the default of --workers N), HOST:6379 joins a running cluster (also: the "
                        "RAY_ADDRESS environment variable with --workers N). Same verdicts, state counts and trace "
                        "lengths as one process")
    p.add_argument("--swarm", type=POSITIVE_INT, default=0, metavar="N",
                   help="hunt bugs with N randomized bounded searches on Ray (SPIN's swarm): finds violations, "
                        "never says holds (the other checks are inconclusive)")
    p.add_argument("--reduction", default=REDUCTION_DEFAULT, metavar="R[,R]",
                   help="state-space reductions: none, all, or a comma list of por (partial-order), merge "
                        "(one-successor states are not stored), symmetry (declared identical components). "
                        f"Default {REDUCTION_DEFAULT}. They serve the safety checks; with {DEADLOCK_CHECK} or a "
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
    p.add_argument("--strict", action="store_true",
                   help="turn warnings (a model that declares nothing, a --check that selects no check of a "
                        "model, checks that hold only because nothing happens) into errors: exit 2")
    p.add_argument("--coverage", action="store_true",
                   help="after a complete explicit search, print per statement (file:line) how many transitions "
                        "fired from it in reachable states; what can never happen is warned about without it")
    p.add_argument("--debug", action="store_true",
                   help="on an internal error, print the Python traceback as well")
    return p


def _worst(codes: Sequence[int]) -> int:
    for c in WORST:
        if c in codes:
            return c
    return 0


class _Run:
    """What the command is doing, for the one-line internal-error message."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.debug = "--debug" in argv
        self.model = next((a for a in argv if a.endswith(".irq")), "")
        self.engine = "auto"


def main(argv: Sequence[str] | None = None) -> int:
    """The `ircheck` command: the exit status (module docstring). Never raises, but SystemExit from
    nowhere else than the caller's own code: an unexpected exception is an internal error (4)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    run = _Run(argv)
    try:
        return _main(argv, run)
    except KeyboardInterrupt:  # a signal outside the search (parsing, output): no result
        print(f"ircheck: interrupted{' while checking ' + shown_path(run.model) if run.model else ''}",
              file=sys.stderr)
        return INCONCLUSIVE_STATUS
    except Exception as e:  # noqa: BLE001 - the last line of defence: a bug in ircheck
        return internal_error(e, run.model, run.engine, run.debug)


def internal_error(e: BaseException, model: str, engine: str, debug: bool) -> int:
    """One line on stderr (the traceback too with --debug); the status 4."""
    if debug:
        traceback.print_exception(e, file=sys.stderr)
    what = f"{type(e).__name__}: {e}".strip().rstrip(":").replace("\n", " ")
    where = f" while checking {shown_path(model)}" if model else ""
    print(f"ircheck: internal error{where} (engine {engine}): {what[:300]}; this is a bug in ircheck, "
          f"{REPORT_BUG}{'' if debug else ' (--debug shows the traceback)'}", file=sys.stderr)
    return INTERNAL_STATUS


def export_main(argv: list[str]) -> int:
    """`ircheck export`: loaded on use (it brings networkx, 0.1 s of every run's start-up otherwise)."""
    from ircheck.export import main  # noqa: PLC0415
    return main(argv)


def _subcommand(name: str, argv: list[str], run: _Run) -> int:
    if "--debug" in argv:
        argv = [a for a in argv if a != "--debug"]
    run.engine = {"graph": "explicit", "export": "explicit", "interrupts": "explicit", "fmt": "none", "replay": "reference semantics",
                  "simulate": "reference semantics"}.get(
        name, "auto")
    mains = {"graph": graph_main, "export": export_main, "simulate": simulate_main, "fmt": fmt_main,
             "trace": trace_main, "replay": replay_main, "lsp": lsp_main,
             "interrupts": interrupts_main}
    return mains[name](argv)


def model_paths(args: Sequence[str], error: Callable[[str], object]) -> list[str]:
    """The models named on the command line; a directory stands for its `*.irq` files, sorted."""
    out: list[str] = []
    for a in args:
        if a and Path(a).is_dir():
            found = sorted(str(p) for p in Path(a).glob("*.irq") if not p.is_dir())
            if not found:
                error(f"{shown_path(a)} is a directory with no *.irq model in it")
            out += found
        else:
            out.append(a)
    return out


def _empty(source: str) -> bool:
    """Nothing but blanks, `;` and comments: the model declares nothing."""
    return re.sub(r"#[^\n]*|[\s;]", "", source) == ""


def _warnings(r: Report, asked: list[str] | None) -> list[str]:
    if r.errors:
        return []
    if _empty(r.source):
        return ["the model declares nothing (the file is empty or only comments): every check holds trivially"]
    if not r.checks:
        return [f"no check ran: --check {','.join(asked or ())} selects none of its checks "
                f"({', '.join(IMPLICIT_CHECKS)} runs only where a counter changes)"]
    return []


def _main(argv: list[str], run: _Run) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0], argv[1:], run)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else INPUT_STATUS
    try:
        parse_reduction(args.reduction)
    except ValueError as e:
        print(f"ircheck: error: --reduction: {e}", file=sys.stderr)
        return INPUT_STATUS
    if args.workers > 1 and args.store != "dict":
        print("ircheck: error: a compact store runs in one process: --workers 1 with --store compact/hash",
              file=sys.stderr)
        return INPUT_STATUS
    cluster = from_options(args.cluster, args.swarm, args.workers)
    if cluster is not None and not ray_available():
        print(f"ircheck: error: --workers N, --cluster and --swarm search on Ray, which is not installed: {INSTALL_HINT}",
              file=sys.stderr)
        return INPUT_STATUS
    try:
        checks = check_names(args.check, parser.error)
        paths = model_paths(args.models, parser.error)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else INPUT_STATUS
    run.engine = args.engine
    reports: list[Report] = []
    codes: list[int] = []
    timings = not args.no_timings
    progress = Progress() if wanted(sys.stderr, args.quiet) else None
    with Interrupts() as interrupts:
        for i, path in enumerate(paths):
            run.model = path
            try:
                with counting() if args.coverage else nullcontext():
                    r = check_file(path, checks, args.engine, args.max_states, args.timeout, args.max_memory,
                                   progress.start(path) if progress else None, args.workers, args.store,
                                   args.reduction, args.max_traces, cluster)
            except KeyboardInterrupt:  # outside the search (parsing, code generation, replay): no result
                interrupts.hit = True
                _interrupted(path, None, paths[i + 1:], timings, interrupts.name)
                break
            except MemoryError:  # a limit, not a bug: the engines turn most into "inconclusive" themselves
                print(f"ircheck: out of memory while checking {shown_path(path)}; no result for it (try --max-memory, "
                      "--max-states or --store compact)", file=sys.stderr)
                codes.append(INCONCLUSIVE_STATUS)
                continue
            except Exception as e:  # noqa: BLE001 - InternalError (an engine disagreed) or any other bug
                codes.append(internal_error(e, path, args.engine, args.debug))
                if args.format != "text":  # the document still names every model checked
                    reports.append(Report(path, errors=[Diagnostic(
                        "IRQ999", f"internal error in ircheck ({type(e).__name__}); {REPORT_BUG}", path)]))
                continue
            finally:
                if progress:
                    progress.stop()
            if interrupts.hit:
                interrupts.relabel(r)
            warnings = [Warn(1, w, "input") for w in _warnings(r, args.check)]
            # every check holds only because...; a design the lowering warns about (X10's exception vectors)
            vacuous = [w for w in r.warnings if w.kind in ("vacuous", "input")]
            if (warnings or vacuous) and args.strict:
                r = replace(r, checks=[], errors=[Diagnostic(
                    "IRQ010", f"{w.message} (--strict)", path, w.line, 1, "leave out --strict to accept it")
                    for w in warnings + vacuous])
            else:
                for w in warnings:
                    print(f"ircheck: warning: {shown_path(path)}: {w.message}", file=sys.stderr)
                if args.format == "text":  # the model's own (the lowering's, the search's), with their lines
                    for w in r.warnings:
                        print(f"ircheck: warning: {shown_path(path)}:{w.line}: {w.message}", file=sys.stderr)
                r.more_warnings += warnings
            found = _suggest(r, checks, args) if (args.suggest and r.verdict == VIOLATED
                                                  and args.format in ("text", "json")) else None
            reports.append(r)
            codes.append(r.exit_code)
            if args.format == "text":
                if args.quiet and not r.errors:
                    print(f"{shown_path(r.model)}: {r.verdict}")
                else:
                    print(text(r, timings=timings), file=sys.stderr if r.errors else sys.stdout)
                if args.coverage and not r.errors:
                    print(coverage_text(shown_path(r.model), r.stats.coverage))
                if found is not None:
                    print(suggestions_text(found))
            elif args.format == "itf" and r.errors:
                print(text(r), file=sys.stderr)  # ITF holds traces only: input errors go to stderr
            if args.verbose:
                print(stats_text(r, timings), file=sys.stderr)
            if interrupts.hit:  # the engine stopped the search: this report is what was found so far
                _interrupted(path, r, paths[i + 1:], timings, interrupts.name, stats=not args.verbose)
                break
        # the document is written in one piece even if a second signal comes now
        interrupts.hold()
        if args.format == "json":
            print(json_doc(reports, timings, as_list=len(paths) > 1 or any(Path(m).is_dir() for m in args.models)))
        elif args.format == "sarif":
            print(sarif(reports))
        elif args.format == "junit":
            print(junit(reports if timings else [replace(r, stats=replace(r.stats, seconds=0.0))
                                                 for r in reports]))
        elif args.format == "itf":
            print(itf_doc(reports))
    return _worst(codes + [INCONCLUSIVE_STATUS] if interrupts.hit else codes)


def _suggest(r: Report, checks: list[str] | None, args: argparse.Namespace) -> Suggestions:
    """`--suggest`: search the repairs of a violated model and attach them to the report for the JSON
    output. The run's --max-states and --max-memory bound each candidate; its --timeout bounds the
    whole run, so the suggestions get what the check itself left of it (issue 21: limits hold in every
    phase)."""
    if args.timeout:
        left = max(0.0, args.timeout - r.stats.seconds)
        found = suggest(r.source, r.model, checks, original=r, max_states=args.max_states or CANDIDATE_MAX_STATES,
                        timeout=left, total_timeout=left, max_memory_mb=args.max_memory,
                        budget_name=f"--timeout {args.timeout:g} s")
    else:
        found = suggest(r.source, r.model, checks, original=r, max_states=args.max_states or CANDIDATE_MAX_STATES,
                        timeout=CANDIDATE_TIMEOUT, max_memory_mb=args.max_memory)
    r.suggestions = found.to_json()
    return found


def _interrupted(path: str, report: Report | None, rest: Sequence[str], timings: bool, name: str = "Ctrl-C",
                 stats: bool = True) -> None:
    """A signal: say where the run stopped, the statistics so far, and which models were not checked."""
    print(f"ircheck: interrupted ({name}) while checking {shown_path(path)}"
          + ("" if report is not None else "; no result for it"), file=sys.stderr)
    if report is not None and stats:
        print(stats_text(report, timings), file=sys.stderr)
    if rest:
        print(f"ircheck: not checked: {', '.join(map(shown_path, rest))}", file=sys.stderr)


class _PipeGuard:
    """stdout or stderr of the console script. A reader that goes away (`ircheck m.irq | head -1`)
    must not change the verdict a CI gate sees: what is written after that is dropped (the stream
    is pointed at /dev/null, so the interpreter's last flush is quiet too) and the run goes on."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)  # type: ignore[attr-defined, no-any-return]
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()  # type: ignore[attr-defined]
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.broken = True
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, self._stream.fileno())  # type: ignore[attr-defined]
            os.close(fd)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def entry() -> None:
    """Console-script entry (`ircheck`, `python -m ircheck`): main()'s status, also when the reader
    of stdout went away early; 141 only if that somehow ended the run before a status was known."""
    sys.stdout = _PipeGuard(sys.stdout)
    sys.stderr = _PipeGuard(sys.stderr)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # pragma: no cover - the guards catch it
        code = PIPE_STATUS
    except KeyboardInterrupt:  # a second signal while main() was returning
        code = INCONCLUSIVE_STATUS
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()

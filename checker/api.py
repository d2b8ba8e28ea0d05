"""The Python API: `check_file`, `check_source`, and the pipeline they run.

parse -> resolve -> lower -> engine -> replay every trace -> Report.
Bad input never raises: it comes back as a Report with `errors` (exit code 2).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ircheck.cluster import Cluster, from_options, require_ray
from ircheck.codegen import no_tick, watching
from ircheck.coverage import Warn
from ircheck.engine_choice import run_auto
from ircheck.explicit_run import run_explicit
from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError
from ircheck.grammar.parser import parse, parse_file
from ircheck.limits import Limits, Stopped, Ticker, phase_watch
from ircheck.pipeline import InternalError as InternalError  # the API's: an engine disagreed
from ircheck.reduce_plan import DEFAULT as DEFAULT_REDUCTION
from ircheck.result import INCONCLUSIVE, CheckResult, Report, Stats
from ircheck.spec.lower import check_names, lower
from ircheck.spec.resolve import resolve
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import default_memory_limit_mb, peak_rss_mb

ENGINES = ("auto", "explicit", "smt")


def build(model: ast.Model, checks: Sequence[str] | None = None, watch: Ticker | None = None) -> TransitionSystem:
    """Resolve and lower a parsed model (raises IrcheckError on bad input; `watch`: the limits, which
    stop a long lowering with `limits.Stopped`)."""
    return lower(resolve(model), list(checks) if checks is not None else None,
                 watch.during("the lowering").tick if watch is not None else None)


def compile_source(text: str, path: str = "<string>", checks: Sequence[str] | None = None) -> TransitionSystem:
    return build(parse(text, path), checks)


def run_engine(ts: TransitionSystem, engine: str = "auto", max_states: int | None = None,
               timeout: float | None = None, max_memory_mb: float | None = None,
               progress: Callable[[int, int, float], None] | None = None,
               workers: int = 1, store: str = "dict",
               reduction: str = DEFAULT_REDUCTION, deadline: float | None = None,
               max_traces: int = 1, cluster: Cluster | None = None) -> tuple[list[CheckResult], Stats]:
    """deadline: when --timeout runs out (time.perf_counter), if it counts from before this call;
    max_traces > 1: up to that many counterexamples per check, distinct by how they end (the plain
    explicit search: one process, the dict store, no reduction - the extra traces are those of the
    full graph);
    workers > 1: the partitioned BFS on Ray with `workers` partitions (`ircheck.ray_bfs`: same verdicts,
    state counts and trace lengths; a local Ray of `workers` CPUs, or the cluster `RAY_ADDRESS` names;
    Ray is the optional extra `ircheck[cluster]`); store "compact" or "hash":
    `ircheck.compact` (a compact visited set; a hash-compacted search never says "holds");
    reduction: `ircheck.reduce` ("none", "all" or a comma list of por, merge, symmetry);
    cluster: search on Ray (`ircheck.cluster`: the partitioned BFS of `ircheck.ray_bfs` with
    `workers` partitions, or `--swarm`'s randomized searches of `ircheck.ray_swarm`)."""
    cluster = cluster or from_options(None, 0, workers)
    if cluster is not None:
        require_ray("--workers N/--cluster/--swarm")
        if engine == "smt" or store != "dict" or max_traces > 1:
            raise IrcheckError([Diagnostic("IRQ902", "Ray (--workers N, --cluster, --swarm) runs the explicit engine "
                                           "with the dict store, in one process otherwise", "<command line>", 0, 0,
                                           "leave out --engine smt/--store/--max-traces, or --workers/--cluster/"
                                           "--swarm")])
        return run_explicit(ts, max_states, timeout, max_memory_mb, progress, workers, store, reduction, deadline,
                            cluster=cluster)
    if max_traces > 1:
        if engine == "smt" or store != "dict":
            raise IrcheckError([Diagnostic("IRQ902", "--max-traces is for the explicit engine in one process",
                                           "<command line>", 0, 0,
                                           "leave out --engine smt/--store, or --max-traces")])
        engine, reduction = "explicit", "none"
    if engine == "smt":  # BMC + k-induction (checker/smt.py); z3 is imported only here
        if store != "dict":
            raise IrcheckError([Diagnostic("IRQ902", "--engine smt runs in one process with no state store",
                                           "<command line>", 0, 0, "leave out --store")])
        from ircheck.smt import run_smt  # z3 is imported only when this engine runs (start-up time)
        return run_smt(ts, timeout, max_memory_mb or default_memory_limit_mb(), progress=progress)
    if engine == "auto" and store == "dict":  # explicit when it fits (checker/engine_choice.py)
        return run_auto(ts, max_states, timeout, max_memory_mb, progress, reduction=reduction, deadline=deadline)
    return run_explicit(ts, max_states, timeout, max_memory_mb, progress, 1, store, reduction, deadline,
                        max_traces)


def check_model(model: ast.Model, checks: Sequence[str] | None = None, engine: str = "auto",
                max_states: int | None = None, timeout: float | None = None,
                max_memory_mb: float | None = None,
                progress: Callable[[int, int, float], None] | None = None,
                workers: int = 1, store: str = "dict", reduction: str = DEFAULT_REDUCTION,
                max_traces: int = 1, cluster: Cluster | None = None, started: float | None = None) -> Report:
    """started: when the run began (time.perf_counter), if before this call: `check_file` passes the moment
    before it read and parsed the file, so --timeout counts the parse of a large model too."""
    report = Report(model.path, source=model.source)
    # --timeout counts from here (or from `started`): the lowering and code generation included
    t0 = time.perf_counter() if started is None else started
    limits = Limits(max_states, timeout, max_memory_mb or default_memory_limit_mb(),
                    t0 + timeout if timeout else None)
    watch = phase_watch(limits)
    try:
        try:
            ts = build(model, checks, watch)
            report.more_warnings += [Warn(line, msg, "input") for line, msg in ts.warnings]
            # the engine's code generation; the Z3 engine generates none before its search (its
            # sampler's code runs under the Z3 engine's own budget)
            with watching(watch.during("code generation").tick if engine != "smt" else no_tick):
                report.checks, report.stats = run_engine(ts, engine, max_states, timeout, max_memory_mb, progress,
                                                         workers, store, reduction, limits.deadline, max_traces,
                                                         cluster)
            # the seconds --timeout counts: from the model's start, the lowering and code generation included
            report.stats.seconds = max(report.stats.seconds, time.perf_counter() - t0)
        except Stopped as stop:  # a limit before the search could store a state: nothing is decided
            names = check_names(resolve(model), list(checks) if checks is not None else None)
            report.checks = [CheckResult(c, INCONCLUSIVE, note=f"stopped ({stop.reason}) before the search")
                             for c in names]
            report.stats = Stats("explicit" if engine != "smt" else "smt", seconds=time.perf_counter() - t0,
                                 peak_mb=peak_rss_mb(), complete=False, stopped_by=stop.reason)
    except IrcheckError as e:
        report.errors = [Diagnostic(d.code, d.message, d.path if d.path != "<command line>" else model.path,
                                    d.line, d.column, d.hint) for d in e.diagnostics]
    return report


def check_source(text: str, path: str = "<string>", checks: Sequence[str] | None = None, **kw: object) -> Report:
    """Check `.irq` source text. Keyword arguments as for `check_file`."""
    try:
        model = parse(text, path)
    except IrcheckError as e:
        return Report(path, errors=e.diagnostics, source=text)
    return check_model(model, checks, **kw)  # type: ignore[arg-type]


def check_file(path: str | Path, checks: Sequence[str] | None = None, engine: str = "auto",
               max_states: int | None = None, timeout: float | None = None,
               max_memory_mb: float | None = None,
               progress: Callable[[int, int, float], None] | None = None,
               workers: int = 1, store: str = "dict", reduction: str = DEFAULT_REDUCTION,
               max_traces: int = 1, cluster: Cluster | None = None) -> Report:
    """Check one `.irq` file.

    checks: narrow to these check names (default: the model's own `check` lines,
    or every built-in check). Limits make unfinished checks "inconclusive".
    max_traces: up to that many counterexamples per violated check (`CheckResult.more`), distinct by
    how they end, each the shortest of its kind (explicit engine, one process).
    workers: N > 1 searches on a local Ray with N partitions (or on the cluster `RAY_ADDRESS` names;
    `ircheck[cluster]`): same verdicts, state counts and trace lengths; store: "dict" (default), "compact" or
    "hash" (a compact visited set; see `ircheck.compact`); reduction: "none", "all" or a comma
    list of "por", "merge", "symmetry" (default "por,symmetry"; see `ircheck.reduce`); cluster: run on
    Ray (`ircheck.cluster.Cluster`: a local Ray or a cluster's address, maybe `--swarm`).
    """
    started = time.perf_counter()  # --timeout counts the parse too
    try:
        model = parse_file(path)
    except IrcheckError as e:
        return Report(str(path), errors=e.diagnostics, source=e.source)
    return check_model(model, checks, engine, max_states, timeout, max_memory_mb, progress, workers, store,
                       reduction, max_traces, cluster, started)

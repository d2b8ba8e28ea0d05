"""`ircheck export --promela|--dot MODEL.irq`: the model's transition system for other tools."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import networkx as nx

from ircheck.api import build, run_engine
from ircheck.cli_args import MEGABYTES, SECONDS, SUBCOMMANDS, check_names
from ircheck.codegen import Packing
from ircheck.explicit import Explicit
from ircheck.grammar.diagnostics import IrcheckError, shown_path
from ircheck.grammar.parser import parse_file
from ircheck.limits import Limits, Stopped, phase_watch
from ircheck.promela import to_promela
from ircheck.result import CheckResult
from ircheck.spec.explain import changes
from ircheck.spec.step import find_step
from ircheck.spec.ts import CPU_CONTEXTS, TransitionSystem
from ircheck.sysinfo import default_memory_limit_mb

DOT_LIMIT = 300  # states: a larger picture cannot be read (and dot takes minutes to lay it out)


def _pcs(ts: TransitionSystem, vals: tuple[int, ...]) -> list[str]:
    """The program counters of a state (`cpu0.pc=tick@14`), idle ones left out."""
    return [f"{v.name}={v.show(x)}" for v, x in zip(ts.vars, vals, strict=True)
            if v.kind == "loc" and v.show(x) not in ("-", "")]


def _who(ts: TransitionSystem, ti: int) -> str:
    """Who takes a transition and what it does: `cpu0 handler tick: eoi`, `device nic: raise IRQ 3`."""
    lab = ts.transitions[ti].label
    actor = lab.actor if lab.cpu is None or lab.context in CPU_CONTEXTS else f"cpu{lab.cpu} {lab.actor}"
    return f"{actor}: {lab.action}"


def state_graph(ts: TransitionSystem, max_states: int = DOT_LIMIT, partial: bool = False) -> nx.DiGraph:
    """The reachable state graph as networkx (small models only: it stores every edge). States are
    labelled with their program counters and what differs from the initial state, edges with who
    acts. More than `max_states` states: IrcheckError, or with `partial` the first `max_states` of
    the breadth-first search (`g.graph["partial"]`)."""
    eng = Explicit(ts, Limits(max_states=max_states))
    res = eng.run()
    if not res.complete and not partial:
        raise IrcheckError([])  # caller reports the limit
    pk: Packing = eng.pk
    index = {s: k for k, s in enumerate(eng.seen)}
    g = nx.DiGraph(index={pk.unpack(s): k for s, k in index.items()}, partial=not res.complete)
    init = ts.init()
    for s, k in index.items():
        vals = pk.unpack(s)
        diff = changes(ts, init, vals)
        lines = _pcs(ts, vals) + [f"{n}={b}" for n, (_a, b) in diff.items()]
        g.add_node(k, label="\n".join(lines or ["initial"]))
    for s, k in index.items():
        a = pk.unpack(s)
        for _ti, t in eng.successors_with_ids(s):
            if t in index and not g.has_edge(k, index[t]):
                ti = find_step(ts, a, pk.unpack(t))
                g.add_edge(k, index[t], label=_who(ts, ti))
    return g


def highlight(g: nx.DiGraph, ts: TransitionSystem, results: Sequence[CheckResult]) -> None:
    """Mark each violated check's counterexample on the graph (nodes and edges get `cex`: the checks
    whose trace passes there), so a picture of the state space shows where it goes wrong."""
    index: dict[tuple[int, ...], int] = g.graph["index"]
    names = [v.name for v in ts.vars]
    for r in results:
        if r.status != "violated" or not r.states:
            continue
        path = [index.get(tuple(st[n] for n in names)) for st in r.states]
        for k in path:
            if k is not None:
                g.nodes[k].setdefault("cex", []).append(r.name)
        for a, b in zip(path, path[1:], strict=False):
            if a is not None and b is not None and g.has_edge(a, b):
                g.edges[a, b].setdefault("cex", []).append(r.name)


def to_dot(g: nx.DiGraph) -> str:
    def q(x: object) -> str:  # label lines are joined by a real newline: DOT's `\n`, escaped once
        return '"' + "\\n".join(part.replace("\\", "\\\\").replace('"', '\\"') for part in str(x).split("\n")) + '"'
    lines = ["digraph states {", "  node [shape=box, fontname=monospace, fontsize=9];",
             "  edge [fontname=monospace, fontsize=8];"]
    if g.graph.get("partial"):
        lines.append(f"  label={q(f'the first {g.number_of_nodes()} states only (--max-states)')}; labelloc=t;")
    for n, d in g.nodes(data=True):
        extra = ", style=bold" if n == 0 else ""
        if d.get("cex"):
            extra += f", color=red, penwidth=2, tooltip={q('counterexample: ' + ', '.join(d['cex']))}"
        lines.append(f"  s{n} [label={q(d.get('label', ''))}{extra}];")
    for a, b, d in g.edges(data=True):
        extra = ""
        if d.get("cex"):
            extra = f", color=red, fontcolor=red, penwidth=2, tooltip={q(', '.join(d['cex']))}"
        lines.append(f"  s{a} -> s{b} [label={q(d.get('label', ''))}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:

    p = argparse.ArgumentParser(prog="ircheck export", description=SUBCOMMANDS["export"] + ".")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--promela", action="store_true", help="Promela for SPIN (safety checks as assertions)")
    kind.add_argument("--dot", action="store_true", help=f"the state graph as Graphviz DOT (<= {DOT_LIMIT} states)")
    p.add_argument("model", metavar="MODEL.irq")
    p.add_argument("--check", action="append", default=None, metavar="NAME[,NAME]")
    p.add_argument("--max-states", type=int, default=None, metavar="N",
                   help="--dot: draw only the first N states of the breadth-first search")
    p.add_argument("--timeout", type=SECONDS, default=None, metavar="S",
                   help="stop the lowering and code generation there (exit 3), as a check's --timeout")
    p.add_argument("--max-memory", type=MEGABYTES, default=None, metavar="MB")
    try:
        args = p.parse_args(list(argv))
        checks = check_names(args.check, p.error)
    except SystemExit as e:
        return 2 if e.code else 0
    limits = Limits(None, args.timeout, args.max_memory or default_memory_limit_mb(),
                    time.perf_counter() + args.timeout if args.timeout else None)
    watch = phase_watch(limits)
    try:
        ts = build(parse_file(args.model), checks, watch)
        if args.promela:
            sys.stdout.write(to_promela(ts))
        else:
            if args.max_states is not None and args.max_states < 1:
                print("ircheck export: error: --max-states must be a positive number", file=sys.stderr)
                return 2
            try:
                g = state_graph(ts, args.max_states or DOT_LIMIT, partial=args.max_states is not None)
            except IrcheckError:
                print(f"ircheck export: error: {shown_path(args.model)} has more than {DOT_LIMIT} states: a picture "
                      f"that large cannot be read. Draw the first N states with `ircheck export --dot --max-states N "
                      f"{shown_path(args.model)}`, or fewer checks with --check", file=sys.stderr)
                return 2
            results, _stats = run_engine(ts, engine="explicit")
            highlight(g, ts, results)
            sys.stdout.write(to_dot(g))
    except IrcheckError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except Stopped as stop:
        print(f"ircheck export: {shown_path(args.model)}: stopped ({stop.reason}), nothing exported", file=sys.stderr)
        return 3
    return 0

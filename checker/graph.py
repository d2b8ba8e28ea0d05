"""`ircheck graph --contexts MODEL.irq [--dot|--mermaid]`: draw who preempts whom and what they share.

The graph itself (what a context is, what it locks, which states show a
preemption) comes from `ircheck.spec.contexts_graph`; this module explores the
reachable states with the explicit engine (every check off, so nothing stops the
search early) and renders the result as text, Graphviz DOT or a Mermaid
flowchart. Only identifiers from the model and our own words reach the output,
quoted for the target syntax.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ircheck.api import build
from ircheck.cli_args import SUBCOMMANDS, graph_command_args
from ircheck.codegen import watching
from ircheck.explicit import Explicit
from ircheck.grammar.diagnostics import IrcheckError, shown_path
from ircheck.grammar.parser import parse_file
from ircheck.limits import Limits, Stopped, phase_watch
from ircheck.spec.contexts_graph import ContextGraph, context_graph
from ircheck.sysinfo import default_memory_limit_mb

GRAPH_MAX_STATES = 500_000
GRAPH_TIMEOUT = 60.0

_SHAPE = {"hardirq": "box", "softirq": "hexagon", "tasklet": "hexagon", "timer": "hexagon", "thread": "ellipse",
          "irq_thread": "ellipse", "work": "ellipse"}


def contexts_of_file(path: str, max_states: int = GRAPH_MAX_STATES, timeout: float = GRAPH_TIMEOUT,
                     max_memory_mb: float | None = None) -> ContextGraph:
    """Parse, lower with no checks, explore, and build the context graph (raises IrcheckError, and
    `limits.Stopped` when --timeout or the memory ceiling stops the lowering or code generation: the
    limits count from the start, as a check's do)."""
    model = parse_file(path)
    limits = Limits(max_states, timeout, max_memory_mb or default_memory_limit_mb(), time.perf_counter() + timeout)
    watch = phase_watch(limits)
    ts = build(model, [], watch)
    with watching(watch.during("code generation").tick):
        eng = Explicit(ts, limits)
    res = eng.run()
    unpack = eng.pk.unpack
    return context_graph(ts, model, (unpack(s) for s in eng.seen), res.complete)


def _note(g: ContextGraph) -> str:
    return f"{g.states:,} states" + ("" if g.complete else ", search stopped early: edges may be missing")


def text(g: ContextGraph, path: str) -> str:
    out = [f"{shown_path(path)}: contexts ({_note(g)})"]
    width = max((len(n.name) for n in g.nodes), default=0)
    for n in g.nodes:
        extra = "".join(f"  {k} {', '.join(v)}" for k, v in (("locks", n.locks), ("data", n.data)) if v)
        where = "on " + ", ".join(f"cpu{c}" for c in n.cpus) if n.cpus else "never runs"
        out.append(f"  {n.name:<{width}}  {n.kind:<10} {where:<14}{extra}".rstrip())
    for kind, head, arrow in (("preempts", "preempts (runs nested over):", "->"),
                              ("parallel", "run in parallel (two CPUs):", "||"),
                              ("shares", "share:", "--")):
        edges = [e for e in g.edges if e.kind == kind]
        if edges:
            out.append(head)
            out += [f"  {e.src} {arrow} {e.dst}" + (f"  ({e.label})" if e.label else "") for e in edges]
    return "\n".join(out) + "\n"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(g: ContextGraph, path: str) -> str:
    ids = {n.name: f"c{i}" for i, n in enumerate(g.nodes)}
    out = ["digraph contexts {", f"  label={_q(shown_path(path) + ': ' + _note(g))}; labelloc=t;",
           "  node [fontname=monospace, fontsize=10]; edge [fontname=monospace, fontsize=9];"]
    for n in g.nodes:
        label = _q(n.name)[:-1] + "\\n" + n.kind + '"'  # name, then the kind on a second line
        out.append(f"  {ids[n.name]} [label={label}, shape={_SHAPE.get(n.kind, 'box')}];")
    for e in g.edges:
        a, b = ids[e.src], ids[e.dst]
        if e.kind == "preempts":
            out.append(f"  {a} -> {b} [label={_q('preempts ' + e.label)}];")
        elif e.kind == "parallel":
            out.append(f"  {a} -> {b} [dir=none, style=dashed, label={_q(e.label or 'parallel')}];")
        else:
            out.append(f"  {a} -> {b} [dir=none, style=bold, color=blue, label={_q(e.label)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mq(s: str) -> str:
    """Mermaid label text: no quotes, brackets or pipes that would end the label."""
    for ch, rep in (('"', "'"), ("|", "/"), ("[", "("), ("]", ")"), ("{", "("), ("}", ")"), (";", ",")):
        s = s.replace(ch, rep)
    return s


def mermaid(g: ContextGraph, path: str) -> str:
    ids = {n.name: f"C{i}" for i, n in enumerate(g.nodes)}
    out = ["flowchart LR", f"    %% {_mq(shown_path(path))}: {_mq(_note(g))}"]
    for n in g.nodes:
        open_, close = ("{{", "}}") if n.kind in ("softirq", "tasklet", "timer") else \
            ("([", "])") if n.kind in ("thread", "irq_thread", "work") else ("[", "]")
        out.append(f'    {ids[n.name]}{open_}"{_mq(n.name)}<br/>{n.kind}"{close}')
    for e in g.edges:
        a, b = ids[e.src], ids[e.dst]
        if e.kind == "preempts":
            out.append(f"    {a} -->|preempts {_mq(e.label)}| {b}")
        elif e.kind == "parallel":
            out.append(f"    {a} -.-|{_mq(e.label or 'parallel')}| {b}")
        else:
            out.append(f"    {a} ===|{_mq(e.label)}| {b}")
    return "\n".join(out) + "\n"


def graph_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="ircheck graph", description=SUBCOMMANDS["graph"] + ".")
    p.add_argument("--contexts", action="store_true", required=True,
                   help="the context graph (the only graph so far)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--dot", action="store_true", help="Graphviz DOT")
    fmt.add_argument("--mermaid", action="store_true", help="a Mermaid flowchart")
    graph_command_args(p, GRAPH_MAX_STATES, GRAPH_TIMEOUT)
    try:
        args = p.parse_args(list(argv))
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        g = contexts_of_file(args.model, args.max_states, args.timeout, args.max_memory)
    except IrcheckError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except Stopped as stop:
        print(f"ircheck graph: {shown_path(args.model)}: stopped ({stop.reason}), no graph drawn", file=sys.stderr)
        return 3
    render = dot if args.dot else mermaid if args.mermaid else text
    sys.stdout.write(render(g, args.model))
    return 0

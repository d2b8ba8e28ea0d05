"""Which contexts can preempt which, which run in parallel, and what they share.

`ircheck graph --contexts` draws this for a model. The facts come from two places:

- **preempts / parallel** from the *reachable states*: context A preempts B when
  some reachable state has A's frame directly above B on one CPU's stack (a
  handler over a thread, a nested handler over a handler, a softirq over a
  thread); A and B run in parallel when some reachable state has both active
  on different CPUs. Reading it off the explored states (rather than from
  static priority, IF and masking rules) means it is exactly what the checks
  saw: an interrupt gate that keeps a handler from nesting, a mask, a lock
  held with `_irqsave`, genirq's one-descriptor rule all show up as a missing
  edge.
- **shares** from the code: the locks each context takes and the `data` it
  reads or writes (called functions included).

This module knows what a context is (spec/context.py's layout names them) and
produces a plain graph; rendering is checker/'s job. The caller supplies the
states (any iterable of unpacked state tuples), so no engine is imported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ircheck.grammar import ast
from ircheck.spec.context import Layout
from ircheck.spec.explain import frames
from ircheck.spec.language import ACQUIRES, DATA_ACCESSES
from ircheck.spec.ts import TransitionSystem

_LOCKS = ACQUIRES       # statements that take a lock (spin and mutex)
_DATA = DATA_ACCESSES   # statements that access shared data


@dataclass(frozen=True)
class ContextNode:
    """One context, named as traces name it (`irq 3 nic_isr`, `softirq net_rx`, `thread app`)."""

    name: str
    kind: str                   # hardirq | softirq | tasklet | timer | thread | irq_thread | work (an hrtimer: hardirq)
    cpus: tuple[int, ...]       # the CPUs it was seen active on
    locks: tuple[str, ...]      # locks its code takes
    data: tuple[str, ...]       # data its code reads or writes


@dataclass(frozen=True)
class ContextEdge:
    """`preempts`: src runs nested directly over dst (label: on which CPUs); `parallel`: both active
    on two CPUs at once (undirected, src < dst); `shares`: both use these locks/data (undirected)."""

    src: str
    dst: str
    kind: str
    label: str


@dataclass
class ContextGraph:
    nodes: list[ContextNode] = field(default_factory=list)
    edges: list[ContextEdge] = field(default_factory=list)
    states: int = 0
    complete: bool = True

    def edge(self, src: str, dst: str, kind: str) -> ContextEdge | None:
        for e in self.edges:
            if e.kind == kind and (e.src, e.dst) == (src, dst):
                return e
            if e.kind != "preempts" and e.kind == kind and (e.dst, e.src) == (src, dst):
                return e
        return None


def _kind(name: str) -> str:
    head = name.split(" ", 1)[0]
    return head if head in ("softirq", "tasklet", "timer", "thread", "irq_thread", "work") else "hardirq"


def _uses(model: ast.Model) -> dict[str, tuple[set[str], set[str]]]:
    """Code name -> (locks taken, data accessed), through `call` (functions are inlined)."""
    codes = {d.name: d for d in model.decls if isinstance(d, ast.Code)}
    memo: dict[str, tuple[set[str], set[str]]] = {}

    def visit(name: str, path: tuple[str, ...]) -> tuple[set[str], set[str]]:
        if name in memo:
            return memo[name]
        locks: set[str] = set()
        data: set[str] = set()
        code = codes.get(name)
        for st in ast.walk(code.body) if code is not None else ():
            if not isinstance(st, ast.Simple) or not isinstance(st.arg, ast.Name):
                continue
            if st.op in _LOCKS:
                locks.add(st.arg.name)
            elif st.op in _DATA:
                data.add(st.arg.name)
            elif st.op == "call" and st.arg.name not in path:
                sub = visit(st.arg.name, path + (name,))
                locks |= sub[0]
                data |= sub[1]
        memo[name] = (locks, data)
        return memo[name]

    for n in codes:
        visit(n, ())
    return memo


def _codes_of(context: str, uses: dict[str, tuple[set[str], set[str]]]) -> list[str]:
    """The code a context runs: the words of its name that are code names (a genirq flow runs every
    action of its line: `irq 3 a_isr, b_isr`)."""
    return [w for w in context.replace(",", " ").split() if w in uses]


def context_graph(ts: TransitionSystem, model: ast.Model, states: Iterable[tuple[int, ...]],
                  complete: bool = True) -> ContextGraph:
    """The contexts of a lowered model, from its reachable states and its code."""
    layout: Layout = ts.meta
    uses = _uses(model)
    flows = {d.handler.name for d in model.decls if isinstance(d, ast.RequestIrq)}
    # never on two CPUs at once, whatever the frames say: a tasklet (D2), a task, and a genirq
    # action (L4: a second CPU's flow handler only marks the IRQ pending)
    single = {name for cpu in layout.cpus for name in cpu.frame_owner + [t for t, _ in cpu.threads]
              if _kind(name) not in ("hardirq", "softirq")
              or _kind(name) == "hardirq" and (codes := _codes_of(name, uses)) and set(codes) <= flows}
    preempts: dict[tuple[str, str], set[int]] = {}
    parallel: set[tuple[str, str]] = set()
    seen_on: dict[str, set[int]] = {}
    n = 0
    for s in states:
        n += 1
        active: list[tuple[int, list[str]]] = []
        for cpu in layout.cpus:
            stack = frames(cpu, s)
            live = [c for c in stack if c != "idle"]
            for c in live:
                seen_on.setdefault(c, set()).add(cpu.index)
            for below, above in zip(stack, stack[1:], strict=False):
                if below != "idle":
                    preempts.setdefault((above, below), set()).add(cpu.index)
            active.append((cpu.index, live))
        for i, (_, here) in enumerate(active):
            for _, there in active[i + 1:]:
                for c1 in here:
                    for c2 in there:
                        if c1 != c2 or c1 not in single:  # one context on two CPUs at once
                            parallel.add((min(c1, c2), max(c1, c2)))
    g = ContextGraph(states=n, complete=complete)
    names = set(seen_on)
    for cpu in layout.cpus:  # contexts that never ran are drawn too (no edges from the states)
        names.update(lab for lab, _ in cpu.threads)
        names.update(o for o in cpu.frame_owner if _codes_of(o, uses))  # not the "-" of free slots
    for name in sorted(names):
        locks: set[str] = set()
        data: set[str] = set()
        for code in _codes_of(name, uses):
            locks |= uses[code][0]
            data |= uses[code][1]
        g.nodes.append(ContextNode(name, _kind(name), tuple(sorted(seen_on.get(name, ()))),
                                   tuple(sorted(locks)), tuple(sorted(data))))
    for (top, under), cpus in sorted(preempts.items()):
        g.edges.append(ContextEdge(top, under, "preempts", ", ".join(f"cpu{c}" for c in sorted(cpus))))
    for one, other in sorted(parallel):
        g.edges.append(ContextEdge(one, other, "parallel", "same context on two CPUs" if one == other else ""))
    for i, x in enumerate(g.nodes):
        for y in g.nodes[i + 1:]:
            both_locks = sorted(set(x.locks) & set(y.locks))
            both_data = sorted(set(x.data) & set(y.data))
            if both_locks or both_data:
                label = "; ".join(p for p in (", ".join(f"lock {v}" for v in both_locks),
                                              ", ".join(f"data {v}" for v in both_data)) if p)
                g.edges.append(ContextEdge(x.name, y.name, "shares", label))
    return g

"""Generate Python source for the successor function of a TransitionSystem.

Why generate code: a state is one int with each variable in a fixed bit
field, and each transition becomes straight-line mask/shift arithmetic, with
no dicts, tuples or interpretation per state. Guards are arranged in a
decision tree on the variables most transitions test for equality (program
counters, nesting depth), so a state only evaluates the few transitions that
can fire in it.

Safety: the generated text contains only our own identifiers (x0, x1, ...,
S0, ...) and integers. No name, string or number from a model reaches it
except as an int literal formatted here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ircheck.edge_log import wanted
from ircheck.spec.expr import (
    BinOp,
    Cond,
    Const,
    Expr,
    LNot,
    Member,
    NAry,
    Ref,
    children,
    conjuncts,
    eq_var_const,
    is_leaf,
)
from ircheck.spec.ts import And, Not, TransitionSystem, variables_of
from ircheck.spec.walker import Visitor

SPILL = 40  # expression levels written inline; deeper parts become helper functions (see `_Gen.helper`)
# transitions per generated successor function: a system with more is split into functions of this many
# consecutive transitions (one context's, mostly), each with its own decision tree, so that no single
# function is compiled from tens of megabytes of text (Python's compiler holds a whole function's tree)
CHUNK = 2000
NEAR = 128  # updates of fields ending above this bit are written as additions, not masks (`update_expr`)
SHARED_SIZE = 16  # a guard conjunct shared by reference and of at least this many nodes is generated once
MEMO_CAP = 1 << 17  # entries a memoized predicate section keeps before it starts afresh (`memo_predicate_fn`)


_TICK: list[Callable[[], None]] = []  # what `compile_ts` calls per transition generated (see `watching`)


@contextmanager
def watching(tick: Callable[[], None]) -> Iterator[None]:
    """Code generated inside the block calls `tick()` once per transition or property generated and
    per function compiled: the caller's limits (`limits.Ticker`) stop a long generation.
    Only the first `compile_ts` of the block is watched (the model's engine, before its search): a
    later one (the unreduced re-search, a coverage confirmation, Houdini's sampler) runs under the
    limits of the engine that started it, which report a stop with what was found so far."""
    _TICK.append(tick)
    try:
        yield
    finally:
        _TICK.pop()


def no_tick() -> None:
    """A tick that watches nothing."""


_no_tick = no_tick


@dataclass
class Packing:
    """Bit layout of packed states: variable i lives at bits off[i] .. off[i]+width[i]-1."""

    off: list[int]
    width: list[int]

    @classmethod
    def of(cls, ts: TransitionSystem) -> Packing:
        off, width, pos = [], [], 0
        for v in ts.vars:
            w = max(1, (v.size - 1).bit_length())
            off.append(pos)
            width.append(w)
            pos += w
        return cls(off, width)

    @property
    def bits(self) -> int:
        return (self.off[-1] + self.width[-1]) if self.off else 0

    def pack(self, values: tuple[int, ...]) -> int:
        s = 0
        for v, o in zip(values, self.off, strict=True):
            s |= v << o
        return s

    def unpack(self, s: int) -> tuple[int, ...]:
        return tuple((s >> o) & ((1 << w) - 1) for o, w in zip(self.off, self.width, strict=True))


class _Gen:
    def __init__(self, ts: TransitionSystem, pk: Packing) -> None:
        self.ts = ts
        self.pk = pk
        self.consts: dict[frozenset[int], str] = {}
        self.lines: list[str] = []
        self.level = 0  # how deeply the expression being written nests (see `helper`)
        self.helpers: dict[tuple[Expr, bool, bool], str] = {}
        self.def_at = 0  # where the function being generated starts in `lines`: helpers go before it
        self.tick: Callable[[], None] = _TICK[-1] if _TICK else _no_tick
        self.namespace: dict[str, Any] = {"__builtins__": {"frozenset": frozenset, "True": True, "len": len}}
        self.compiled_to = 0  # lines[:compiled_to] are compiled into `namespace` already
        self.inline = False  # variables read from `s` where they are used (in a shared helper, see `shared`)
        # guard conjuncts shared by reference between several transitions (id -> expression), each
        # generated once as a function of the state (see `shared_call`), not copied into every guard
        self.shared: dict[int, Expr] = self.find_shared()
        self.shared_names: dict[int, str] = {}
        self.values = _Values(self)  # value-context text of one expression (see `cv`)

    def find_shared(self) -> dict[int, Expr]:
        """The guard conjuncts that several transitions share by reference and that are not small (the
        lowering shares e.g. a CPU's "the current task gives way" among every task switch): copied
        into each guard they would make the generated text grow with transitions x their size."""
        uses: dict[int, int] = {}
        exprs: dict[int, Expr] = {}
        for t in self.ts.transitions:
            for c in self.conjuncts(t.guard):
                if not is_leaf(c) and self.eq_var_const(c) is None:
                    uses[id(c)] = uses.get(id(c), 0) + 1
                    exprs[id(c)] = c
        sizes: dict[int, int] = {}
        return {k: e for k, e in exprs.items() if uses[k] >= 2 and _size(e, sizes, SHARED_SIZE) >= SHARED_SIZE}

    def shared_call(self, c: Expr) -> str:
        """`H<n>(s)`: a module-level function computing the shared conjunct c, reading each variable
        from the packed state where it is used (a decision on the current task reads only what its
        branch needs)."""
        name = self.shared_names.get(id(c))
        if name is None:
            name = self.shared_names[id(c)] = f"H{len(self.shared_names)}"
            saved = self.level, self.inline
            self.level, self.inline = 0, True
            body = self.cb(c)
            self.level, self.inline = saved
            lines = [f"def {name}(s):", f"    return {body}"]
            self.lines[self.def_at:self.def_at] = lines
            self.def_at += len(lines)
        return f"{name}(s)"

    # ---- expressions
    def read(self, i: int, src: str = "s") -> str:
        m = (1 << self.pk.width[i]) - 1
        o = self.pk.off[i]
        return f"({src} & {m})" if o == 0 else f"(({src} >> {o}) & {m})"

    def setname(self, vals: frozenset[int]) -> str:
        if vals not in self.consts:
            self.consts[vals] = f"S{len(self.consts)}"
        return self.consts[vals]

    def cb(self, e: Expr) -> str:
        """Condition context: any truthy Python value."""
        if self.level >= SPILL and not is_leaf(e):
            return self.helper(e, True)
        self.level += 1
        try:
            return self._cb(e)
        finally:
            self.level -= 1

    def cv(self, e: Expr) -> str:
        """Value context: an int (bools from comparisons are ints in Python)."""
        if self.level >= SPILL and not is_leaf(e):
            return self.helper(e, False)
        self.level += 1
        try:
            return self.values.handler(e)(e)  # (not `visit`: one stack frame less per level)
        finally:
            self.level -= 1

    def helper(self, e: Expr, cond: bool) -> str:
        """A call of a module-level function E<n> that computes e (in condition or value context).

        Python's tokenizer refuses more than 200 nested parentheses, and its compiler recurses
        into nested expressions: what nests deeper than SPILL levels in the generated text is
        computed by a function of its own, defined before the function being generated, taking
        the variables it reads. A call is lazy like the operand it replaces (`a and E1(x0)`)."""
        key = (e, cond, self.inline)
        name = self.helpers.get(key)
        args = "s" if self.inline else ", ".join(f"x{vi}" for vi in sorted(variables_of(e)))
        if name is None:
            name = self.helpers[key] = f"E{len(self.helpers)}"
            saved, self.level = self.level, 0
            body = self.cb(e) if cond else self.cv(e)
            self.level = saved
            lines = [f"def {name}({args}):", f"    return {body}"]
            self.lines[self.def_at:self.def_at] = lines
            self.def_at += len(lines)
        return f"{name}({args})"

    def _cb(self, e: Expr) -> str:
        if type(e) is NAry:
            return "(" + f" {e.op.value} ".join(self.cb(a) for a in e.args) + ")"
        if type(e) is LNot:
            return f"(not {self.cb(e.a)})"
        return self.cv(e)

    @staticmethod
    def vars_of(e: Expr, out: set[int]) -> set[int]:
        out |= variables_of(e)
        return out

    # ---- one transition
    def update_expr(self, ti: int) -> str:
        t = self.ts.transitions[ti]
        clear = 0
        const = 0
        parts: list[str] = []
        deltas: list[str] = []
        for vi, e in t.updates:
            o, w = self.pk.off[vi], self.pk.width[vi]
            if o + w > NEAR:
                # a field far up a wide state: s + ((new - old) << o) (the same int: fields are disjoint
                # and hold their values exactly), whose text does not grow with the offset as a mask
                # literal would (thousands of digits per transition for thousands of tasks)
                deltas.append(f"(({self.cv(e)} - {self.read(vi)}) << {o})")
                continue
            clear |= ((1 << w) - 1) << o
            if type(e) is Const:
                const |= e.k << o
            else:
                v = self.cv(e)
                parts.append(v if o == 0 else f"({v} << {o})")
        if not t.updates:
            return "s"
        base = f"(s & {~clear})" if clear else "s"
        if const:
            base = f"{base} | {const}"
        out = " | ".join([base, *parts])
        return " + ".join([f"({out})" if parts or const else out, *deltas]) if deltas else out

    @staticmethod
    def conjuncts(e: Expr) -> list[Expr]:
        return list(conjuncts(e))

    @staticmethod
    def eq_var_const(c: Expr) -> tuple[int, int] | None:
        return eq_var_const(c)

    def open_case(self, ti: int, conj: list[Expr], ind: str, have: set[int]) -> str:
        """The code of one transition up to its successor: the variables it reads that are not read
        yet, `if <guard>:`, and its violation tag. Returns the indent of the body."""
        t = self.ts.transitions[ti]
        need: set[int] = set()
        for c in conj:
            if id(c) not in self.shared:  # a shared conjunct reads its own variables
                self.vars_of(c, need)
        for _vi, e in t.updates:
            self.vars_of(e, need)
        for vi in sorted(need - have):
            self.lines.append(f"{ind}x{vi} = {self.read(vi)}")
            have.add(vi)
        guard = " and ".join(self.shared_call(c) if id(c) in self.shared else self.cb(c) for c in conj) \
            if conj else "True"
        self.lines.append(f"{ind}if {guard}:")
        body = ind + "    "
        if t.violates:
            self.lines.append(f"{body}vio.append({ti})")
        return body

    def emit_leaf(self, items: list[tuple[int, list[Expr]]], ind: str, have: set[int], with_ids: bool) -> None:
        for ti, conj in items:
            self.tick()
            body = self.open_case(ti, conj, ind, have)
            self.lines.append(f"{body}out.append({self.update_expr(ti)})")
            if with_ids:
                self.lines.append(f"{body}tis.append({ti})")
            if self.ts.transitions[ti].group is not None:
                self.lines.append(f"{body}n += 1")

    def emit_tree(self, items: list[tuple[int, list[Expr]]], ind: str, have: set[int], with_ids: bool,
                  depth: int = 0) -> None:
        """Split on the variable that most remaining transitions compare with a constant."""
        counts: dict[int, int] = {}
        for _ti, conj in items:
            seen_here = set()
            for c in conj:
                ev = self.eq_var_const(c)
                if ev and ev[0] not in seen_here:
                    seen_here.add(ev[0])
                    counts[ev[0]] = counts.get(ev[0], 0) + 1
        if not counts or depth > 6 or max(counts.values()) < 3:
            self.emit_leaf(items, ind, have, with_ids)
            return
        var = max(sorted(counts), key=lambda k: counts[k])
        groups: dict[int, list[tuple[int, list[Expr]]]] = {}
        rest: list[tuple[int, list[Expr]]] = []
        for ti, conj in items:
            for c in conj:
                ev = self.eq_var_const(c)
                if ev and ev[0] == var:
                    groups.setdefault(ev[1], []).append((ti, [x for x in conj if x is not c]))
                    break
            else:
                rest.append((ti, conj))
        if var not in have:
            self.lines.append(f"{ind}x{var} = {self.read(var)}")
            have = have | {var}
        self.emit_switch(var, sorted(groups.items()), ind, have, with_ids, depth)
        if rest:
            self.emit_tree(rest, ind, have, with_ids, depth + 1)

    def emit_switch(self, var: int, cases: list[tuple[int, list[tuple[int, list[Expr]]]]], ind: str,
                    have: set[int], with_ids: bool, depth: int) -> None:
        """Binary search over the case values: log2(cases) comparisons per state."""
        if len(cases) <= 3:
            for k, (val, its) in enumerate(cases):
                self.lines.append(f"{ind}{'if' if k == 0 else 'elif'} x{var} == {val}:")
                self.emit_tree(its, ind + "    ", set(have), with_ids, depth + 1)
            return
        mid = len(cases) // 2
        self.lines.append(f"{ind}if x{var} < {cases[mid][0]}:")
        self.emit_switch(var, cases[:mid], ind + "    ", have, with_ids, depth)
        self.lines.append(f"{ind}else:")
        self.emit_switch(var, cases[mid:], ind + "    ", have, with_ids, depth)

    def flush(self) -> None:
        """Compile the functions generated since the last flush (one function at a time keeps the
        compiler's memory to that of the largest function, and lets the limits act in between)."""
        if self.compiled_to < len(self.lines):
            text = "\n".join(self.lines[self.compiled_to:]) + "\n"
            self.compiled_to = len(self.lines)
            exec(compile(text, "<ircheck-generated>", "exec"), self.namespace)  # noqa: S102 - our own code only
            self.tick()

    def successor_fn(self, name: str, with_ids: bool) -> None:
        items = [(ti, self.conjuncts(t.guard)) for ti, t in enumerate(self.ts.transitions)]
        if len(items) <= CHUNK:
            self.tree_fn(name, items, with_ids)
            return
        parts = [f"{name}_{k}" for k in range(0, (len(items) + CHUNK - 1) // CHUNK)]
        for k, part in enumerate(parts):
            self.tree_fn(part, items[k * CHUNK:(k + 1) * CHUNK], with_ids)
        args = "s, out, vio, tis" if with_ids else "s, out, vio"
        self.lines.append(f"def {name}({args}):")
        self.lines.extend(f"    n{k} = {part}({args})" for k, part in enumerate(parts))
        self.lines.append("    return " + " + ".join(f"n{k}" for k in range(len(parts))))
        self.flush()

    def tree_fn(self, name: str, items: list[tuple[int, list[Expr]]], with_ids: bool) -> None:
        self.def_at = len(self.lines)
        self.lines.append(f"def {name}(s, out, vio, tis):" if with_ids else f"def {name}(s, out, vio):")
        self.lines.append("    n = 0")
        self.emit_tree(items, "    ", set(), with_ids)
        self.lines.append("    return n")
        self.flush()

    def predicate_fn(self, name: str, exprs: list[Expr]) -> None:
        """Bit k of the result is set when exprs[k] is FALSE in state s.

        The failures `not exprs[k]` that start with the same conjunct c (a lock's "held", a
        context's "at this statement") share one test of it: `if c:` and, inside, each one's other
        conjuncts. Most states fail c, and then skip the whole group: on gen_kernel 2 2 2 the 32
        waits' `blocked` tests 3 conjuncts where it tested 32. The bits are the same: each is set
        exactly when all the conjuncts of its failure hold."""
        self.def_at = len(self.lines)
        self.lines.append(f"def {name}(s):")
        self.lines.append("    r = 0")
        have: set[int] = set()
        fails = [conjuncts(Not(e)) for e in exprs]
        groups: dict[Expr | int, list[int]] = {}  # first conjunct (or k, alone) -> the failures it opens
        for k, cs in enumerate(fails):
            groups.setdefault(cs[0] if len(cs) > 1 else k, []).append(k)
        for head, ks in groups.items():
            if len(ks) == 1:
                self.tick()
                self._bit(And(*fails[ks[0]]), ks[0], "    ", have)
                continue
            assert not isinstance(head, int)
            self._reads(head, "    ", have)
            self.lines.append(f"    if {self.cb(head)}:")
            inner = set(have)
            for k in ks:
                self.tick()
                self._bit(And(*fails[k][1:]), k, "        ", inner)
        self.lines.append("    return r")
        self.flush()

    def memo_predicate_fn(self, name: str, sections: list[list[Expr]]) -> None:
        """`name(s)`: the bits of `predicate_fn` over the sections' expressions in order, each
        section memoized on the bits of s it reads (`s & mask`, its variables' fields): a state
        whose fields equal a state's seen before gets that state's bits from a dict. The value of an
        expression depends on its variables only, so this is exact. A dict that reaches `MEMO_CAP`
        entries starts afresh (memory stays bounded; a later part of the search fills it again).
        gen_kernel 2 2 2: the properties and waits read 17 variables, and 75k distinct fields cover
        400k states."""
        parts: list[tuple[str, int, int]] = []
        shift = 0
        for k, exprs in enumerate(sections):
            if not exprs:
                continue
            inner = f"{name}_{k}"
            self.predicate_fn(inner, exprs)
            mask = 0
            for vi in set().union(*(self.vars_of(e, set()) for e in exprs)):
                mask |= ((1 << self.pk.width[vi]) - 1) << self.pk.off[vi]
            self.namespace[f"M_{inner}"] = {}
            parts.append((inner, mask, shift))
            shift += len(exprs)
        self.def_at = len(self.lines)
        self.lines += [f"def {name}(s):", "    r = 0"]
        for inner, mask, sh in parts:
            self.lines += [f"    k = s & {mask}", f"    v = M_{inner}.get(k)", "    if v is None:",
                           f"        v = {inner}(s)" + (f" << {sh}" if sh else ""),
                           f"        if len(M_{inner}) >= {MEMO_CAP}:", f"            M_{inner}.clear()",
                           f"        M_{inner}[k] = v", "    r |= v"]
        self.lines.append("    return r")
        self.flush()

    def _reads(self, e: Expr, ind: str, have: set[int]) -> None:
        """Read the variables of e not read yet on this path (`have`)."""
        for vi in sorted(self.vars_of(e, set()) - have):
            self.lines.append(f"{ind}x{vi} = {self.read(vi)}")
            have.add(vi)

    def _bit(self, fail: Expr, k: int, ind: str, have: set[int]) -> None:
        """`r |= 1 << k` when `fail` holds."""
        self._reads(fail, ind, have)
        self.lines.append(f"{ind}if {self.cb(fail)}:")
        self.lines.append(f"{ind}    r |= {1 << k}")

    def bool_fn(self, name: str, e: Expr) -> None:
        self.def_at = len(self.lines)
        self.lines.append(f"def {name}(s):")
        for vi in sorted(self.vars_of(e, set())):
            self.lines.append(f"    x{vi} = {self.read(vi)}")
        self.lines.append(f"    return 1 if {self.cb(e)} else 0")
        self.flush()


def _size(e: Expr, memo: dict[int, int], cap: int) -> int:
    """How many nodes e has, counting a shared subexpression once per use, stopping past cap."""
    got = memo.get(id(e))
    if got is not None:
        return got
    n, work = 0, [e]
    while work and n < cap:
        x = work.pop()
        n += 1
        work.extend(children(x))
    memo[id(e)] = n
    return n


class _Values(Visitor[str]):
    """The Python text of an expression in value context (an int; comparisons give bools, which
    are ints); operands go through `_Gen.cv`/`_Gen.cb`, which spill deep parts into helpers."""

    def __init__(self, gen: _Gen) -> None:
        self.gen = gen

    def visit_const(self, e: Const) -> str:
        return str(int(e.k))

    def visit_ref(self, e: Ref) -> str:
        return self.gen.read(e.i) if self.gen.inline else f"x{e.i}"

    def visit_not_(self, e: LNot) -> str:
        return f"(1 if {self.gen.cb(e)} else 0)"

    def visit_nary(self, e: NAry) -> str:
        return f"(1 if {self.gen.cb(e)} else 0)"

    def visit_member(self, e: Member) -> str:
        return f"({self.gen.cv(e.a)} in {self.gen.setname(e.values)})"

    def visit_cond(self, e: Cond) -> str:
        return f"({self.gen.cv(e.a)} if {self.gen.cb(e.c)} else {self.gen.cv(e.b)})"

    def visit_binop(self, e: BinOp) -> str:
        return f"({self.gen.cv(e.a)} {e.op.value} {self.gen.cv(e.b)})"


@dataclass
class Compiled:
    """The generated functions, and the source they came from (kept for debugging)."""

    succ: Any
    succ_ids: Any
    props: Any
    unfinished: Any
    pending: list[Any]
    source: str
    blocked: Any = None  # bit k set: ts.waits[k] is blocked in the state
    marks: Any = None  # props | blocked << len(state_props) | pending requests << (len(state_props) + len(waits))


def compile_ts(ts: TransitionSystem, pk: Packing) -> Compiled:
    g = _Gen(ts, pk)
    g.successor_fn("succ", False)
    g.successor_fn("succ_ids", True)
    # the state predicates once in the source: with a graph analysis to feed, `marks` (below) holds
    # them all and `props`/`blocked` read its bits; else `props` and `blocked` are their own
    logged = wanted(ts)
    if not logged:
        g.predicate_fn("props", [p.ok for p in ts.state_props])
        g.predicate_fn("blocked", [Not(w.blocked) for w in ts.waits])
    g.bool_fn("unfinished", ts.unfinished)
    for k, r in enumerate(ts.requests):
        g.bool_fn(f"pending{k}", r.pending)
    if logged:  # the three at once for the search's edge log (checker/edge_log.py): props' bits, then
        # the waits', then the requests' - one call and one read of each variable a new state
        # (memoized: the properties and waits on the fields they read, the requests on theirs)
        g.memo_predicate_fn("marks", [[p.ok for p in ts.state_props] + [Not(w.blocked) for w in ts.waits],
                                      [Not(r.pending) for r in ts.requests]])
    header = [f"{name} = frozenset({sorted(vals)!r})" for vals, name in g.consts.items()]
    namespace = g.namespace  # the functions, compiled one by one (`_Gen.flush`); the sets they read last
    exec(compile("\n".join(header) + "\n", "<ircheck-generated>", "exec"), namespace)  # noqa: S102 - our own code
    source = "\n".join(header + g.lines) + "\n"
    if _TICK:  # one generation per `watching` block (see there)
        _TICK[-1] = _no_tick
    props, blocked, marks = namespace.get("props"), namespace.get("blocked"), namespace.get("marks")
    if marks is not None:
        props, blocked = _bits(marks, 0, len(ts.state_props)), _bits(marks, len(ts.state_props), len(ts.waits))
    return Compiled(namespace["succ"], namespace["succ_ids"], props, namespace["unfinished"],
                    [namespace[f"pending{k}"] for k in range(len(ts.requests))], source, blocked, marks)


def _bits(marks: Callable[[int], int], shift: int, n: int) -> Callable[[int], int]:
    """Bits shift..shift+n-1 of `marks` (the state props', or the waits'), as a predicate function."""
    mask = (1 << n) - 1

    def bits(s: int) -> int:
        return (marks(s) >> shift) & mask
    return bits

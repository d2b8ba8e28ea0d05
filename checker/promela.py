"""Export a TransitionSystem as Promela, so SPIN can check the very same system.

One process runs a `do` loop with one `d_step` per transition (guard, then
the simultaneous updates through temporaries). Safety checks become
assertions: a transition that breaks a selected check asserts false when it
fires; a state property is asserted after every step and in the initial
state. A state where nothing can fire is a valid end state unless some context
is unfinished, in which case `no_deadlock` asserts false there. Liveness
(`no_starvation`, `no_lost_wakeup`: they need ircheck's per-transition
fairness) is not exported, nor `lockdep`, which is judged over the set of all
reachable usages rather than on one run; the header says so.

Only our own identifiers (v0, v1, ...) and integers are emitted; model names
appear in comments after sanitising.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ircheck.grammar.diagnostics import Diagnostic, IrcheckError
from ircheck.spec.checks import DEADLOCK_CHECK, EXPORTED
from ircheck.spec.expr import BinOp, Cond, Const, LNot, Member, NAry, Op, Ref, children
from ircheck.spec.ts import FALSE, Expr, Not, TransitionSystem, bounds, fold_ranges
from ircheck.spec.walker import Fold

SAFETY_EXPORTED = EXPORTED  # the catalogue's exported checks (spec/checks.py)


def _comment(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.,:;()\[\]<>=+\- ]", "_", text)[:100]


class _Text(Fold[str]):
    """Promela text of an expression (`c -> a : b` for a conditional, `||` of `==` for membership)."""

    def fold_const(self, e: Const) -> str:
        return str(int(e.k))

    def fold_ref(self, e: Ref) -> str:
        return f"v{e.i}"

    def fold_not_(self, e: LNot, a: str) -> str:
        return f"(!{a})"

    def fold_nary(self, e: NAry, args: Sequence[str]) -> str:
        return "(" + (" && " if e.op is Op.AND else " || ").join(args) + ")"

    def fold_binop(self, e: BinOp, a: str, b: str) -> str:
        return f"({a} {e.op.value} {b})"

    def fold_member(self, e: Member, a: str) -> str:
        return "(" + " || ".join(f"{a} == {k}" for k in sorted(e.values)) + ")"

    def fold_cond(self, e: Cond, c: str, a: str, b: str) -> str:
        return f"({c} -> {a} : {b})"


_TEXT = _Text()


def _e(e: Expr) -> str:
    return _TEXT.fold(e)


def _type(size: int) -> str:
    if size <= 2:
        return "bit"
    if size <= 256:
        return "byte"
    if size <= 32768:
        return "short"
    return "int"


INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # Promela's int: every expression is evaluated in it


def _int32(ts: TransitionSystem) -> TransitionSystem:
    """`ts` with every expression as SPIN must see it: Promela computes in a 32-bit int, where
    2147483648 is negative and 4294967297 is 1, so an export that kept such a constant would change
    the model and SPIN's verdict would lie. Comparisons the variables' ranges decide become 0/1 and
    constants of sums are added up (`ts.fold_ranges`: equal in every state within the domains);
    an expression that still leaves the 32-bit range is refused with IRQ903 at its line."""
    sizes = [v.size for v in ts.vars]
    folded: dict[Expr, Expr] = {}
    rng: dict[Expr, tuple[int, int]] = {}

    def fit(e: Expr, line: int) -> Expr:
        f = fold_ranges(e, sizes, folded)
        lo, hi = bounds(f, sizes, rng)
        if lo < INT_MIN or hi > INT_MAX or _wide(f, sizes, rng):
            _refuse(ts, e, line)
        return f

    def fit_all(obj: Any, line: int) -> Any:  # every expression field of a dataclass (guards, waits, ...)
        new = {f.name: fit(getattr(obj, f.name), line) for f in dataclasses.fields(obj) if str(f.type) == "Expr"}
        return dataclasses.replace(obj, **new) if new else obj

    trans = [dataclasses.replace(fit_all(t, t.label.line), updates=tuple((vi, fit(e, t.label.line))
                                                                       for vi, e in t.updates))
             for t in ts.transitions]
    return dataclasses.replace(ts, transitions=trans, state_props=[fit_all(p, p.line) for p in ts.state_props],
                               requests=[fit_all(r, r.line) for r in ts.requests],
                               waits=[fit_all(w, getattr(w, "line", 0)) for w in ts.waits],
                               unfinished=fit(ts.unfinished, 0))


def _wide(e: Expr, sizes: list[int], rng: dict[Expr, tuple[int, int]]) -> bool:
    """Some subexpression of e may leave the 32-bit range."""
    work = [e]
    while work:
        x = work.pop()
        lo, hi = bounds(x, sizes, rng)
        if lo < INT_MIN or hi > INT_MAX:
            return True
        work.extend(children(x))
    return False


def _refuse(ts: TransitionSystem, e: Expr, line: int) -> None:
    """IRQ903 naming the widest constant of e, at its line (and column, when the source is at hand)."""
    consts: list[int] = []
    work = [e]
    while work:
        x = work.pop()
        if type(x) is Const:
            consts.append(x.k)
        else:
            work.extend(children(x))
    k = max(consts, key=abs, default=0)
    path = getattr(ts.meta, "path", "") or "<string>"
    col = 0
    try:
        text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1] if line > 0 else ""
        m = re.search(rf"(?<![0-9A-Za-z_]){k}(?![0-9A-Za-z_])", text) or re.search(r"\d{10,}", text)
        col = m.start() + 1 if m else 0
    except (OSError, IndexError, UnicodeDecodeError):
        pass
    raise IrcheckError([Diagnostic(
        "IRQ903", f"the constant {k} does not fit SPIN's 32-bit int here, and the variables' ranges do not "
        "decide the expression it is in: the Promela export would change its meaning", path, line, col,
        "ircheck --engine explicit or --engine smt check it exactly; SPIN cannot")])


def to_promela(ts: TransitionSystem) -> str:
    ts = _int32(ts)
    checks = set(ts.checks)
    out = ["/* generated by ircheck export --promela; checks: " + ", ".join(
        c for c in ts.checks if c in SAFETY_EXPORTED) + " */"]
    skipped = [c for c in ts.checks if c not in SAFETY_EXPORTED]
    if skipped:
        out.append("/* not exported (liveness under ircheck's fairness, or lockdep's judgement over all reachable "
                   "usages): " + ", ".join(skipped) + " */")
    for i, v in enumerate(ts.vars):
        out.append(f"{_type(v.size)} v{i} = {v.init};  /* {_comment(v.name)} */")
    width = max((len(t.updates) for t in ts.transitions), default=0)
    if width:  # temporaries for simultaneous updates; hidden: not part of SPIN's state vector
        out.append("hidden int " + ", ".join(f"t{k}" for k in range(width)) + ";")
    props = [p for p in ts.state_props if p.check in checks and p.check in SAFETY_EXPORTED]
    oks = [_e(p.ok) for p in props]
    if DEADLOCK_CHECK in checks and ts.waits:  # a context blocked for ever: the part a state shows alone
        oks += [_e(Not(w.surely)) for w in ts.waits if w.surely != FALSE]
        out.append(f"/* {DEADLOCK_CHECK}: exported are every CPU stuck with work unfinished, and a context blocked on a "
                   "lock that a finished thread, a circular wait or such a chain holds; a context blocked for ever "
                   "otherwise (a holder asleep for ever, an IRQ that never becomes idle) is judged by ircheck "
                   "only */")
    ok = " && ".join(oks)
    out.append("")
    if ok:  # checked in every state, the initial one too, and written once: the claim moves in lockstep
        out.append("never {  /* the exported state properties: SPIN's invariant claim */")
        out.append(f"  do :: assert({ok}) od")
        out.append("}")
        out.append("")
    out.append("active proctype system() {")
    out.append("end:")
    out.append("  do")
    for ti, t in enumerate(ts.transitions):
        body: list[str] = []
        for k, (_vi, e) in enumerate(t.updates):
            body.append(f"t{k} = {_e(e)}")
        for k, (vi, _e2) in enumerate(t.updates):
            body.append(f"v{vi} = t{k}")
        for check, _msg in t.violates:
            if check in checks and check in SAFETY_EXPORTED:
                body.append("assert(false)")
                break
        stmts = "; ".join(body) if body else "skip"
        out.append(f"  :: d_step {{ {_e(t.guard)} -> {stmts} }}  /* {ti}: {_comment(t.label.actor + ': ' + t.label.action)} */")
    if DEADLOCK_CHECK in checks:
        out.append(f"  :: else -> assert(!{_e(ts.unfinished)}); break")
    else:
        out.append("  :: else -> break")
    out.append("  od")
    out.append("}")
    return "\n".join(out) + "\n"

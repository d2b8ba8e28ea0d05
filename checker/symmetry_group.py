"""The verified symmetry group as the searches and the graph analyses use it.

`checker/symmetry.py` verifies the lowering's proposals (generators); here they are closed into a
group (at most MAX_GROUP elements) whose every element acts on four things at once: packed states
(variables moved, values renamed), transitions, waits (`ts.waits`) and liveness requests
(`ts.requests`) - the last two only when every generator maps them onto themselves
(`Verified.waits`/`requests`).

`canon(s)` is the smallest packed state of s's orbit; `canon_el(s)` also says which element g made
it (g(s) = canon(s); -1: the identity). The analyses on the quotient graph (checker/liveness.py)
need g: a stored representative r has the concrete successors t of r, stored as g(t), and a
property of t that names a wait or a request w is the property of g(t) that names g(w)
(`Quotient.pull` for a mask of waits, `Quotient.request`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ircheck.codegen import Packing
from ircheck.spec.ts import Symmetry, TransitionSystem
from ircheck.symmetry import MAX_GROUP, Verified, verify

State = tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]  # (perm, value map per variable or ())
Maps = tuple[tuple[int, ...], tuple[int, ...] | None, tuple[int, ...] | None]  # transitions, waits, requests


@dataclass(frozen=True)
class Element:
    """One group element: variable i's value v moves to variable perm[i] as vals[i][v]; transition
    ti maps to trans[ti], wait w to waits[w], request k to requests[k] (None: not mapped)."""

    state: State
    trans: tuple[int, ...]
    waits: tuple[int, ...] | None
    requests: tuple[int, ...] | None


def _after(h: tuple[int, ...] | None, g: tuple[int, ...] | None) -> tuple[int, ...] | None:
    return None if h is None or g is None else tuple(h[x] for x in g)


def _compose(h: Element, g: Element) -> Element:
    """h after g."""
    (hp, hv), (gp, gv) = h.state, g.state
    perm = tuple(hp[gp[i]] for i in range(len(gp)))
    vals = []
    for i in range(len(gp)):
        a, b = gv[i], hv[gp[i]]
        vals.append(tuple(b[x] for x in a) if a and b else a or b)
    norm = tuple(() if v and v == tuple(range(len(v))) else v for v in vals)  # identity value maps as ()
    trans = _after(h.trans, g.trans)
    assert trans is not None
    return Element((perm, norm), trans, _after(h.waits, g.waits), _after(h.requests, g.requests))


def _generator(ts: TransitionSystem, sym: Symmetry, image: list[int], waits: tuple[int, ...] | None,
               requests: tuple[int, ...] | None) -> Element:
    n = len(ts.vars)
    vals = tuple(sym.value_map(i) for i in range(n))
    return Element((sym.perm, tuple(() if v and v == tuple(range(len(v))) else v for v in vals)),
                   tuple(image), waits, requests)


def closure(gens: list[Element]) -> list[Element]:
    """Every element of the group the generators generate but the identity (cut at MAX_GROUP: then
    `len(...) + 1 == MAX_GROUP`; the order is fixed). Two products with the same action on states
    are one element (the first kept)."""
    n, m = len(gens[0].state[0]), len(gens[0].trans)
    ident = Element((tuple(range(n)), tuple(() for _ in range(n))), tuple(range(m)),
                    None if gens[0].waits is None else tuple(range(len(gens[0].waits))),
                    None if gens[0].requests is None else tuple(range(len(gens[0].requests))))
    if any(g.waits is None for g in gens):
        ident = Element(ident.state, ident.trans, None, ident.requests)
    if any(g.requests is None for g in gens):
        ident = Element(ident.state, ident.trans, ident.waits, None)
    group: dict[State, Element] = {ident.state: ident}
    todo = [ident]
    while todo and len(group) < MAX_GROUP:
        g = todo.pop()
        for h in gens:
            gh = _compose(h, g)
            if gh.state not in group:
                group[gh.state] = gh
                todo.append(gh)
    del group[ident.state]
    return [group[k] for k in sorted(group)]


Move = tuple[int, int, int, tuple[int, ...]]  # (source offset, mask, target offset, value map or ())


def _moves(e: State, pk: Packing) -> list[Move]:
    """The bit moves of one element; runs of variables that move together without value maps are
    merged into one shift (a CPU's block of variables moves as one)."""
    perm, vals = e
    out: list[Move] = []
    for i in range(len(perm)):
        if perm[i] == i and not vals[i]:
            continue
        src, w, dst = pk.off[i], pk.width[i], pk.off[perm[i]]
        if out and not vals[i] and not out[-1][3]:
            s0, m0, d0, _ = out[-1]
            wid = m0.bit_length()
            if s0 + wid == src and d0 + wid == dst:
                out[-1] = (s0, (1 << (wid + w)) - 1, d0, ())
                continue
        out.append((src, (1 << w) - 1, dst, vals[i]))
    return out


@dataclass
class Quotient:
    """The group of a model's verified symmetries, ready for a search and its analyses."""

    elements: list[Element]
    canon: Callable[[int], int]                  # s -> the smallest state of its orbit
    canon_el: Callable[[int], tuple[int, int]]   # s -> (canon(s), index of the element that made it, -1: none)
    canon_log: Callable[[list[int], Any], list[int]]  # (out, els) -> [canon(s) for s in out], each element's index appended to els
    waits: bool                                  # every element maps the waits (deadlock may be judged)
    requests: bool                               # every element maps the requests (liveness may be judged)
    why_not: dict[str, str]

    @property
    def whole(self) -> bool:
        """The elements are the whole group (not cut at MAX_GROUP)."""
        return len(self.elements) + 1 < MAX_GROUP

    def pull(self, mask: int, el: int) -> int:
        """The waits blocked in t, given `mask`, those blocked in g(t) (g = element el): bit w of
        the result is bit g(w) of mask."""
        if el < 0 or not mask:
            return mask
        img = self.elements[el].waits
        assert img is not None
        out = 0
        for w, gw in enumerate(img):
            if (mask >> gw) & 1:
                out |= 1 << w
        return out

    def request(self, k: int, el: int) -> int:
        """Request k of t is request g(k) of g(t) (g = element el)."""
        if el < 0:
            return k
        img = self.elements[el].requests
        assert img is not None
        return img[k]


def quotient(ts: TransitionSystem, pk: Packing, ver: Verified | None = None) -> tuple[Quotient | None, str]:
    """The model's symmetry group with its canonical-state functions, or None and why not."""
    if not ts.symmetries:
        return None, "the model declares no symmetric components"
    ver = verify(ts) if ver is None else ver
    if not ver.syms:
        why = "; ".join(ver.refused[:3])
        return None, "the declared symmetries do not map the model onto itself" + (f" ({why})" if why else "")
    gens = [_generator(ts, s, img, w, r) for s, img, w, r in zip(ver.syms, ver.images, ver.waits, ver.requests,
                                                                  strict=True)]
    elems = closure(gens)
    lines = ["def canon_el(s):", "    best = s", "    k = -1"]
    tables: dict[str, tuple[int, ...]] = {}
    for k, mv in enumerate(_moves(e.state, pk) for e in elems):
        clear = 0
        parts = []
        mv = sorted(mv, key=lambda move: -move[2])  # the highest destination first
        for src, m, dst, vm in mv:
            clear |= m << dst
            if vm:
                name = f"T{len(tables)}"
                tables[name] = vm
                parts.append(f"{name}[(s >> {src}) & {m}]")
            else:
                parts.append(f"((s >> {src}) & {m})")
        image = " | ".join(f"({p} << {dst})" for p, (_s, _m, dst, _v) in zip(parts, mv, strict=True))
        body = [f"t = (s & {~clear}) | " + (image or "0"), "if t < best:", "    best = t", f"    k = {k}"]
        if mv:
            # g(s) < best needs g(s)'s bits from the highest destination up to be <= best's: the
            # bits above that move are s's own, the move's are parts[0]. Most images fail this
            # test (7% pass on gen_kernel 2 2 2's successors), and it costs a fraction of g(s).
            _src, m0, dst0, _vm = mv[0]
            top = parts[0] if dst0 + m0.bit_length() >= pk.bits else f"((s >> {dst0}) & {~m0}) | {parts[0]}"
            body = [f"if {top} <= best >> {dst0}:"] + ["    " + ln for ln in body]
        lines += ["    " + ln for ln in body]
    lines.append("    return best, k")
    # the same straight-line function without the element, for the search's hot loop
    plain = [ln.replace("def canon_el", "def canon") for ln in lines if ln.strip() not in ("k = -1",)
             and not ln.strip().startswith("k = ")]
    plain[-1] = "    return best"
    # and over a list of successors, each one's element appended to `els` (the search's edge log,
    # checker/edge_log.py): one call a state instead of one a successor
    logged = ["def canon_log(out, els):", "    res = []", "    for s in out:"] + ["    " + ln for ln in lines[1:-1]]
    logged += ["        els.append(k)", "        res.append(best)", "    return res"]
    namespace: dict[str, object] = dict(tables)
    # one straight-line function per group: no loop over the moves (our own code only)
    exec(compile("\n".join(lines + plain + logged) + "\n", "<ircheck-symmetry>", "exec"), namespace)  # noqa: S102
    canon, canon_el, canon_log = namespace["canon"], namespace["canon_el"], namespace["canon_log"]
    assert callable(canon) and callable(canon_el) and callable(canon_log)
    return Quotient(elems, canon, canon_el, canon_log, all(e.waits is not None for e in elems),
                    all(e.requests is not None for e in elems), dict(ver.why_not)), ""

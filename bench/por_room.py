"""How much room a POR that keeps deadlock and liveness would have (issue 18 item 1), measured:
python bench/por_room.py [MODEL.irq ...]   (default: gen_kernel 2 1 1 and 2 2 1, then models/*.irq)

A reduction that keeps `no_deadlock` (a wait blocked in every continuation: EF AG blocked, a
branching-time property) and the weakly fair liveness checks may expand a state s by one step t
alone only when t is the whole ample set (a singleton: the branching condition C4 of Gerth, Kuiper,
Peled and Penczek, which makes the reduced graph stuttering bisimilar to the full one) and t is
invisible to every label those checks read: the enabled state properties, every wait's `blocked`,
every request's `pending`, `unfinished`, and t delivers or recurs no request and carries no tag of an
enabled check. This script counts, on the unreduced graph, the states where some CPU group is
closed (checker/por.py `closed`: no other context can interfere with it) and has exactly one enabled
step, invisible in that sense, while other steps are enabled too - an upper bound on the states such
a POR could skip a branch at (whether fairness allows it is a further question).

Per model: the graph checks, states, such states and their share; first the transitions that are
invisible and why the others are not (tag, delivery, property, wait, pending, unfinished).

Since then (ninth session) such a POR is built without the singleton condition: checker/por.py's
docstring proves that ample sets of a whole closed CPU group keep both checks when the waits and
requests are visible, steps without a fairness group of their CPU are visible and pending states
are expanded in full (checker/por_graph.py). What it saves is measured in bench/README.md ("POR under
deadlock and liveness checks"); this script still shows why most steps of the kernel family are
visible.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_kernel import kernel_family  # noqa: E402

from ircheck.api import compile_source  # noqa: E402
from ircheck.explicit import Explicit  # noqa: E402
from ircheck.limits import Limits  # noqa: E402
from ircheck.por import por_tables  # noqa: E402
from ircheck.por_visibility import changes, mask_of, rw_sets, target_checks  # noqa: E402
from ircheck.reduce_plan import full_graph_checks  # noqa: E402
from ircheck.spec.ts import Expr, TransitionSystem, variables_of  # noqa: E402

MAX_STATES = 200_000


def why_visible(ts: TransitionSystem) -> list[tuple[str, ...]]:
    """For each transition, the reasons it is visible to the default checks' labels (empty: invisible)."""
    rws = rw_sets(ts)
    checks = set(ts.checks)
    labels: dict[str, list[Expr]] = {
        "property": [p.ok for p in ts.state_props if p.check in checks],
        "wait": [w.blocked for w in ts.waits],
        "pending": [r.pending for r in ts.requests],
        "unfinished": [ts.unfinished],
    }
    special: set[int] = set()
    for r in ts.requests:
        special |= r.delivers | r.recurs
    targets = target_checks(ts)
    out: list[tuple[str, ...]] = []
    for i, t in enumerate(ts.transitions):
        why: list[str] = []
        if any(c in targets for c, _m in t.violates):
            why.append("tag")
        if i in special:
            why.append("delivery")
        for name, exprs in labels.items():
            if any(rws[i].writes & mask_of(variables_of(e)) and changes(e, t.guard, t.updates) for e in exprs):
                why.append(name)
        out.append(tuple(why))
    return out


def room(name: str, text: str) -> None:
    ts = compile_source(text, name)
    eng = Explicit(ts, Limits(max_states=MAX_STATES))
    eng.keep_edges = False
    res = eng.run()
    tables = por_tables(ts, eng.pk)
    why = why_visible(ts)
    gidx = {g: k for k, g in enumerate(tables.groups)}
    single = states = 0
    for s in eng.seen:
        states += 1
        out: list[int] = []
        tis: list[int] = []
        eng.code.succ_ids(s, out, [], tis)
        if len(tis) < 2:
            continue
        by: dict[int, list[int]] = collections.defaultdict(list)
        for ti in tis:
            g = ts.transitions[ti].group
            by[gidx[g] if g is not None else -1].append(ti)
        for g, steps in by.items():
            closed = tables.closed[g] if g >= 0 else None
            if closed is not None and closed(s) and len(steps) == 1 and not why[steps[0]]:
                single += 1
                break
    graph = ",".join(full_graph_checks(ts)) or "-"
    done = "" if res.complete else f" (first {MAX_STATES:,} states)"
    print(f"{name}: graph checks {graph}; {states:,} states{done}, {single:,} with a singleton "
          f"candidate ({100 * single / max(states, 1):.1f}%); transitions {len(why)}, invisible "
          f"{sum(1 for w in why if not w)}")


def main(argv: list[str]) -> None:
    if argv:
        for path in argv:
            room(path, Path(path).read_text())
        return
    for size in ((2, 1, 1), (2, 2, 1)):
        text = kernel_family(*size)
        label = "gen_kernel {} {} {}".format(*size)
        ts = compile_source(text, label)
        reasons = collections.Counter(why_visible(ts))
        print(f"{label}: why its transitions are visible:",
              ", ".join(f"{'+'.join(k) or 'invisible'} {n}" for k, n in reasons.most_common()))
        room(label, text)
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "models").glob("*.irq")):
        room(path.name, path.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])

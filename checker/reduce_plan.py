"""Which reductions a run uses: `--reduction`'s text, and `plan`, which keeps those sound and useful
for one TransitionSystem and its enabled checks (the reasons are in checker/reduce.py's docstring):
merging only while every enabled check is a safety check, POR for every check (with deadlock or
liveness checks under further conditions: checker/por.py), symmetry for every check whose needs the
verified group meets (`symmetry_blockers`). A plan names what will run and says why any
reduction asked for does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ircheck.codegen import Packing
from ircheck.por import PorTables, por_tables
from ircheck.spec.checks import DEADLOCK_CHECK, on_graph
from ircheck.spec.ts import TransitionSystem
from ircheck.symmetry import verify
from ircheck.symmetry_group import Quotient, quotient

REDUCTIONS = ("por", "merge", "symmetry")
CHOICES = ("all", "none", *REDUCTIONS)
DEFAULT = "por,symmetry"  # merge saves memory but costs time (bench/README.md)


def parse_reduction(text: str | None) -> frozenset[str]:
    """"all", "none", or a comma list of `REDUCTIONS` (e.g. "por,merge")."""
    parts = {p.strip() for p in (text or DEFAULT).split(",") if p.strip()}
    if not parts or parts == {"none"}:
        return frozenset()
    if "all" in parts:
        parts = (parts - {"all"}) | set(REDUCTIONS)
    bad = sorted(parts - set(REDUCTIONS))
    if bad or "none" in parts:
        raise ValueError(f"unknown reduction {', '.join(bad) or 'none'} (choose from {', '.join(CHOICES)}; "
                         "'none' stands alone)")
    return frozenset(parts)


@dataclass
class Plan:
    """The reductions that will run (in `REDUCTIONS` order) and, when some asked for do not, why."""

    applied: tuple[str, ...] = ()
    note: str = ""
    tables: PorTables | None = None
    canon: Callable[[int], int] | None = None
    # symmetry: a fact transition -> its orbit of transitions (their facts are recorded together)
    fact_orbit: dict[int, list[int]] | None = None
    # symmetry: the verified group
    quotient: Quotient | None = None
    # deadlock or liveness checks: the plain BFS and its analyses run with the reductions applied
    # (POR's tables built with `graph=True`, the symmetry quotient)
    graph: bool = False


def full_graph_checks(ts: TransitionSystem) -> list[str]:
    """The enabled checks judged on the whole state graph (deadlock, liveness requests)."""
    live = on_graph(ts.checks) | {r.check for r in ts.requests}
    return [c for c in ts.checks if c in live]


def symmetry_blockers(ts: TransitionSystem, quo: Quotient) -> list[str]:
    """The enabled checks the symmetry quotient `quo` does not decide (checker/reduce.py's docstring):
    deadlock when the group does not map the waits onto themselves, a check with liveness requests
    when it does not map the requests (with the fairness groups) onto themselves."""
    off: set[str] = set()
    if DEADLOCK_CHECK in ts.checks and ts.waits and not quo.waits:
        off.add(DEADLOCK_CHECK)
    if not quo.requests:
        off |= {r.check for r in ts.requests}
    return [c for c in ts.checks if c in off]


def plan(ts: TransitionSystem, wanted: frozenset[str], workers: int = 1, store: str = "dict") -> Plan:
    if not wanted:
        return Plan()
    if workers > 1 or store != "dict":
        return Plan(note="reductions off: --workers and --store compact/hash search the full graph")
    pk = Packing.of(ts)
    out = Plan()
    notes: list[str] = []
    graph = full_graph_checks(ts)
    if graph and "merge" in wanted:  # POR and symmetry keep deadlocks and liveness, merging does not
        notes.append(f"merge: off while {', '.join(graph)} is judged on the state graph")
    if "por" in wanted:
        tables = por_tables(ts, pk, graph=bool(graph))
        if tables.useful:
            out.tables = tables
        else:
            notes.append("por: no CPU's steps are ever independent of the others")
    if "symmetry" in wanted:
        ver = verify(ts)
        quo, why = quotient(ts, pk, ver)
        blockers = symmetry_blockers(ts, quo) if quo is not None else []
        if quo is None:
            notes.append(f"symmetry: {why}")
        elif blockers:
            reason = "; ".join(quo.why_not.values())
            notes.append(f"symmetry: {', '.join(blockers)} is not preserved by the symmetry quotient ({reason})")
        else:
            out.canon = quo.canon
            out.quotient = quo
            out.fact_orbit = {ti: ver.orbit(ti) for ti, t in enumerate(ts.transitions)
                              if any(c == ts.fact_check for c, _m in t.violates)}
    applied = []
    for r in REDUCTIONS:
        if r == "por" and out.tables is not None or r == "symmetry" and out.canon is not None or \
                r == "merge" and "merge" in wanted and not graph:
            applied.append(r)
    out.applied = tuple(applied)
    out.graph = bool(graph) and bool(applied)
    if graph and not applied:
        # why the symmetry quotient does not serve, when the model declares symmetric components
        notes = [f"reductions off: {', '.join(graph)} is judged on the full state graph"] + \
            [n for n in notes if n.startswith("symmetry:") and ts.symmetries or n.startswith("por:")]
    out.note = "; ".join(notes)
    return out

"""lockdep's rules (K4, K5) judged over every reachable usage, and its way of telling them.

The lowering tags each lock acquisition with facts (see `TransitionSystem.judge`): the keys of
`tags.UseFact` (a lock's usage: IN-HARDIRQ, HARDIRQ-ON, IN-SOFTIRQ, SOFTIRQ-ON) and `tags.DepFact`
(a lock acquired while another is held), read back with `tags.parse_fact`. The engine reports
every fact some reachable state enables; this module finds the rule a set of facts
breaks, like lockdep does from the usages it has seen - except that "seen" here
means reachable on any interleaving, not only on the runs that happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ircheck.spec.tags import DepFact, UseFact, parse_fact
from ircheck.spec.ts import FactViolation

CHECK = "lockdep"


@dataclass(frozen=True)
class Usage:
    lock: str
    usage: str
    line: int
    who: str
    key: str
    rank: int  # discovery order: a fact found earlier has a shallower witness


@dataclass(frozen=True)
class Dep:
    held: str
    taken: str
    line: int
    who: str
    key: str
    rank: int


def _parse(facts: Sequence[str] | AbstractSet[str]) -> tuple[list[Usage], list[Dep]]:
    """Usages and dependencies in discovery order (a set has none: sorted, for a stable answer)."""
    ordered = sorted(facts) if isinstance(facts, AbstractSet) else list(facts)
    uses: list[Usage] = []
    deps: list[Dep] = []
    for rank, key in enumerate(ordered):
        fact = parse_fact(key)
        if isinstance(fact, UseFact):
            uses.append(Usage(fact.lock, fact.usage, fact.line, fact.who, key, rank))
        elif isinstance(fact, DepFact):
            deps.append(Dep(fact.held, fact.taken, fact.line, fact.who, key, rank))
    return uses, deps


def _irq_scenario(lock: str, irq: str) -> str:
    return (" Possible unsafe locking scenario:\n\n"
            "       CPU0\n"
            "       ----\n"
            f"  lock({lock});\n"
            f"  <{irq}>\n"
            f"    lock({lock});\n\n"
            " *** DEADLOCK ***")


def _abba_scenario(a: str, b: str) -> str:
    return (" Possible unsafe locking scenario:\n\n"
            "       CPU0                    CPU1\n"
            "       ----                    ----\n"
            f"  lock({a});\n"
            f"{'':28}lock({b});\n"
            f"{'':28}lock({a});\n"
            f"  lock({b});\n\n"
            " *** DEADLOCK ***")


def _safe_unsafe_scenario(safe: str, unsafe: str, irq: str) -> str:
    return (" Possible interrupt unsafe locking scenario:\n\n"
            "       CPU0                    CPU1\n"
            "       ----                    ----\n"
            f"  lock({unsafe});\n"
            f"{'':28}local_irq_disable();\n"
            f"{'':28}lock({safe});\n"
            f"{'':28}lock({unsafe});\n"
            f"  <{irq}>\n"
            f"    lock({safe});\n\n"
            " *** DEADLOCK ***")


def _cycle(deps: list[Dep]) -> list[Dep]:
    """A shortest cycle in the held -> taken graph, as the dependencies around it, ending with the one
    found last. Among the shortest, the one complete soonest in the search (the smallest latest
    discovery rank), so the witness is the shallowest and no name decides which cycle is shown."""
    edges: dict[str, list[Dep]] = {}
    for d in deps:  # discovery order
        edges.setdefault(d.held, []).append(d)
    best: list[Dep] = []
    for start in edges:
        prev: dict[str, Dep] = {}
        frontier = [start]
        found: Dep | None = None
        while frontier and found is None:
            nxt: list[str] = []
            for lk in frontier:
                for d in edges.get(lk, []):
                    if d.taken == start:
                        found = d
                        break
                    if d.taken not in prev:
                        prev[d.taken] = d
                        nxt.append(d.taken)
                if found is not None:
                    break
            frontier = nxt
        if found is None:
            continue
        path = [found]
        while path[0].held != start:
            path.insert(0, prev[path[0].held])
        if not best or (len(path), max(d.rank for d in path)) < (len(best), max(d.rank for d in best)):
            best = path
    if best:  # rotate: the dependency that closes the cycle last is the witness, at the end
        last = max(range(len(best)), key=lambda i: best[i].rank)
        best = best[last + 1:] + best[:last + 1]
    return best


PAIRS = (("IN-HARDIRQ", "HARDIRQ-ON", "Interrupt", "hardirq"), ("IN-SOFTIRQ", "SOFTIRQ-ON", "SoftIRQ", "softirq"))


def judge(facts: Sequence[str] | AbstractSet[str]) -> list[FactViolation]:
    """The lockdep reports a set of reachable usages earns, most basic rule first. `facts` in the
    order the search found them (shallowest witness first) picks, among equal reports, the one
    the search can show soonest."""
    uses, deps = _parse(facts)
    out: list[FactViolation] = []
    for inside, on, irq, word in PAIRS:  # K4: inconsistent usage of one lock
        pairs = [(x, u) for u in uses if u.usage == on for x in uses if x.lock == u.lock and x.usage == inside]
        if pairs:  # the witness is the usage with IRQs on, the earliest the search found
            x, u = min(pairs, key=lambda p: (p[1].rank, p[0].rank))
            msg = (f"inconsistent {{{inside}-W}} -> {{{on}-W}} usage: {u.lock} is taken in {word} context at line "
                   f"{x.line} ({x.who}) and with {word}s enabled at line {u.line} ({u.who}); a {word} on the "
                   f"CPU that holds it spins for ever.\n{_irq_scenario(u.lock, irq)}")
            out.append(FactViolation(CHECK, msg, u.key, u.line))
    out += _nmi_usage(uses)
    cycle = _cycle(deps)  # K5: a lock order cycle (ABBA, or longer)
    if cycle:
        steps = "; ".join(f"{d.who} takes {d.taken} while holding {d.held} (line {d.line})" for d in cycle)
        head = cycle[0]
        msg = f"possible circular locking dependency: {steps}.\n{_abba_scenario(head.held, head.taken)}"
        out.append(FactViolation(CHECK, msg, cycle[-1].key, cycle[-1].line))
    for inside, on, irq, word in PAIRS:  # K5: irq-safe -> irq-unsafe dependency, over paths
        safe: dict[str, Usage] = {}
        unsafe: dict[str, Usage] = {}
        for u in uses:  # the first usage of each kind per lock
            if u.usage == inside:
                safe.setdefault(u.lock, u)
            elif u.usage == on:
                unsafe.setdefault(u.lock, u)
        chain = _safe_to_unsafe(deps, safe, unsafe)
        if chain:
            first, last = chain[0], chain[-1]
            u = unsafe[last.taken]
            steps = "; ".join(f"{d.who} takes {d.taken} while holding {d.held} (line {d.line})" for d in chain)
            names = " --> ".join([first.held] + [d.taken for d in chain])
            told = f"Chain exists of:\n  {names}\n\n" if len(chain) > 1 else ""
            msg = (f"{word.upper()}-safe -> {word.upper()}-unsafe lock order detected: "
                   + (f"the dependency chain {names}: " if len(chain) > 1 else "")
                   + f"{steps}; {first.held} is taken in {word} context, {last.taken} with "
                   f"{word}s enabled at line {u.line} ({u.who}).\n{told}"
                   f"{_safe_unsafe_scenario(first.held, last.taken, irq)}")
            witness = max(chain, key=lambda d: d.rank)
            out.append(FactViolation(CHECK, msg, witness.key, witness.line))
    return out


def _nmi_usage(uses: list[Usage]) -> list[FactViolation]:
    """K4, NMI (lockdep.c `verify_lock_unused`, `print_usage_bug(.., LOCK_USED, LOCK_USAGE_STATES)`):
    a lock taken in NMI context that is used outside NMI context at all. NMIs cannot be masked, so
    no lock is NMI-safe: the NMI may arrive while the same CPU holds it. The pair complete soonest in
    the search; its later usage is the witness."""
    out: list[FactViolation] = []
    pairs = [(n, u) for n in uses if n.usage == "IN-NMI" for u in uses if u.lock == n.lock and u.usage == "USED"]
    if pairs:
        n, u = min(pairs, key=lambda p: (max(p[0].rank, p[1].rank), p[0].rank, p[1].rank))
        w = n if n.rank > u.rank else u
        msg = (f"inconsistent {{INITIAL USE}} -> {{IN-NMI}} usage: {n.lock} is taken in NMI context at line "
               f"{n.line} ({n.who}) and used outside NMI context at line {u.line} ({u.who}); an NMI cannot be "
               f"masked, so it can arrive while this CPU holds {n.lock} and spin for ever.\n"
               f"{_irq_scenario(n.lock, 'NMI')}")
        out.append(FactViolation(CHECK, msg, w.key, w.line))
    return out


def _safe_to_unsafe(deps: list[Dep], safe: dict[str, Usage], unsafe: dict[str, Usage]) -> list[Dep]:
    """K5 over paths (lockdep.c `check_irq_usage`: a backward BFS from the new dependency's source finds
    the irq-safe locks behind it, a forward BFS from its target the irq-unsafe ones ahead): a chain of
    dependencies from an irq-safe lock to an irq-unsafe lock that is not itself irq-safe (that one is
    K4's). The chain complete soonest in the search (its latest dependency the earliest found: a
    direct edge found first stays the answer), shortest among those; [] when there is none."""
    for k in range(len(deps)):  # deps in discovery order: the first prefix that holds a chain
        chain = _shortest_chain(deps[:k + 1], safe, unsafe)
        if chain:
            return chain
    return []


def _shortest_chain(deps: list[Dep], safe: dict[str, Usage], unsafe: dict[str, Usage]) -> list[Dep]:
    """A shortest held -> taken path from a lock in `safe` to one in `unsafe` but not in `safe`
    (BFS from every safe lock at once, edges in discovery order), as its dependencies."""
    edges: dict[str, list[Dep]] = {}
    for d in deps:
        edges.setdefault(d.held, []).append(d)
    prev: dict[str, Dep | None] = {lk: None for lk in safe}
    frontier = list(safe)
    while frontier:
        nxt: list[str] = []
        for lk in frontier:
            for d in edges.get(lk, []):
                if d.taken in prev:
                    continue
                prev[d.taken] = d
                if d.taken in unsafe:
                    path = [d]
                    back = prev[d.held]
                    while back is not None:
                        path.insert(0, back)
                        back = prev[back.held]
                    return path
                nxt.append(d.taken)
        frontier = nxt
    return []

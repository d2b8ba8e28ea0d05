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
    how: str = ""  # "" exclusive to exclusive, else lockdep-design's `xy` (E, N, R)


def _strong(prev: Dep | None, d: Dep) -> bool:
    """`prev` then `d` is a strong path (lockdep-design.rst, "Recursive read locks"; lockdep.c
    `bfs_next`/`__bfs` with `only_xr`): no `-(*R)->` followed by `-(S*)->`, i.e. a lock reached by
    a recursive read is not left from a read of it."""
    return prev is None or not (prev.how[1:] == "R" and d.how[:1] in ("N", "R"))


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
            deps.append(Dep(fact.held, fact.taken, fact.line, fact.who, key, rank, fact.how))
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
    """A shortest strong cycle in the held -> taken graph (K5: lockdep reports a circle of dependencies
    only if it is strong, `_strong`, around the wrap too), as the dependencies around it, ending with
    the one found last. Among the shortest, the one complete soonest in the search (the smallest
    latest discovery rank), so the witness is the shallowest and no name decides which cycle is shown."""
    edges: dict[str, list[Dep]] = {}
    for d in deps:  # discovery order
        edges.setdefault(d.held, []).append(d)
    best: list[Dep] = []
    for start in edges:
        # BFS over (lock, reached by a recursive read?): the two states allow different next edges
        seen: set[tuple[str, bool]] = {(start, False)}
        frontier: list[list[Dep]] = [[]]
        found: list[Dep] = []
        while frontier and not found:
            nxt: list[list[Dep]] = []
            for path in frontier:
                came = path[-1] if path else None
                for d in edges.get(path[-1].taken if path else start, []):
                    if not _strong(came, d):
                        continue
                    if d.taken == start:
                        if _strong(d, (path + [d])[0]):  # the wrap: the cycle is strong all round
                            found = path + [d]
                            break
                        continue
                    key = (d.taken, d.how[1:] == "R")
                    if key not in seen:
                        seen.add(key)
                        nxt.append(path + [d])
                if found:
                    break
            frontier = nxt
        if not found:
            continue
        path = found
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
        elif (read := _read_inconsistency(uses, inside, on, irq, word)) is not None:
            out.append(read)
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
        for u in uses:  # the first usage of each kind per lock; a read in IRQ context makes a lock safe
            if u.usage in (inside, inside + "-R"):  # too (LOCKF_USED_IN_IRQ_READ), only a write with IRQs
                safe.setdefault(u.lock, u)          # on makes it unsafe (`exclusive_mask`: LOCK_ENABLED_*)
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


def _read_inconsistency(uses: list[Usage], inside: str, on: str, irq: str, word: str) -> FactViolation | None:
    """K4 with readers (lockdep.c `mark_lock_irq`: `valid_state(.., excl_bit)` and, for a write only,
    `excl_bit + LOCK_USAGE_READ_MASK`): an IN usage and an ON usage of one lock conflict unless both
    are reads - a lock read in hardirq context and read with hardirqs on is fine (the reader in the
    IRQ is recursive, R1), written on either side it is not. Told as lockdep does, the usage found
    first -> the later one (`print_usage_bug`: {prev} -> {new}); the later one is the witness.
    Write/write pairs are the caller's."""
    def name(u: Usage) -> str:
        return u.usage if u.usage.endswith("-R") else u.usage + "-W"
    pairs = [(x, u) for u in uses if u.usage in (on, on + "-R") for x in uses
             if x.lock == u.lock and x.usage in (inside, inside + "-R") and "-R" in x.usage + u.usage
             and not (x.usage.endswith("-R") and u.usage.endswith("-R"))]
    if not pairs:
        return None
    x, u = min(pairs, key=lambda p: (max(p[0].rank, p[1].rank), min(p[0].rank, p[1].rank)))
    first, later = (x, u) if x.rank < u.rank else (u, x)
    how = {True: "read", False: "written"}
    msg = (f"inconsistent {{{name(first)}}} -> {{{name(later)}}} usage: {u.lock} is {how[x.usage.endswith('-R')]} in "
           f"{word} context at line {x.line} ({x.who}) and {how[u.usage.endswith('-R')]} with {word}s enabled at "
           f"line {u.line} ({u.who}); a {word} on the CPU that holds it spins for ever (readers may share it, "
           f"a writer excludes them).\n{_irq_scenario(u.lock, irq)}")
    return FactViolation(CHECK, msg, later.key, later.line)


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

"""lockdep's rules (K4, K5) judged over every reachable usage, and its way of telling them.

The lowering tags each lock acquisition with facts (see `TransitionSystem.judge`):
`use|LOCK|USAGE|LINE|WHO` (USAGE: IN-HARDIRQ, HARDIRQ-ON, IN-SOFTIRQ, SOFTIRQ-ON) and
`dep|HELD|TAKEN|LINE|WHO` (TAKEN acquired while HELD is held). The engine reports
every fact some reachable state enables; this module finds the rule a set of facts
breaks, like lockdep does from the usages it has seen - except that "seen" here
means reachable on any interleaving, not only on the runs that happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from ircheck.spec.ts import FactViolation

CHECK = "lockdep"


@dataclass(frozen=True)
class Usage:
    lock: str
    usage: str
    line: int
    who: str
    key: str


@dataclass(frozen=True)
class Dep:
    held: str
    taken: str
    line: int
    who: str
    key: str


def _parse(facts: frozenset[str]) -> tuple[list[Usage], list[Dep]]:
    uses: list[Usage] = []
    deps: list[Dep] = []
    for key in sorted(facts):
        parts = key.split("|")
        if parts[0] == "use" and len(parts) == 5:
            uses.append(Usage(parts[1], parts[2], int(parts[3]), parts[4], key))
        elif parts[0] == "dep" and len(parts) == 5:
            deps.append(Dep(parts[1], parts[2], int(parts[3]), parts[4], key))
    uses.sort(key=lambda u: (u.line, u.key))
    deps.sort(key=lambda d: (d.line, d.key))
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
    """A shortest cycle in the held -> taken graph (the first by line), as the dependencies around it."""
    edges: dict[str, list[Dep]] = {}
    for d in deps:
        edges.setdefault(d.held, []).append(d)
    best: list[Dep] = []
    for start in sorted(edges):
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
        if not best or len(path) < len(best):
            best = path
    return best


PAIRS = (("IN-HARDIRQ", "HARDIRQ-ON", "Interrupt", "hardirq"), ("IN-SOFTIRQ", "SOFTIRQ-ON", "SoftIRQ", "softirq"))


def judge(facts: frozenset[str]) -> list[FactViolation]:
    """The lockdep reports a set of reachable usages earns, most basic rule first."""
    uses, deps = _parse(facts)
    out: list[FactViolation] = []
    for inside, on, irq, word in PAIRS:  # K4: inconsistent usage of one lock
        for u in uses:
            if u.usage != on:
                continue
            first = next((x for x in uses if x.lock == u.lock and x.usage == inside), None)
            if first is None:
                continue
            msg = (f"inconsistent {{{inside}-W}} -> {{{on}-W}} usage: {u.lock} is taken in {word} context at line "
                   f"{first.line} ({first.who}) and with {word}s enabled at line {u.line} ({u.who}); a {word} on the "
                   f"CPU that holds it spins for ever.\n{_irq_scenario(u.lock, irq)}")
            out.append(FactViolation(CHECK, msg, u.key, u.line))
            break
    cycle = _cycle(deps)  # K5: a lock order cycle (ABBA, or longer)
    if cycle:
        steps = "; ".join(f"{d.who} takes {d.taken} while holding {d.held} (line {d.line})" for d in cycle)
        head = cycle[0]
        msg = f"possible circular locking dependency: {steps}.\n{_abba_scenario(head.held, head.taken)}"
        out.append(FactViolation(CHECK, msg, cycle[-1].key, cycle[-1].line))
    for inside, on, irq, word in PAIRS:  # K5: irq-safe -> irq-unsafe dependency
        safe = {u.lock for u in uses if u.usage == inside}
        unsafe = {u.lock: u for u in reversed(uses) if u.usage == on}
        for d in deps:
            if d.held in safe and d.taken in unsafe and d.taken not in safe:
                u = unsafe[d.taken]
                msg = (f"{word.upper()}-safe -> {word.upper()}-unsafe lock order detected: {d.who} takes {d.taken} "
                       f"while holding {d.held} (line {d.line}); {d.held} is taken in {word} context, {d.taken} with "
                       f"{word}s enabled at line {u.line} ({u.who}).\n{_safe_unsafe_scenario(d.held, d.taken, irq)}")
                out.append(FactViolation(CHECK, msg, d.key, d.line))
                break
    return out

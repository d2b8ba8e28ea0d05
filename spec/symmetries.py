"""Symmetry proposals (`TransitionSystem.symmetries`): what the lowering believes is interchangeable.

Two kinds, each a swap of two components (adjacent pairs: they generate every permutation of a
class of alike components):

* identical devices: devices declared alike (same line, trigger, budget, ...) but for their names
  swap their budget variables;
* two CPUs with everything pinned to them: cpuA's variables swap with cpuB's, the i-th task pinned
  to A with the i-th pinned to B, the i-th device whose affinity is A with the i-th whose affinity
  is B; variables whose values name contexts or CPUs (a lock's owner "cpu0 frame 2", a tasklet's
  "scheduled on cpu1") have those values renamed, and so have the CPU and fairness groups;

Identical contexts are swapped where they are interchangeable: identical threads on two CPUs swap
with their CPUs (above). Two identical tasks on one CPU are not proposed: this model's scheduler is
not symmetric in them - the first declared runs first and gives way to the next in declaration
order (cpuN.cur) - so the checker would refuse every such swap (tests/checker/test_symmetry.py shows
it), after a renaming of the whole system each (quadratic on a design of 10,000 threads).

A proposal is a renaming of names: whole words of variable names, enum value names and group names
(cpu0 <-> cpu1, app0 <-> app1; `renaming`). Nothing here is trusted: checker/symmetry.py verifies that the
renaming maps the whole system onto itself and drops what it does not (different handlers by
dev_id, threads that differ, an 8259A wired to one CPU only, ...). Proposals are few (MAX_PROPOSALS
in the checker), each verified in one pass over the system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ircheck.spec.context import Task
from ircheck.spec.model import Model
from ircheck.spec.ts import Symmetry, Transition, Var

PROPOSALS = 16  # at most this many proposals (the checker verifies at most as many)


def swap_words(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The involution that swaps each pair of words."""
    out: dict[str, str] = {}
    for a, b in pairs:
        if a != b:
            out[a], out[b] = b, a
    return out


def renamer(words: dict[str, str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w]){'(?:' + alt + ')'}(?![\w])")


def renaming(vars_: Sequence[Var], trans: Sequence[Transition], words: dict[str, str],
             what: str) -> Symmetry | None:
    """The symmetry that renames the words of variable names, enum value names and groups; None if
    some renamed variable name does not exist."""
    pat = renamer(words)
    if pat is None:
        return None

    def sub(s: str) -> str:
        return pat.sub(lambda mo: words[mo.group(0)], s)
    index = {v.name: i for i, v in enumerate(vars_)}
    perm: list[int] = []
    values: list[tuple[int, ...]] = []
    for v in vars_:
        j = index.get(sub(v.name))
        if j is None:
            return None
        perm.append(j)
        sigma: tuple[int, ...] = ()
        if v.kind == "enum" and v.names:
            target = vars_[j].names
            renamed = [sub(nm) for nm in v.names]
            if renamed != list(v.names) and len(set(target)) == len(target) and set(renamed) == set(target):
                sigma = tuple(target.index(nm) for nm in renamed)
        values.append(sigma)
    if len(set(perm)) != len(perm):
        return None
    names = {t.group for t in trans if t.group is not None} | {g for t in trans for g in t.fair}
    groups = tuple(sorted((g, sub(g)) for g in names if sub(g) != g))
    return Symmetry(tuple(perm), tuple(values) if any(values) else (), groups, what)


def device_symmetries(m: Model) -> list[Symmetry]:
    """Devices declared alike but for their names swap their budget variables."""
    alike: dict[tuple[object, ...], list[int]] = {}
    for dev in m.d.devices.values():
        vi = m.left.get(dev.name)
        if vi is not None:
            key = (dev.pic, dev.input, dev.level, dev.raises, dev.shared, dev.kind, dev.may_drop, dev.cpu,
                   dev.on_kick)
            alike.setdefault(key, []).append(vi)
    out: list[Symmetry] = []
    for vis in alike.values():
        for a, b in zip(vis, vis[1:], strict=False):
            perm = list(range(len(m.b.vars)))
            perm[a], perm[b] = b, a
            out.append(Symmetry(tuple(perm), what=f"{m.b.vars[a].name} <-> {m.b.vars[b].name}"))
    return out


def _shape(t: Task) -> tuple[object, ...]:
    """What two tasks must share to be proposed as identical (the checker verifies the rest)."""
    return (t.code.kind, len(t.body.nodes), tuple(type(n).__name__ for n in t.body.nodes))


def cpu_symmetries(m: Model) -> list[Symmetry]:
    """cpuA <-> cpuA+1 with the tasks and devices pinned to each, paired in declaration order."""
    out: list[Symmetry] = []
    for a in range(m.d.cpus - 1):
        b = a + 1
        ta = [t for t in m.tasks if t.cpu == a]
        tb = [t for t in m.tasks if t.cpu == b]
        da = [d.name for d in m.d.devices.values() if d.cpu == a]
        db = [d.name for d in m.d.devices.values() if d.cpu == b]
        if len(ta) != len(tb) or len(da) != len(db) or any(_shape(x) != _shape(y) for x, y in zip(ta, tb, strict=True)):
            continue
        pairs = [(f"cpu{a}", f"cpu{b}")] + [(x.code.name, y.code.name) for x, y in zip(ta, tb, strict=True)]
        sym = renaming(m.b.vars, m.b.trans, swap_words(pairs + list(zip(da, db, strict=True))),
                       f"cpu{a} <-> cpu{b}")
        if sym is not None:
            out.append(sym)
    return out


def symmetries(m: Model) -> list[Symmetry]:
    """Every proposal, devices first, then CPUs; at most PROPOSALS."""
    return (device_symmetries(m) + cpu_symmetries(m))[:PROPOSALS]

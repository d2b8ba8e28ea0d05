"""The explicit engine's default store: every reached state once, with the state it was first
reached from, exact for any width; wide states are kept collapsed (checker/collapse.py).

- Ids. States get dense ids in BFS order (the initial state is 0); `parents` (32-bit ids) holds the
  id of the state k was first reached from (`ROOT` for the initial state). A BFS level is a range of
  ids, so a frontier is read back from the store (`states(lo, hi)`). No Python object per state.
- States. A store starts *packed*: `arena` holds state k's packed bits as `width` = ceil(bits/8)
  little-endian bytes at k * width. States of up to `collapse.PACKED_MAX` (28) bytes stay packed:
  their store keeps under 50 bytes a state as it is, and packed is the faster. For wider ones, at
  `plan_at` states (`collapse.PLAN_AT`, 65,536), `collapse.plan` chooses components on the
  states stored so far; if keeping their indices saves at least `collapse.MIN_SAVING` bytes a
  state, every state moves to the `Collapse` columns (one column of 1-4 byte indices per
  component: gen_kernel 2 2 2's 162-bit states would take 7 bytes, were they wider than
  PACKED_MAX) and the store stays *collapsed*. Otherwise it stays packed.
  Either way a stored state is compared bit for bit.
- Visited set: open addressing with linear probing over `slots` (32-bit: id + 1, 0 empty).
  A state's hash h is `hash(packed bytes) % P` (P a prime below 2^30), kept by id in `hashes`
  (32-bit) - a hash of the state, however it is kept, so the switch leaves the table as it is; its
  home slot is `h % cap`. A lookup compares the hash of the id in the slot, then the state (the
  arena's bytes, or `Collapse.same`): the set is exact (a shared hash only makes a longer probe),
  never a hash compaction. Every number the probe loop touches is below 2^30, so it stays on
  CPython's fast single-digit arithmetic.
- Growth: at load 0.7 `slots` is dropped and rebuilt 1.5 times as large from `hashes` (ids in
  order), so the old and new tables never coexist: 4 bytes a slot, 5.7 to 8.6 bytes a state, plus
  4 for the hash, 4 for the parent and the state's own bytes or indices, with no transient.

- The level being built: after `new_level()`, the states added since are also kept in a dict,
  state -> id (`level`), which `add` looks in first. A BFS successor already stored is nearly always
  one of the next level's, reached again from another parent (gen_kernel 2 2 2: 1,413,155 of the
  1,511,168 successors found stored): the dict answers those at C speed, where the table costs the
  state's bytes, their hash and a probe. It holds one level, and goes with the next `new_level()`;
  after a level of `LEVEL_CAP` (2^20) states or more, the next goes without it.

The store is a `MutableMapping` state -> parent state (None for the initial state) iterated in BFS
order, like the dict it replaces, so the analyses (checker/liveness.py, coverage.py) read it as
they read a dict; `add` is the search's fast path, `path_to` the counterexamples'.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, MutableMapping

from ircheck import collapse
from ircheck.collapse import Collapse, plan

ROOT = 0xFFFFFFFF          # the initial state's parent id
MAX_IDS = (1 << 30) - 2    # ids + 1 stay single-digit ints (see the module docstring)
LOAD = 0.7
P = 1073741789             # the largest prime below 2^30
_INITIAL = 1 << 14
LEVEL_CAP = 1 << 20         # a level this wide or wider is followed by one without the dict (`new_level`)
_CHUNK = 1 << 14            # ids a collapsed `states` copies out of the columns at a time


class StoreFull(MemoryError):
    """More than MAX_IDS states."""


class StateStore(MutableMapping[int, "int | None"]):
    """States of `bits` bits with their BFS parents (see the module docstring); `plan_at`: the
    states stored before compression is considered (None: never; -1: `collapse.PLAN_AT` as it is
    when the store is made for states wider than `collapse.PACKED_MAX` bytes, else never)."""

    def __init__(self, bits: int, capacity: int = _INITIAL, plan_at: int | None = -1) -> None:
        self.bits = bits
        self.width = max(1, -(-bits // 8))
        if plan_at == -1:
            plan_at = collapse.PLAN_AT if self.width > collapse.PACKED_MAX else None
        self.plan_at = plan_at
        self._reset(capacity)

    def _reset(self, capacity: int) -> None:
        self.arena = bytearray()
        self.parents = array("I")
        self.hashes = array("I")
        self.n = 0
        self.level: dict[int, int] | None = None  # the states added since `new_level`, by id
        self._level_start = 0  # the first id of the level `new_level` started
        self.codec: Collapse | None = None
        self.planned = self.plan_at is None
        self._table(max(capacity, 16))

    def _table(self, cap: int) -> None:
        self.slots = array("I")  # the old table is dropped before the new one is made
        self.cap = cap
        self.slots = array("I", bytes(4 * cap))
        self._due()

    def _due(self) -> None:
        """`grow_at`: where `add` calls `_grow` - the table's load limit, or the plan before it."""
        self.grow_at = int(self.cap * LOAD)
        if not self.planned and self.plan_at is not None:
            self.grow_at = max(self.n + 1, min(self.grow_at, self.plan_at))

    # ---- the fast path
    def new_level(self) -> None:
        """From now on, keep the states `add` stores in `level` too, for the lookups of the level
        they form (the previous level's are dropped) - unless the level just built had
        `LEVEL_CAP` states or more: the dict costs about 110 bytes a state of its level, so a
        wider one goes without (the table alone answers, as it does for every older level)."""
        width = self.n - self._level_start
        self._level_start = self.n
        self.level = {} if width < LEVEL_CAP else None

    def add(self, out: list[int], parent: int, ids: array[int] | None = None) -> list[int]:
        """Store the states of `out` not stored yet, with parent id `parent`, in order; return them.
        `ids`: if given, the id of every state of `out` (stored before or now) is appended to it."""
        if self.codec is None:
            return self._add_packed(out, parent, ids)
        return self._add_collapsed(out, parent, [], ids)

    def _add_packed(self, out: list[int], parent: int, ids: array[int] | None) -> list[int]:
        new: list[int] = []
        w_ = self.width
        arena, parents, slots, hashes = self.arena, self.parents, self.slots, self.hashes
        cap, n, grow_at = self.cap, self.n, self.grow_at
        tobytes, level = int.to_bytes, self.level
        for t in out:
            if level is not None:
                x = level.get(t)
                if x is not None:
                    if ids is not None:
                        ids.append(x)
                    continue
            tb = tobytes(t, w_, "little")
            h = hash(tb) % P
            i = h % cap
            x = slots[i]
            while x:
                if hashes[x - 1] == h:
                    o = (x - 1) * w_
                    if arena[o:o + w_] == tb:
                        break
                i += 1
                if i == cap:
                    i = 0
                x = slots[i]
            if x:
                if ids is not None:
                    ids.append(x - 1)
                continue
            if level is not None:
                level[t] = n
            n += 1
            slots[i] = n
            hashes.append(h)
            arena += tb
            parents.append(parent)
            new.append(t)
            if ids is not None:
                ids.append(n - 1)
            if n >= grow_at:
                self.n = n
                self._grow()
                if self.codec is not None:  # collapsed from here on (t is the first new one of its kind in out)
                    return self._add_collapsed(out[out.index(t) + 1:], parent, new, ids)
                slots, cap, grow_at = self.slots, self.cap, self.grow_at
        self.n = n
        return new

    def _add_collapsed(self, out: list[int], parent: int, new: list[int], ids: array[int] | None) -> list[int]:
        codec = self.codec
        assert codec is not None
        w_, same, append = self.width, codec.same, codec.append
        parents, slots, hashes = self.parents, self.slots, self.hashes
        cap, n, grow_at = self.cap, self.n, self.grow_at
        tobytes, level = int.to_bytes, self.level
        for t in out:
            if level is not None:
                x = level.get(t)
                if x is not None:
                    if ids is not None:
                        ids.append(x)
                    continue
            h = hash(tobytes(t, w_, "little")) % P
            i = h % cap
            x = slots[i]
            while x:
                if hashes[x - 1] == h and same(x - 1, t):
                    break
                i += 1
                if i == cap:
                    i = 0
                x = slots[i]
            if x:
                if ids is not None:
                    ids.append(x - 1)
                continue
            append(t)
            if level is not None:
                level[t] = n
            n += 1
            slots[i] = n
            hashes.append(h)
            parents.append(parent)
            new.append(t)
            if ids is not None:
                ids.append(n - 1)
            if n >= grow_at:
                self.n = n
                self._grow()
                slots, cap, grow_at = self.slots, self.cap, self.grow_at
        self.n = n
        return new

    def id_of(self, t: int) -> int:
        """The id of state t, -1 if it is not stored."""
        w_, codec = self.width, self.codec
        tb = t.to_bytes(w_, "little")
        h = hash(tb) % P
        cap, slots, hashes, arena, n = self.cap, self.slots, self.hashes, self.arena, self.n
        i = h % cap
        while True:
            x = slots[i]
            if not x:
                return -1
            if x <= n and hashes[x - 1] == h:
                if codec is not None:
                    if codec.same(x - 1, t):
                        return x - 1
                elif arena[(x - 1) * w_:x * w_] == tb:
                    return x - 1
            i += 1
            if i == cap:
                i = 0

    def state_of(self, k: int) -> int:
        if self.codec is not None:
            return self.codec.decode(k)
        o = k * self.width
        return int.from_bytes(self.arena[o:o + self.width], "little")

    def parent_of(self, k: int) -> int | None:
        """The id of the state k was first reached from, None for the initial state."""
        p = self.parents[k]
        return None if p == ROOT else p

    def states(self, lo: int = 0, hi: int | None = None) -> Iterator[int]:
        """The states of ids lo..hi-1 (a BFS level, or all), in id order. The search adds while it
        reads a level: a packed level is read from the arena it started in (the switch to collapsed
        records leaves that one as it is), a collapsed one in chunks of `_CHUNK` ids."""
        end = self.n if hi is None else hi
        codec = self.codec
        if codec is None:
            w_, arena = self.width, self.arena
            frm = int.from_bytes
            for o in range(lo * w_, end * w_, w_):
                yield frm(arena[o:o + w_], "little")
            return
        rows = codec.rows
        for k in range(lo, end, _CHUNK):
            yield from rows(k, min(end, k + _CHUNK))

    def path_to(self, t: int) -> list[int]:
        """The BFS path from the initial state to t (a stored state), both included."""
        k = self.id_of(t)
        if k < 0:
            raise KeyError(t)
        ids = [k]
        parents = self.parents
        p = parents[k]
        while p != ROOT:
            ids.append(p)
            p = parents[p]
        return [self.state_of(j) for j in reversed(ids)]

    def truncate(self, n: int) -> None:
        """Keep the first n states (--max-states): the later ids stay in the table but
        `id_of` ignores them; the store is not added to afterwards."""
        if n < self.n:
            self.n = n
            self.level = None
            del self.arena[n * self.width:]
            if self.codec is not None:
                self.codec.truncate(n)
            del self.parents[n:]
            del self.hashes[n:]

    def table_bytes(self) -> int:
        return 4 * self.cap

    def transient_bytes(self) -> int:
        """What a collapsed store may allocate at once while the old copy still lives, at any
        moment (`limits.Watch` adds it to the peak it foresees): a column widened to the next index
        type (`Collapse._new`: the new column, twice the old one's bytes), and a component table's
        dict resized (its new hash table: about 100 bytes an entry, the largest table). A packed
        store has no such step (its table's rebuild is `table_bytes`). Either way the level's dict
        (`level`) may be resized: a table about twice its present one."""
        grow = 2 * sys.getsizeof(self.level) if self.level else 0
        c = self.codec
        if c is None:
            return grow
        return grow + 2 * max((len(col) * col.itemsize for col in c.cols), default=0) + \
            100 * max((len(v) for v in c.values), default=0)

    # ---- the growth, and the choice to collapse
    def _grow(self) -> None:
        """1.5 times the slots, rebuilt from `hashes` (see the module docstring); at `plan_at`
        states, first the choice of components (`_collapse`)."""
        if self.n >= MAX_IDS:
            raise StoreFull(f"more than {MAX_IDS:,} states")
        if not self.planned and self.plan_at is not None and self.n >= self.plan_at:
            self.planned = True
            self._collapse()
            if self.n < int(self.cap * LOAD):  # the plan was due, not the table
                self._due()
                return
        self._table(self.cap * 3 // 2)
        slots, cap = self.slots, self.cap
        for k, h in enumerate(self.hashes, 1):
            i = h % cap
            while slots[i]:
                i += 1
                if i == cap:
                    i = 0
            slots[i] = k

    def _collapse(self) -> None:
        """Keep the states collapsed from now on if `collapse.plan` finds it worth it."""
        assert self.codec is None and self.plan_at is not None
        packed = list(self.states())
        comps = plan(self.bits, packed[:self.plan_at])
        if comps is None:
            return
        codec = Collapse(comps)
        for t in packed:
            codec.append(t)
        self.codec, self.arena = codec, bytearray()  # a frontier being read keeps the old arena

    # ---- the mapping state -> parent state, in BFS order
    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        return self.states()

    def __contains__(self, t: object) -> bool:
        return isinstance(t, int) and self.id_of(t) >= 0

    def __getitem__(self, t: int) -> int | None:
        k = self.id_of(t)
        if k < 0:
            raise KeyError(t)
        p = self.parents[k]
        return None if p == ROOT else self.state_of(p)

    def __setitem__(self, t: int, parent: int | None) -> None:
        pid = ROOT
        if parent is not None:
            pid = self.id_of(parent)
            if pid < 0:
                raise KeyError(parent)
        k = self.id_of(t)
        if k >= 0:
            self.parents[k] = pid
        else:
            self.add([t], pid)

    def __delitem__(self, t: int) -> None:
        raise TypeError("states are never removed from a StateStore (see truncate)")

    def clear(self) -> None:
        self._reset(_INITIAL)

    def __sizeof__(self) -> int:
        codec = self.codec
        kept = len(self.arena) if codec is None else codec.width * self.n + codec.table_bytes()
        return object.__sizeof__(self) + self.table_bytes() + kept + 8 * self.n

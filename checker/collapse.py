"""Collapse compression of stored states (SPIN's COLLAPSE: Holzmann, "State compression in SPIN",
1997), the default store's (checker/state_store.py) way to keep wide states in a few bytes.

- Components. A packed state of `bits` bits is cut into components, bit ranges [lo, hi). Each
  component's distinct values are interned in their own table in order of first appearance
  (`values[j]`: index -> the value, masked in place; `index[j]`: the inverse), so a state is the
  tuple of its components' indices. The store keeps them by state id in one column per component
  (`cols[j]`, an array of 1, 2 or 4-byte ints). The components partition the bits, so a state is
  the OR of its components' values: `same(k, t)` rebuilds state k and compares it with t - exact,
  never a hash compaction.
- Widths. A component's column starts as bytes ("B"); when its table reaches 256 values the column
  is converted to "H", at 65,536 to "I" (a C loop over the column, once each). Indices never change,
  so the store's hashes, its table and a frontier being read stay valid.
- The rule for cutting (`plan`). On a sample (the first `PLAN_AT` states the store holds, BFS order),
  walk the bits from 0 in steps of `STEP` bits and close a component before the step that would take
  its distinct values in the sample past max(256, len(sample) // 64). A component of d distinct
  values in the sample is costed `GROWTH` * d values at the end of the search (1, 2 or 4 bytes of
  index); compression is used only when that saves at least `MIN_SAVING` bytes a state against the
  packed state's ceil(bits/8). Most state variables are few-valued and the variables of one CPU or
  context are packed next to each other (codegen.Packing), so a few components of a few thousand
  values each hold a design's states (gen_kernel 2 2 2: 162-bit states, 21 bytes, in 4 components:
  7 bytes of indices and 14,039 values in the tables).
- Speed. `same`, `decode`, `append` and `rows` are generated for the chosen components (straight-line
  code, the masks as constants; the columns are read from their namespace, so a widened column is
  seen at once).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence

PLAN_AT = 1 << 16   # states stored before the components are chosen (smaller searches stay packed)
STEP = 4            # bits: components are cut at multiples of STEP
GROWTH = 32         # a component's distinct values at the end, per distinct value in the sample
MIN_SAVING = 2      # bytes a state that compression must save to be used
# bytes: a store of states this wide or narrower stays packed (`StateStore`). Packed, a state costs its
# width plus 14-17 bytes (parent, hash, slots at load 0.47-0.7; bench/README.md), at most 45 at 28
# bytes: under the 50 bytes a state the store is held to, so compression, which costs about a fifth
# of the search's time (gen_kernel 2 2 2: 18.0 s against 16.3 s), would buy nothing that is needed.
PACKED_MAX = 28


def _index_bytes(values: int) -> int:
    return 1 if values <= 256 else 2 if values <= 65536 else 4


def plan(bits: int, sample: Sequence[int]) -> list[tuple[int, int]] | None:
    """The components [lo, hi) for states of `bits` bits like those of `sample`, or None when
    compression would not save `MIN_SAVING` bytes a state (see the module docstring)."""
    limit = max(256, len(sample) // 64)
    comps: list[tuple[int, int]] = []
    counts: list[int] = []
    lo = 0
    while lo < bits:
        hi = min(bits, lo + STEP)
        mask = ((1 << (hi - lo)) - 1) << lo
        count = len({s & mask for s in sample})
        while hi < bits:
            nh = min(bits, hi + STEP)
            mask = ((1 << (nh - lo)) - 1) << lo
            c = len({s & mask for s in sample})
            if c > limit:
                break
            hi, count = nh, c
        comps.append((lo, hi))
        counts.append(count)
        lo = hi
    record = sum(_index_bytes(GROWTH * c) for c in counts)
    return comps if -(-bits // 8) - record >= MIN_SAVING else None


class Collapse:
    """The component tables of one store and its columns of indices (see the module docstring)."""

    def __init__(self, comps: Sequence[tuple[int, int]]) -> None:
        self.masks = [((1 << (hi - lo)) - 1) << lo for lo, hi in comps]
        self.values: list[list[int]] = [[] for _ in comps]
        self.index: list[dict[int, int]] = [{} for _ in comps]
        self.cols = [array("B") for _ in comps]
        ns: dict[str, object] = {"new": self._new}
        for j in range(len(comps)):
            ns[f"g{j}"], ns[f"v{j}"], ns[f"c{j}"] = self.index[j].get, self.values[j], self.cols[j]
        self._ns = ns  # the generated functions' globals: a widened column replaces c{j} here
        rng = range(len(comps))
        whole = " | ".join(f"v{j}[c{j}[k]]" for j in rng)
        # the tables (never replaced) are bound as locals; a column is read from `ns` (it may widen)
        vs = "".join(f", v{j}=v{j}" for j in rng)
        gs = "".join(f", g{j}=g{j}" for j in rng)
        src = [f"def same(k, t{vs}):\n return ({whole}) == t",
               f"def decode(k{vs}):\n return {whole}",
               f"def append(t{gs}, new=new):"]
        for j, m in enumerate(self.masks):
            src += [f" v = t & {m}", f" a{j} = g{j}(v)", f" if a{j} is None: a{j} = new({j}, v)"]
        src += [f" c{j}.append(a{j})" for j in rng]
        cs = ", ".join(f"c{j}[lo:hi]" for j in rng)
        src += [f"def rows(lo, hi{vs}):\n for {', '.join(f'a{j}' for j in rng)}, in zip({cs}):",
                "  yield " + " | ".join(f"v{j}[a{j}]" for j in rng)]
        exec(compile("\n".join(src), "<collapse>", "exec"), ns)  # noqa: S102 - generated from ints only
        self.same: Callable[[int, int], bool] = ns["same"]  # type: ignore[assignment]
        self.decode: Callable[[int], int] = ns["decode"]  # type: ignore[assignment]
        self.append: Callable[[int], None] = ns["append"]  # type: ignore[assignment]
        self.rows: Callable[[int, int], Iterator[int]] = ns["rows"]  # type: ignore[assignment]

    @property
    def width(self) -> int:
        """Bytes a state: its indices' (the columns' item sizes)."""
        return sum(c.itemsize for c in self.cols)

    def _new(self, j: int, v: int) -> int:
        vals = self.values[j]
        k = len(vals)
        col = self.cols[j]
        if k == 1 << 8 * col.itemsize:  # one index type wider: "B" -> "H" -> "I"
            col = self.cols[j] = array("H" if col.itemsize == 1 else "I", col)
            self._ns[f"c{j}"] = col
        vals.append(v)
        self.index[j][v] = k
        return k

    def truncate(self, n: int) -> None:
        for c in self.cols:
            del c[n:]

    def table_bytes(self) -> int:
        """The component tables' size, roughly (dict entries, list slots, the value ints)."""
        return sum(len(v) for v in self.values) * 120

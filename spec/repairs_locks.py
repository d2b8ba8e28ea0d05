"""The lock repairs of the `--suggest` catalogue: the lock flavour (`_irqsave`, `_bh`: K1, K2; a seqlock
writer's too, R2), a seqcount's writer with IRQs or BH off (R2), a new lock around shared data (K2), the lock order of an AB-BA pair (K5), and a sleep or a wait for a
handler or a timer callback moved out of a spinlock's critical section (D4, L6, R7), a plain `inc`/`dec` of an atomically
updated counter made atomic (R4). Which statements take, drop or sleep
is spec/language.py's table.
"""

from __future__ import annotations

from collections.abc import Iterator

from ircheck.grammar import ast
from ircheck.spec.language import (
    ATOMICS,
    CANCEL_WAITS,
    IRQ_CALLS,
    SLEEPING,
    SOFTIRQ_KINDS,
    SPIN_PAIRS,
    STATEMENTS,
    TASK_KINDS,
    lock_use,
)
from ircheck.spec.repair_edits import Candidate, Edit, Source, swap
from ircheck.spec.repair_model import Facts, arg_name, simples

# the acquisitions lock_flavour changes, with their releases: a spinlock's, an rwlock's writer and
# reader (R1: their flavours are the spinlock's, K1), and a seqlock's writer (R2: its spinlock's)
_LOCK_PAIRS = {op: lock_use(op).pair for op in ("spin_lock", "spin_lock_irq", "write_lock", "write_lock_irq", "read_lock",
                                                "read_lock_irq", "write_seqlock", "write_seqlock_irq")}
# what it changes them to (acquire, release, flavour): the lighter flavour first (K2: softirq vs user
# needs only `_bh`)
_FLAVOURS = tuple((op, SPIN_PAIRS[op], lock_use(op).flavour) for op in ("spin_lock_bh", "spin_lock_irqsave"))


def _flavours(lock_op: str) -> tuple[tuple[str, str, str], ...]:
    """`_FLAVOURS` for the side `lock_op` takes (a spinlock, an rwlock's writer or reader, a seqlock's
    writer): the acquisitions of the same primitive and side in those flavours, in `_FLAVOURS`' order
    (`write_lock` -> `write_lock_bh`, `write_lock_irqsave`; `write_seqlock` -> `write_seqlock_bh`, ...)."""
    mine = lock_use(lock_op)
    prim = next(s.primitive for s in STATEMENTS if s.keyword == lock_op)
    same = {s.lock.flavour: s.keyword for s in STATEMENTS if s.primitive == prim and s.lock is not None
            and s.lock.acquire and s.lock.read == mine.read}
    return tuple((same[tag], lock_use(same[tag]).pair, tag) for _new, _unlock, tag in _FLAVOURS)


def lock_flavour(src: Source, d: Facts) -> Iterator[Candidate]:
    """K1/K2: a lock taken with interrupts (or softirqs) enabled in one context and from a handler
    (softirq) in another: take it with `_irqsave` (`_bh`) in that context, unlocks to match. One
    candidate per context and lock; `spin_lock_irq` (whose unlock re-enables IRQs unconditionally)
    becomes `_irqsave` too. The same for an rwlock's writer and reader (R1: a `write_lock` whose
    reader runs in hard IRQ becomes `write_lock_irqsave`)."""
    for code in d.codes:
        for lock_op, unlock_op in _LOCK_PAIRS.items():
            locks = sorted({arg_name(s) for s in simples(code, lock_op)})
            for lock in locks:
                takes = [s for s in simples(code, lock_op) if arg_name(s) == lock]
                drops = [s for s in simples(code, unlock_op) if arg_name(s) == lock]
                for new_lock, new_unlock, tag in _flavours(lock_op):
                    if lock_use(lock_op).flavour == "irq" and tag == "bh":
                        continue
                    edits = [src.replace_word(s.span, lock_op, new_lock) for s in takes]
                    edits += [src.replace_word(s.span, unlock_op, new_unlock) for s in drops]
                    if any(e is None for e in edits):
                        continue
                    yield Candidate(f"{tag}:{code.name}:{lock}",
                                    f"{code.kind} {code.name}: {lock_op} {lock} -> {new_lock} "
                                    f"(and {unlock_op} -> {new_unlock})",
                                    takes[0].span.line, tuple(e for e in edits if e is not None))


_PROCESS = TASK_KINDS
_BH = SOFTIRQ_KINDS


def _touches(st: ast.Stmt, data: str) -> bool:
    return any(isinstance(x, ast.Simple) and x.op in ("read", "write") and arg_name(x) == data
               for x in ast.walk((st,)))


def protect_data(src: Source, d: Facts) -> Iterator[Candidate]:
    """Section 7 / K2: `data` that two contexts (or one softirq on two CPUs) access with no lock
    gets one: a new spinlock declared after the data, taken around each context's accesses in the
    least flavour that excludes the others - `_irqsave` against a hard-IRQ handler, `_bh` against a
    softirq or tasklet, plain in a handler and between softirqs."""
    objects = [o for o in d.objects if o.kind == "data"]
    taken = {o.name for o in d.objects} | set(d.code)
    for obj in objects:
        users = [c for c in d.codes if c.kind != "function" and any(_touches(st, obj.name) for st in c.body)]
        if any(c.kind == "function" and any(_touches(st, obj.name) for st in c.body) for c in d.codes):
            continue  # accesses inside a called function: which caller's flavour? left to the user
        if len(users) < 2 and not any(c.kind == "softirq" for c in users):
            continue
        lock = f"{obj.name}_lock"
        n = 2
        while lock in taken:
            lock, n = f"{obj.name}_lock{n}", n + 1
        kinds = {c.kind for c in users}
        eol = len(src.line(obj.span.end_line)) + 1
        edits = [Edit(obj.span.end_line, eol, obj.span.end_line, eol, f"\nspinlock {lock}")]
        for c in users:
            others = kinds - {c.kind} if sum(u.kind == c.kind for u in users) == 1 else kinds
            if c.kind in _PROCESS:
                take, drop = (("spin_lock_irqsave", "spin_unlock_irqrestore") if "handler" in others
                              else ("spin_lock_bh", "spin_unlock_bh") if others & set(_BH)
                              else ("spin_lock", "spin_unlock"))
            elif c.kind in _BH and "handler" in others:
                take, drop = "spin_lock_irqsave", "spin_unlock_irqrestore"
            else:
                take, drop = "spin_lock", "spin_unlock"
            idx = [i for i, st in enumerate(c.body) if _touches(st, obj.name)]
            first, last = c.body[idx[0]], c.body[idx[-1]]
            edits += [src.insert_before(first.span, f"{take} {lock}"), src.insert_after(last.span, f"{drop} {lock}")]
        yield Candidate(f"lock_data:{obj.name}",
                        f"protect data {obj.name} with a new spinlock {lock} in "
                        + ", ".join(f"{c.kind} {c.name}" for c in users), obj.span.line, tuple(edits))


_ACQUIRE = frozenset(SPIN_PAIRS)  # spinlock acquisitions
_RELEASE = SPIN_PAIRS             # acquisition -> its release


def _nested_pairs(code: ast.Code) -> list[tuple[ast.Simple, ast.Simple]]:
    """Consecutive top-level acquisitions `lock A; lock B` (B taken while A is held)."""
    top = [st for st in code.body if isinstance(st, ast.Simple)]
    return [(a, b) for a, b in zip(top, top[1:], strict=False)
            if a.op in _ACQUIRE and b.op in _ACQUIRE and arg_name(a) != arg_name(b)]


def lock_order(src: Source, d: Facts) -> Iterator[Candidate]:
    """K5: two contexts take A then B and B then A (AB-BA). Make the second take them in the first's
    order: swap its two acquisitions."""
    for code in d.codes:
        for a, b in _nested_pairs(code):
            other = next((o for o in d.codes if o is not code and any(
                (arg_name(x), arg_name(y)) == (arg_name(b), arg_name(a)) for x, y in _nested_pairs(o))), None)
            edits = swap(src, a.span, b.span) if other is not None else None
            if other is None or edits is None:
                continue
            yield Candidate(f"order:{code.name}:{arg_name(b)}",
                            f"{code.kind} {code.name}: take {arg_name(b)} before {arg_name(a)} "
                            f"(the order {other.kind} {other.name} uses)", a.span.line, edits)


# waits for a handler (synchronize_irq, free_irq, disable_irq) or a timer callback (del_timer_sync,
# hrtimer_cancel, R7): moved after the unlock so that the handler or callback can take the lock and finish
_WAITS = SLEEPING & IRQ_CALLS | CANCEL_WAITS


def sleep_outside_lock(src: Source, d: Facts) -> Iterator[Candidate]:
    """D4/L6/R7: a sleeping call (`sleep`: GFP_KERNEL, msleep; `wait_event`) inside a spinlock's
    critical section moves before the lock; a wait for a handler (`synchronize_irq`, `free_irq`, `disable_irq`)
    or a timer callback (`del_timer_sync`, `hrtimer_cancel`) moves after the unlock, so that the handler or
    callback can take the lock and finish."""
    for code in d.codes:
        top = list(code.body)
        for i, st in enumerate(top):
            if not (isinstance(st, ast.Simple) and st.op in _WAITS | {"sleep"}
                    or isinstance(st, ast.Wait) and st.span.line == st.span.end_line):
                continue
            held = None
            for prev in reversed(top[:i]):
                if isinstance(prev, ast.Simple) and prev.op in _ACQUIRE:
                    held = prev
                    break
                if isinstance(prev, ast.Simple) and prev.op in _RELEASE.values():
                    break
            if held is None:
                continue
            rel = next((x for x in top[i + 1:] if isinstance(x, ast.Simple) and x.op == _RELEASE[held.op]
                        and arg_name(x) == arg_name(held)), None)
            if rel is None:
                continue
            text = src.line(st.span.line)[st.span.column - 1: st.span.end_column - 1]
            note = src.comment(st.span)
            if st.op not in _WAITS:  # `sleep`, `wait_event`: before the lock
                edits = (src.insert_before(held.span, text, note), src.delete_stmt(st.span))
                where = f"before {held.op} {arg_name(held)}"
            else:
                edits = (src.delete_stmt(st.span), src.insert_after(rel.span, text, note))
                where = f"after {rel.op} {arg_name(rel)}"
            yield Candidate(f"unlocked:{code.name}:{st.span.line}",
                            f"{code.kind} {code.name}: move `{text}` out of the critical section, {where}",
                            st.span.line, edits)


def atomic_counter(src: Source, d: Facts) -> Iterator[Candidate]:
    """R4: a counter that some context updates with an atomic (`atomic_inc`, `atomic_dec`,
    `atomic_dec_and_test`) and another with a plain `inc`/`dec` races on the plain one (a plain
    read-modify-write can interleave with the atomic one); make the plain update atomic too
    (include/linux/atomic.h, Documentation/atomic_t.txt). One candidate per context and counter."""
    atomic = {arg_name(s) for c in d.codes for s in simples(c, *ATOMICS)}
    for code in d.codes:
        for name in sorted(atomic):
            plain = [s for s in simples(code, "inc", "dec") if arg_name(s) == name]
            edits = [src.replace_word(s.span, s.op, f"atomic_{s.op}") for s in plain]
            if not plain or any(e is None for e in edits):
                continue
            yield Candidate(f"atomic:{code.name}:{name}", f"{code.kind} {code.name}: make its `inc`/`dec {name}` "
                            f"atomic (`atomic_inc`/`atomic_dec`), as elsewhere", plain[0].span.line,
                            tuple(e for e in edits if e is not None))


def _seq_readers(d: Facts, seq: str) -> set[str]:
    """The kinds of code that read sequence `seq` in a `read_seq` block (R2)."""
    return {c.kind for c in d.codes if any(isinstance(st, ast.ReadSeq) and st.seq.name == seq for st in ast.walk(c.body))}


def seqcount_irqs_off(src: Source, d: Facts) -> Iterator[Candidate]:
    """R2: a seqcount's writer that a reader can interrupt on its CPU livelocks. seqlock.rst: "If the
    read section can be invoked from hardirq or softirq contexts, interrupts or bottom halves must also
    be respectively disabled before entering the write section": each `write_seqcount_begin S` ...
    `write_seqcount_end S` gets `local_irq_save` before and `local_irq_restore` after when a handler
    reads S, else `local_bh_disable`/`local_bh_enable` when a softirq or tasklet does. (A seqlock's
    writer gets its `_irqsave`/`_bh` flavour from lock_flavour.)"""
    for code in d.codes:
        marks = simples(code, "write_seqcount_begin", "write_seqcount_end")
        for k, begin in enumerate(marks):
            seq = arg_name(begin)
            end = next((e for e in marks[k + 1:] if e.op == "write_seqcount_end" and arg_name(e) == seq), None)
            if begin.op != "write_seqcount_begin" or end is None:
                continue
            kinds = _seq_readers(d, seq)
            off, on = (("local_irq_save", "local_irq_restore") if "handler" in kinds else
                       ("local_bh_disable", "local_bh_enable") if kinds & set(_BH) else ("", ""))
            if not off:
                continue
            yield Candidate(f"seq_off:{code.name}:{seq}:{begin.span.line}",
                            f"{code.kind} {code.name}: write_seqcount_begin {seq} ... write_seqcount_end {seq} "
                            f"with {'IRQs' if off == 'local_irq_save' else 'BH'} off ({off} before, {on} after)",
                            begin.span.line, (src.insert_before(begin.span, off), src.insert_after(end.span, on)))

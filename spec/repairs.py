"""The catalogue of standard repairs for interrupt designs (`ircheck --suggest`).

A repair is the fix a kernel or firmware reviewer would propose for a known
class of bug - take the lock with `spin_lock_irqsave`, send the missing EOI,
use an interrupt gate, test-and-sleep with `wait_event` - expressed as **text
edits at AST spans** of the user's `.irq` source. Editing the text (instead of
reprinting the AST) keeps the user's comments and layout, so the unified diff
shown to the user is exactly the change and nothing else; the candidate model
that `checker/suggest.py` re-checks is `parse(apply(source, edits))`, so what
is checked is what is shown.

This module only proposes; it never decides whether a repair works (the model
checker does) and it never executes anything from the model. It lives in
spec/ because it knows what the constructs mean: which handler a gate enters,
which controller is a slave, that a `request_irq` handler must not EOI (L1),
that a level line needs its device acked (P2), that a spurious IRQ7 must not be
EOIed (P12). Rule numbers refer to docs/semantics.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ircheck.grammar import ast


@dataclass(frozen=True)
class Edit:
    """Replace the source text from (line, col) up to (end_line, end_col), exclusive, with `text`.

    Lines and columns are 1-based, as in `ast.Span` (lark's convention: the end column is the one
    after the last character). An insertion has start == end."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str


@dataclass(frozen=True)
class Candidate:
    """One repair: a stable key (tests and JSON name it), a one-line description, the line it is
    about in the original source, and the edits that make it."""

    key: str
    description: str
    line: int
    edits: tuple[Edit, ...]


class EditConflict(ValueError):
    """Two edits overlap: the repairs cannot be combined."""


def _offsets(source: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(source):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def apply_edits(source: str, edits: tuple[Edit, ...] | list[Edit]) -> str:
    """The source with every edit made; raises EditConflict if two edits overlap (insertions at the
    same point are made in the order given)."""
    starts = _offsets(source)

    def off(line: int, col: int) -> int:
        if line < 1 or line > len(starts):
            raise EditConflict(f"edit outside the source (line {line})")
        return starts[line - 1] + col - 1

    spans = sorted(((off(e.line, e.col), off(e.end_line, e.end_col), i, e.text) for i, e in enumerate(edits)),
                   key=lambda t: (t[0], t[1], t[2]))
    out: list[str] = []
    pos = 0
    for a, b, _, txt in spans:
        if a < pos:
            raise EditConflict("overlapping edits")
        out.append(source[pos:a])
        out.append(txt)
        pos = b
    out.append(source[pos:])
    return "".join(out)


# ---- reading the model -------------------------------------------------------------------------

class _Source:
    """The source text with line access, for edits that depend on layout (own line or not)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")

    def line(self, n: int) -> str:
        return self.lines[n - 1] if 1 <= n <= len(self.lines) else ""

    def find(self, span: ast.Span, word: str) -> Edit | None:
        """An edit selecting the first whole `word` inside span (single-line spans and the span's
        first line only: keywords sit there)."""
        text = self.line(span.line)
        stop = span.end_column - 1 if span.end_line == span.line and span.end_column else len(text)
        i = text.find(word, span.column - 1, stop)
        while i >= 0:
            before = text[i - 1] if i > 0 else " "
            after = text[i + len(word)] if i + len(word) < len(text) else " "
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                return Edit(span.line, i + 1, span.line, i + 1 + len(word), word)
            i = text.find(word, i + 1, stop)
        return None

    def replace_word(self, span: ast.Span, old: str, new: str) -> Edit | None:
        e = self.find(span, old)
        return None if e is None else Edit(e.line, e.col, e.end_line, e.end_col, new)

    def indent(self, line: int) -> str:
        t = self.line(line)
        return t[: len(t) - len(t.lstrip())]

    def delete_stmt(self, span: ast.Span) -> Edit:
        """Delete one statement: its whole line when nothing else is on it (a trailing comment goes
        with it), else the statement and the `;` that separates it from its neighbour."""
        first, last = self.line(span.line), self.line(span.end_line)
        before = first[: span.column - 1]
        after = last[span.end_column - 1:]
        rest = after.lstrip().lstrip(";").strip()
        if not before.strip() and (not rest or rest.startswith("#")):
            return Edit(span.line, 1, span.end_line + 1, 1, "")
        j = span.end_column - 1
        k = j
        while k < len(last) and last[k] in " \t":
            k += 1
        if k < len(last) and last[k] == ";":
            k += 1
            while k < len(last) and last[k] in " \t":
                k += 1
            return Edit(span.line, span.column, span.end_line, k + 1, "")
        i = span.column - 1
        m = i
        while m > 0 and first[m - 1] in " \t":
            m -= 1
        if m > 0 and first[m - 1] == ";":
            return Edit(span.line, m, span.end_line, span.end_column, "")
        return Edit(span.line, span.column, span.end_line, span.end_column, "")

    def append(self, code: ast.Code, stmt: str) -> Edit:
        """Insert `stmt` as the last statement of a code body, in the body's own layout."""
        if not code.body:
            # `handler h { }`: put it just before the closing brace
            return Edit(code.end.line, code.end.column, code.end.line, code.end.column, f"{stmt} ")
        last = code.body[-1].span
        if last.end_line == code.end.line:  # `{ a; b }`: same line as the closing brace
            return Edit(last.end_line, last.end_column, last.end_line, last.end_column, f"; {stmt}")
        eol = len(self.line(last.end_line)) + 1
        return Edit(last.end_line, eol, last.end_line, eol, "\n" + self.indent(last.line) + stmt)

    def comment(self, span: ast.Span) -> str:
        """The trailing `# ...` of a statement alone on its line(s), with the spaces before it, or ""
        (a moved statement takes its comment along when it lands on a line of its own)."""
        last = self.line(span.end_line)
        rest = last[span.end_column - 1:]
        if self.line(span.line)[: span.column - 1].strip() or not rest.strip().startswith("#"):
            return ""
        return rest.rstrip()

    def insert_after(self, span: ast.Span, stmt: str, comment: str = "") -> Edit:
        """Insert `stmt` just after a statement, on a line of its own when that statement has one."""
        before = self.line(span.line)[: span.column - 1]
        if not before.strip():
            eol = len(self.line(span.end_line)) + 1
            return Edit(span.end_line, eol, span.end_line, eol, "\n" + self.indent(span.line) + stmt + comment)
        return Edit(span.end_line, span.end_column, span.end_line, span.end_column, f"; {stmt}")

    def insert_before(self, span: ast.Span, stmt: str, comment: str = "") -> Edit:
        """Insert `stmt` just before a statement, on its own line when that statement has one."""
        if not self.line(span.line)[: span.column - 1].strip():
            return Edit(span.line, 1, span.line, 1, self.indent(span.line) + stmt + comment + "\n")
        return Edit(span.line, span.column, span.line, span.column, f"{stmt}; ")


def _swap(src: _Source, a: ast.Span, b: ast.Span) -> tuple[Edit, Edit] | None:
    """Exchange two one-line statements. When each is alone on its own line, the whole lines swap,
    so each statement keeps its trailing comment; otherwise only the statement texts swap."""
    if a.line != a.end_line or b.line != b.end_line:
        return None

    def alone(sp: ast.Span) -> bool:
        text = src.line(sp.line)
        rest = text[sp.end_column - 1:].strip()
        return not text[: sp.column - 1].strip() and (not rest or rest.startswith("#"))

    if a.line != b.line and alone(a) and alone(b):
        la, lb = src.line(a.line), src.line(b.line)
        ia, ib = len(src.indent(a.line)), len(src.indent(b.line))
        return (Edit(a.line, ia + 1, a.line, len(la) + 1, lb[ib:]), Edit(b.line, ib + 1, b.line, len(lb) + 1, la[ia:]))
    ta = src.line(a.line)[a.column - 1: a.end_column - 1]
    tb = src.line(b.line)[b.column - 1: b.end_column - 1]
    return (Edit(a.line, a.column, a.end_line, a.end_column, tb), Edit(b.line, b.column, b.end_line, b.end_column, ta))


def _simples(code: ast.Code, *ops: str) -> list[ast.Simple]:
    return [st for st in ast.walk(code.body) if isinstance(st, ast.Simple) and st.op in ops]


def _arg_name(st: ast.Simple) -> str:
    a = st.arg
    if isinstance(a, ast.Name):
        return a.name
    if isinstance(a, ast.Num):
        return str(a.value)
    if isinstance(a, ast.LineRef):
        return str(a)
    return ""


class _Design:
    """What the repairs need to know about the model, read from its declarations: which handler a
    gate or request_irq enters, through which controller input, and which controllers cascade."""

    def __init__(self, model: ast.Model) -> None:
        self.codes = [d for d in model.decls if isinstance(d, ast.Code)]
        self.objects = [d for d in model.decls if isinstance(d, ast.Object)]
        self.code = {c.name: c for c in self.codes}
        self.pics = {d.name: d for d in model.decls if isinstance(d, ast.Pic)}
        self.devices = [d for d in model.decls if isinstance(d, ast.Device)]
        self.gates = [e for d in model.decls if isinstance(d, ast.Idt) for e in d.entries]
        self.requests = [d for d in model.decls if isinstance(d, ast.RequestIrq)]
        self.requested = {r.handler.name for r in self.requests}
        self.master_of: dict[str, str] = {}
        self.base: dict[str, int] = {}
        for p in self.pics.values():
            for s in p.settings:
                if s.key == "cascade" and isinstance(s.value, ast.LineRef):
                    self.master_of[p.name] = s.value.pic
                if s.key == "base" and isinstance(s.value, int):
                    self.base[p.name] = s.value

    def lines_of(self, handler: str) -> list[tuple[ast.Device, ast.LineRef, str]]:
        """(device, controller input, trigger) of every 8259A line whose gate enters `handler`."""
        out = []
        vectors = {e.vector for e in self.gates if e.handler.name == handler}
        for dev in self.devices:
            ref = next((s.value for s in dev.settings if s.key == "irq" and isinstance(s.value, ast.LineRef)), None)
            trig = next((str(s.value) for s in dev.settings if s.key == "trigger"), "edge")
            if ref is not None and ref.pic in self.base and self.base[ref.pic] + ref.input in vectors:
                out.append((dev, ref, trig))
        return out

    def apic_vectors(self, handler: str) -> list[int]:
        """Local APIC device vectors (`irq vector V`) whose gate enters `handler`."""
        vectors = {e.vector for e in self.gates if e.handler.name == handler}
        return [s.value for dev in self.devices for s in dev.settings
                if s.key == "vector" and isinstance(s.value, int) and s.value in vectors]

    def auto_eoi(self, pic: str) -> bool:
        """P8: INTA itself ends the level; an `eoi` would be unbalanced."""
        p = self.pics.get(pic)
        return p is not None and any(s.key == "eoi" and s.value == "auto" for s in p.settings)

    def may_drop(self, dev: ast.Device) -> bool:
        return any(s.key == "may_drop" for s in dev.settings)


# ---- the repairs -------------------------------------------------------------------------------

_LOCK_PAIRS = {"spin_lock": "spin_unlock", "spin_lock_irq": "spin_unlock_irq"}
# the lighter flavour first (K2: softirq vs user needs only `_bh`)
_FLAVOURS = (("spin_lock_bh", "spin_unlock_bh", "bh"), ("spin_lock_irqsave", "spin_unlock_irqrestore", "irqsave"))


def _lock_flavour(src: _Source, d: _Design) -> Iterator[Candidate]:
    """K1/K2: a lock taken with interrupts (or softirqs) enabled in one context and from a handler
    (softirq) in another: take it with `_irqsave` (`_bh`) in that context, unlocks to match. One
    candidate per context and lock; `spin_lock_irq` (whose unlock re-enables IRQs unconditionally)
    becomes `_irqsave` too."""
    for code in d.codes:
        for lock_op, unlock_op in _LOCK_PAIRS.items():
            locks = sorted({_arg_name(s) for s in _simples(code, lock_op)})
            for lock in locks:
                takes = [s for s in _simples(code, lock_op) if _arg_name(s) == lock]
                drops = [s for s in _simples(code, unlock_op) if _arg_name(s) == lock]
                for new_lock, new_unlock, tag in _FLAVOURS:
                    if lock_op == "spin_lock_irq" and tag == "bh":
                        continue
                    edits = [src.replace_word(s.span, lock_op, new_lock) for s in takes]
                    edits += [src.replace_word(s.span, unlock_op, new_unlock) for s in drops]
                    if any(e is None for e in edits):
                        continue
                    yield Candidate(f"{tag}:{code.name}:{lock}",
                                    f"{code.kind} {code.name}: {lock_op} {lock} -> {new_lock} "
                                    f"(and {unlock_op} -> {new_unlock})",
                                    takes[0].span.line, tuple(e for e in edits if e is not None))


def _missing_eoi(src: _Source, d: _Design) -> Iterator[Candidate]:
    """P7/P11: a gate handler of an 8259A line that never sends EOI leaves its level in service for
    ever; a slave's handler needs two, slave then master. Append what is missing at the end."""
    for code in d.codes:
        if code.kind != "handler" or code.name in d.requested:
            continue
        lines = d.lines_of(code.name)
        eois = _simples(code, "eoi")
        if not lines:
            if d.apic_vectors(code.name) and not eois:  # X9: the in-service vector ends only with an EOI
                yield Candidate(f"eoi:{code.name}", f"handler {code.name}: add the missing `eoi` at its end",
                                code.end.line, (src.append(code, "eoi"),))
            continue
        if d.auto_eoi(lines[0][1].pic):
            continue
        pic = lines[0][1].pic
        master = d.master_of.get(pic)
        to_masters = [e for e in eois if isinstance(e.arg, ast.Name) and e.arg.name == master
                      or isinstance(e.arg, ast.LineRef) and e.arg.pic == master]
        own = [e for e in eois if e not in to_masters]
        if not eois:
            text = f"eoi; eoi {master}" if master else "eoi"
            yield Candidate(f"eoi:{code.name}", f"handler {code.name}: add the missing `{text}` at its end",
                            code.end.line, (src.append(code, text),))
        elif master and own and not to_masters:
            yield Candidate(f"eoi_master:{code.name}",
                            f"handler {code.name}: add `eoi {master}` after the slave's EOI (a cascade needs both)",
                            code.end.line, (src.append(code, f"eoi {master}"),))


def _trap_gate(src: _Source, d: _Design) -> Iterator[Candidate]:
    """X2: a trap gate keeps IF=1, so the handler's own or another line nests into it."""
    for e in d.gates:
        if e.gate == "trap_gate":
            ed = src.replace_word(e.span, "trap_gate", "interrupt_gate")
            if ed is not None:
                yield Candidate(f"interrupt_gate:{e.handler.name}",
                                f"idt {e.vector:#x} -> {e.handler.name}: trap_gate -> interrupt_gate",
                                e.span.line, (ed,))


def _early_eoi(src: _Source, d: _Design) -> Iterator[Candidate]:
    """P5/P8: an EOI before the work (with `sti`, or under a trap gate) lets the handler's own line
    in again while it runs; move the EOI to the end of the handler. With two EOIs (P7: the second
    ends some other level), drop the early one instead."""
    for code in d.codes:
        if code.kind != "handler" or code.name in d.requested:
            continue
        top = list(code.body)
        eois = [st for st in top if isinstance(st, ast.Simple) and st.op == "eoi"]
        if not eois or top[-1] is eois[-1] and len(eois) == 1:
            continue
        first = eois[0]
        twice = [e for e in eois[1:] if _arg_name(e) == _arg_name(first)]
        if twice:
            yield Candidate(f"drop_eoi:{code.name}", f"handler {code.name}: remove the early `eoi` (it is sent twice)",
                            first.span.line, (src.delete_stmt(first.span),))
            continue
        if len(eois) > 1 or top.index(first) == len(top) - 1:
            continue
        yield Candidate(f"late_eoi:{code.name}",
                        f"handler {code.name}: move the early `eoi` to the end of the handler",
                        first.span.line, (src.delete_stmt(first.span), src.append(code, "eoi")))
        i = top.index(first)
        nxt = top[i + 1]
        if isinstance(nxt, ast.Simple) and nxt.op == "sti" and i + 2 < len(top):
            # `eoi; sti` first: after a late EOI, IF=1 still lets the line in before the IRET. The
            # IRET restores IF anyway, so the `sti` goes.
            yield Candidate(f"late_eoi_no_sti:{code.name}",
                            f"handler {code.name}: move the early `eoi; sti` to the end of the handler as `eoi` "
                            "(IRET restores IF)",
                            first.span.line, (src.delete_stmt(first.span), src.delete_stmt(nxt.span),
                                              src.append(code, "eoi")))


def _wait_event(src: _Source, d: _Design) -> Iterator[Candidate]:
    """W1/W2: `if not F { sleep_on Q }` tests, then sleeps: the wake-up can fall between the two.
    `wait_event Q until F` marks the task sleeping before it tests."""
    for code in d.codes:
        for st in ast.walk(code.body):
            if (isinstance(st, ast.If) and isinstance(st.cond, ast.Not) and isinstance(st.cond.arg, ast.Name)
                    and not st.orelse and len(st.then) == 1 and isinstance(st.then[0], ast.Simple)
                    and st.then[0].op == "sleep_on"):
                q, f = _arg_name(st.then[0]), st.cond.arg.name
                sp = st.span
                yield Candidate(f"wait_event:{code.name}:{q}",
                                f"{code.kind} {code.name}: `if not {f} {{ sleep_on {q} }}` -> `wait_event {q} until {f}`",
                                sp.line, (Edit(sp.line, sp.column, sp.end_line, sp.end_column,
                                               f"wait_event {q} until {f}"),))


def _nosync(src: _Source, d: _Design) -> Iterator[Candidate]:
    """L6: `disable_irq N` inside a handler waits for running handlers of N - itself, or one the
    handler excludes; `disable_irq_nosync` only raises the depth."""
    for code in d.codes:
        if code.kind not in ("handler", "softirq", "tasklet"):
            continue
        for st in _simples(code, "disable_irq"):
            ed = src.replace_word(st.span, "disable_irq", "disable_irq_nosync")
            if ed is not None:
                yield Candidate(f"nosync:{code.name}:{_arg_name(st)}",
                                f"{code.kind} {code.name}: disable_irq {_arg_name(st)} -> disable_irq_nosync",
                                st.span.line, (ed,))


_SLEEPS = ("mutex_lock", "sleep", "wait_event", "epoll_wait", "sleep_on", "disable_irq", "synchronize_irq",
           "free_irq")


def _sleeps(code: ast.Code) -> ast.Stmt | None:
    for st in ast.walk(code.body):
        if isinstance(st, (ast.Simple, ast.Wait)) and st.op in _SLEEPS:
            return st
    return None


def _threaded(src: _Source, d: _Design) -> Iterator[Candidate]:
    """L8/D4: a handler that sleeps (a mutex, an I2C transfer) cannot run in hard-IRQ context; make
    it the thread function of a threaded IRQ with IRQF_ONESHOT (the line stays masked until it
    returns, so a level line does not storm) and the default primary handler."""
    for r in d.requests:
        code = d.code.get(r.handler.name)
        if code is None or code.kind != "handler" or any(o.key == "thread" for o in r.options):
            continue
        st = _sleeps(code)
        if st is None or any(isinstance(s, ast.Simple) and s.op == "return" for s in ast.walk(code.body)):
            continue
        head = src.replace_word(code.span, "handler", "irq_thread")
        name = src.find(r.span, r.handler.name)
        if head is None or name is None:
            continue
        bind = Edit(name.line, name.col, name.end_line, name.end_col, f"NULL thread {code.name} oneshot")
        yield Candidate(f"threaded:{code.name}",
                        f"request_irq {r.irq}: run {code.name} as a threaded handler "
                        f"(`request_irq {r.irq} NULL thread {code.name} oneshot`, `irq_thread {code.name}`)",
                        st.span.line, (bind, head))


def _deferred_to_work(src: _Source, d: _Design) -> Iterator[Candidate]:
    """D1/D3/D4: a tasklet that sleeps cannot; a work item runs in process context and may."""
    for code in d.codes:
        if code.kind != "tasklet" or _sleeps(code) is None:
            continue
        edits = [src.replace_word(code.span, "tasklet", "work")]
        for other in d.codes:
            for st in _simples(other, "tasklet_schedule"):
                if _arg_name(st) == code.name:
                    edits.append(src.replace_word(st.span, "tasklet_schedule", "queue_work"))
        if all(e is not None for e in edits):
            yield Candidate(f"work:{code.name}", f"tasklet {code.name} -> work {code.name} (it sleeps: "
                            "process context), tasklet_schedule -> queue_work", code.span.line,
                            tuple(e for e in edits if e is not None))


def _genirq_eoi(src: _Source, d: _Design) -> Iterator[Candidate]:
    """L1: the flow handler acks and EOIs the controller; an `eoi` in a request_irq handler is one
    too many."""
    for code in d.codes:
        if code.name not in d.requested:
            continue
        for st in _simples(code, "eoi"):
            yield Candidate(f"no_eoi:{code.name}", f"handler {code.name}: remove `eoi` (genirq's flow handler sends it)",
                            st.span.line, (src.delete_stmt(st.span),))


def _level_ack(src: _Source, d: _Design) -> Iterator[Candidate]:
    """P2: a level line stays high until the device is told; without `ack DEV` before the EOI the
    controller interrupts again at once, for ever."""
    for code in d.codes:
        if code.kind != "handler":
            continue
        acked = {_arg_name(s) for s in _simples(code, "ack")}
        for dev, _ref, trig in d.lines_of(code.name):
            if trig != "level" or dev.name in acked:
                continue
            eois = [st for st in code.body if isinstance(st, ast.Simple) and st.op == "eoi"]
            ed = src.insert_before(eois[0].span, f"ack {dev.name}") if eois else src.append(code, f"ack {dev.name}")
            yield Candidate(f"ack:{code.name}:{dev.name}",
                            f"handler {code.name}: add `ack {dev.name}` before the EOI (a level line stays high)",
                            eois[0].span.line if eois else code.end.line, (ed,))


def _spurious(src: _Source, d: _Design) -> Iterator[Candidate]:
    """P12: the IR7 (IR15) entry of a request that dropped before INTA has no ISR bit; an
    unconditional EOI ends some other level. Send it only `if in_service`."""
    for code in d.codes:
        if code.kind != "handler" or any(isinstance(s, ast.If) and isinstance(s.cond, ast.InService)
                                         for s in ast.walk(code.body)):
            continue
        if not any(ref.input == 7 and d.may_drop(dev) for dev, ref, _ in d.lines_of(code.name)):
            continue
        for st in code.body:
            if isinstance(st, ast.Simple) and st.op == "eoi" and st.arg is None:
                sp = st.span
                yield Candidate(f"in_service:{code.name}",
                                f"handler {code.name}: `eoi` -> `if in_service {{ eoi }}` (no EOI for a spurious IRQ7)",
                                sp.line, (Edit(sp.line, sp.column, sp.end_line, sp.end_column,
                                               "if in_service { eoi }"),))


def _unbalanced_enable(src: _Source, d: _Design) -> Iterator[Candidate]:
    """L5: more `enable_irq N` than `disable_irq N` in one context: the extra one is "Unbalanced
    enable"; remove the last."""
    for code in d.codes:
        for n in sorted({_arg_name(s) for s in _simples(code, "enable_irq")}):
            en = [s for s in _simples(code, "enable_irq") if _arg_name(s) == n]
            dis = [s for s in _simples(code, "disable_irq", "disable_irq_nosync") if _arg_name(s) == n]
            if len(en) > len(dis) and dis:
                yield Candidate(f"drop_enable:{code.name}:{n}",
                                f"{code.kind} {code.name}: remove the extra `enable_irq {n}`",
                                en[-1].span.line, (src.delete_stmt(en[-1].span),))


def _set_before_wake(src: _Source, d: _Design) -> Iterator[Candidate]:
    """W2: the waker must set the condition *before* `wake_up`; a waiter on another CPU that tests
    between the two sleeps through the set. Swap `wake_up Q; set F` when some waiter waits on Q
    until F."""
    waits = {(st.queue.name, st.cond.name) for c in d.codes for st in ast.walk(c.body)
             if isinstance(st, ast.Wait) and isinstance(st.cond, ast.Name)}
    for code in d.codes:
        top = list(code.body)
        for wake, st in zip(top, top[1:], strict=False):
            if not (isinstance(wake, ast.Simple) and wake.op == "wake_up" and isinstance(st, ast.Simple)
                    and st.op == "set" and (_arg_name(wake), _arg_name(st)) in waits):
                continue
            edits = _swap(src, wake.span, st.span)
            if edits is not None:
                yield Candidate(f"set_first:{code.name}:{_arg_name(st)}",
                                f"{code.kind} {code.name}: `set {_arg_name(st)}` before `wake_up {_arg_name(wake)}` "
                                "(set the condition, then wake)", wake.span.line, edits)


_PROCESS = ("thread", "irq_thread", "work")
_BH = ("softirq", "tasklet")


def _touches(st: ast.Stmt, data: str) -> bool:
    return any(isinstance(x, ast.Simple) and x.op in ("read", "write") and _arg_name(x) == data
               for x in ast.walk((st,)))


def _protect_data(src: _Source, d: _Design) -> Iterator[Candidate]:
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


def _gate_dpl(src: _Source, d: _Design) -> Iterator[Candidate]:
    """X3: `int V` from CPL 3 through a DPL 0 gate is #GP; a system-call gate has DPL 3."""
    user_ints = {s.arg.value for c in d.codes if c.kind == "thread"
                 and any(o.key == "cpl" and o.value == 3 for o in c.options)
                 for s in _simples(c, "int") if isinstance(s.arg, ast.Num)}
    for e in d.gates:
        if e.vector in user_ints and e.dpl == 0:
            text = src.line(e.span.line)
            i = text.find("dpl", e.span.column - 1)
            j = text.find("0", i) if i >= 0 else -1
            if i >= 0 and j >= 0 and not text[i + 3:j].strip():
                yield Candidate(f"dpl3:{e.handler.name}", f"idt {e.vector:#x} -> {e.handler.name}: dpl 0 -> dpl 3 "
                                "(user code calls it with `int`)", e.span.line,
                                (Edit(e.span.line, j + 1, e.span.line, j + 2, "3"),))


_ACQUIRE = ("spin_lock", "spin_lock_irqsave", "spin_lock_irq", "spin_lock_bh")
_RELEASE = {"spin_lock": "spin_unlock", "spin_lock_irqsave": "spin_unlock_irqrestore",
            "spin_lock_irq": "spin_unlock_irq", "spin_lock_bh": "spin_unlock_bh"}


def _nested_pairs(code: ast.Code) -> list[tuple[ast.Simple, ast.Simple]]:
    """Consecutive top-level acquisitions `lock A; lock B` (B taken while A is held)."""
    top = [st for st in code.body if isinstance(st, ast.Simple)]
    return [(a, b) for a, b in zip(top, top[1:], strict=False)
            if a.op in _ACQUIRE and b.op in _ACQUIRE and _arg_name(a) != _arg_name(b)]


def _lock_order(src: _Source, d: _Design) -> Iterator[Candidate]:
    """K5: two contexts take A then B and B then A (AB-BA). Make the second take them in the first's
    order: swap its two acquisitions."""
    for code in d.codes:
        for a, b in _nested_pairs(code):
            other = next((o for o in d.codes if o is not code and any(
                (_arg_name(x), _arg_name(y)) == (_arg_name(b), _arg_name(a)) for x, y in _nested_pairs(o))), None)
            edits = _swap(src, a.span, b.span) if other is not None else None
            if other is None or edits is None:
                continue
            yield Candidate(f"order:{code.name}:{_arg_name(b)}",
                            f"{code.kind} {code.name}: take {_arg_name(b)} before {_arg_name(a)} "
                            f"(the order {other.kind} {other.name} uses)", a.span.line, edits)


_WAITS = ("synchronize_irq", "free_irq", "disable_irq")


def _sleep_outside_lock(src: _Source, d: _Design) -> Iterator[Candidate]:
    """D4/L6: a sleeping call (`sleep`: GFP_KERNEL, msleep; `wait_event`) inside a spinlock's
    critical section moves before the lock; a wait for a handler (`synchronize_irq`, `free_irq`, `disable_irq`)
    moves after the unlock, so that the handler can take the lock and finish."""
    for code in d.codes:
        top = list(code.body)
        for i, st in enumerate(top):
            if not (isinstance(st, ast.Simple) and st.op in ("sleep",) + _WAITS
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
                        and _arg_name(x) == _arg_name(held)), None)
            if rel is None:
                continue
            text = src.line(st.span.line)[st.span.column - 1: st.span.end_column - 1]
            note = src.comment(st.span)
            if st.op not in _WAITS:  # `sleep`, `wait_event`: before the lock
                edits = (src.insert_before(held.span, text, note), src.delete_stmt(st.span))
                where = f"before {held.op} {_arg_name(held)}"
            else:
                edits = (src.delete_stmt(st.span), src.insert_after(rel.span, text, note))
                where = f"after {rel.op} {_arg_name(rel)}"
            yield Candidate(f"unlocked:{code.name}:{st.span.line}",
                            f"{code.kind} {code.name}: move `{text}` out of the critical section, {where}",
                            st.span.line, edits)


_REPAIRS = (_lock_flavour, _missing_eoi, _trap_gate, _early_eoi, _wait_event, _nosync, _threaded,
            _deferred_to_work, _genirq_eoi, _level_ack, _spurious, _unbalanced_enable, _lock_order,
            _sleep_outside_lock, _gate_dpl, _protect_data, _set_before_wake)


def candidates(model: ast.Model) -> list[Candidate]:
    """Every single repair the catalogue proposes for this model, in a stable order (catalogue
    order, then source order). Needs `model.source` (the parser sets it)."""
    src = _Source(model.source)
    d = _Design(model)
    out: list[Candidate] = []
    seen: set[str] = set()
    for rule in _REPAIRS:
        for c in rule(src, d):
            if c.key not in seen:
                seen.add(c.key)
                out.append(c)
    return out


def combine(source: str, cands: tuple[Candidate, ...]) -> str:
    """The source with every candidate's edits made (raises EditConflict if they touch the same text)."""
    return apply_edits(source, [e for c in cands for e in c.edits])

"""Every model generator of the test suite, in one place (issue 15 item 7).

- `models()`: hypothesis strategy for small well-formed bare-metal models as `.irq` text (one 8259A
  at base 0x20, 1-3 edge/level devices, a level one sometimes shared with a second device (the
  wired OR, P2), sometimes a device `on_kick` (P1b) with one `kick` in a handler or the thread, a
  gate and a handler per device, an optional thread, random statements);
  `BARE_CONCEPTS` is what it must produce.
- `x86_models()`: what the x86 layer (docs/semantics.md X1-X9) brought: a slave 8259A on a cascade
  with its two EOIs, the special fully nested and special mask modes, automatic rotation, spurious
  IR7 (`may_drop`, `if in_service`), a local APIC with TPR and vector classes, NMIs, software
  interrupts through gates with a DPL (#GP from CPL 3), faults with and without their gate (#NP,
  #DF, triple fault); `X86_CONCEPTS`.
- `kernel_models()`: SMP, spinlocks in every flavour, mutexes, genirq lines (edge and level,
  threaded), softirqs, tasklets, work items, wait queues and the genirq calls; `KERNEL_CONCEPTS`.
- `rwlock_models()`: one rwlock read and written in every flavour from a handler, a softirq and
  threads, recursive reads, a dependency through a spinlock; `RWLOCK_CONCEPTS`.
- `atomic_models()`: small SMP models of R4's atomics (`atomic_inc`/`atomic_dec`, the conditionals
  `atomic_dec_and_test`, `test_and_set`, `test_and_clear`, a `while test_and_set` bit lock), `choose`
  `local_irq_disable`/`enable`, `preempt_disable`/`enable` and per-CPU data (R3), with plain accesses of the same counters beside them;
  `ATOMIC_CONCEPTS`. Separate from `kernel_models()` so that one's fixed draws stay as they were.
- `waitq_models()`: the wait-queue API (R5: prepare_to_wait before or after the test, exclusive and
  timed waits, `if woken`, wake_up vs wake_up_all, schedule under a spinlock) and completions (R6:
  complete, complete_all, reinit_completion, timed waits); `WAITQ_CONCEPTS`.
- `timer_models()`: R7's timers - a `timer` and an `hrtimer` (plain or `soft`) armed, deactivated and
  waited for (`del_timer_sync`, `hrtimer_cancel`) from threads, a request_irq handler and the
  callbacks themselves, with a lock and data they share; `TIMER_CONCEPTS`.
- `seq_models()`: small models of R2's seqcounts and seqlocks: writers of one seqcount (IRQs or BH off
  around them or not) and one seqlock (every flavour) in a handler, a softirq and threads, `read_seq`
  readers of both, one or two CPUs; `SEQ_CONCEPTS`. A family of its own so the others' draws stay.
- `count_models()`: /proc/interrupts counts in invariants and IRQ probing (C1, C2); `COUNT_CONCEPTS`.
- `examples(strategy, n)`: n drawn models, the same on every run (for the concept-coverage tests).
- legal models of unusual shape (`Shape`, `wide_constant`, `call_chain`, ..., `shapes(seed)`): wide
  constants, deep call chains, long sums, long invariants, each with its verdicts known in closed
  form, so tests can assert real verdicts (not only "no crash") under every engine; `shapes(seed)`
  draws a mixed batch for the stress test (tests/checker/test_deep_stress.py); the same seed gives
  the same models.
- `hostile_model()`: names chosen to collide with Python and with the generated code's own names.
- `nested_pic_file(dir, n, b)`: the nested-PIC benchmark model (bench/gen_nested.py) written to a file.
"""

from __future__ import annotations

import random
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

# ---- bare metal (one 8259A) --------------------------------------------------------------------

FLAGS = ("f0", "f1")
COUNTER = "c"
BARE_CHECKS = ("no_lost_irq", "no_starvation", "no_deadlock", "no_reentry", "eoi_balanced", "no_irq_storm")
INVARIANTS = ("not (f0 and f1)", "c <= 1", "not f0 or c == 0", "c != 2", "not f1", "c == 0 or f0")


@st.composite
def _bare_statement(draw: st.DrawFn, own: tuple[str, int] | None, devices: list[tuple[str, int]], nest: int) -> str:
    """One statement. `own` is the handler's device (None in the thread)."""
    kinds = ["nop", "eoi", "sti", "cli", "set", "set", "clear", "inc", "inc", "dec", "ack", "mask", "unmask"]
    if nest < 1:
        kinds.append("if")
    kind = draw(st.sampled_from(kinds))
    dev = own if own is not None else draw(st.sampled_from(devices))
    if kind in ("set", "clear"):
        return f"{kind} {draw(st.sampled_from(FLAGS))}"
    if kind in ("inc", "dec"):
        return f"{kind} {COUNTER}"
    if kind == "ack":
        return f"ack {dev[0]}"
    if kind in ("mask", "unmask"):
        return f"{kind} master.{dev[1]}"
    if kind == "eoi":
        return draw(st.sampled_from(["eoi", "eoi", "eoi master", f"eoi master.{dev[1]}"]))
    if kind == "if":
        neg = draw(st.sampled_from(["", "not "]))
        cond = neg + draw(st.sampled_from(FLAGS))
        then = draw(_bare_block(own, devices, nest + 1, 1, 2))
        if draw(st.booleans()):
            other = draw(_bare_block(own, devices, nest + 1, 1, 2))
            return f"if {cond} {{ {then} }} else {{ {other} }}"
        return f"if {cond} {{ {then} }}"
    return kind


@st.composite
def _bare_block(draw: st.DrawFn, own: tuple[str, int] | None, devices: list[tuple[str, int]], nest: int,
          lo: int, hi: int) -> str:
    n = draw(st.integers(lo, hi))
    return "; ".join(draw(_bare_statement(own, devices, nest)) for _ in range(n))


@st.composite
def models(draw: st.DrawFn) -> str:
    ndev = draw(st.integers(1, 3))
    inputs = draw(st.lists(st.integers(0, 7), min_size=ndev, max_size=ndev, unique=True))
    devices = [(f"d{i}", n) for i, n in enumerate(inputs)]
    auto = draw(st.integers(0, 3)) == 0
    out = ["pic master : i8259 { base 0x20%s }" % ("  eoi auto" if auto else "")]
    gates = []
    at: dict[str, tuple[int, int]] = {}  # level device -> (its line in `out`, its handler's)
    for name, n in devices:
        trig = draw(st.sampled_from(["edge", "level"]))
        if trig == "level":
            at[name] = (len(out), 0)
        out.append(f"device {name} {{ irq master.{n} {trig} raises {draw(st.integers(1, 2))} }}")
        gate = draw(st.sampled_from(["interrupt_gate", "trap_gate"]))
        gates.append(f"{0x20 + n:#x} -> h_{name} {gate} dpl 0")
    out.append("idt { " + "\n      ".join(gates) + " }")
    out.append("flag f0")
    out.append("flag f1")
    out.append(f"counter {COUNTER} max 2")
    for name, n in devices:
        if name in at:
            at[name] = (at[name][0], len(out))
        out.append(f"handler h_{name} {{ {draw(_bare_block((name, n), devices, 0, 1, 3))} }}")
    if draw(st.booleans()):
        body = draw(_bare_block(None, devices, 0, 1, 3))
        if draw(st.booleans()):
            body = f"loop {{ {body} }}"
        out.append(f"thread t on cpu0 {{ {body} }}")
    out.append("check " + ", ".join(BARE_CHECKS))
    if draw(st.booleans()):
        out.append(f"check max_nesting {draw(st.integers(0, 2))}")
    if draw(st.booleans()):
        out.append(f"check invariant {draw(st.sampled_from(INVARIANTS))}")
    if at and draw(st.integers(0, 2)) == 0:
        # drawn last, so the models drawn before wired-OR sharing existed stay as they were
        _share_level_line(out, draw(st.sampled_from(sorted(at))), at, draw(st.booleans()))
    text = "\n".join(out) + "\n"
    # an on_kick device (P1b) and who kicks it, decided from the drawn text rather than drawn: one more
    # draw would change every later example of the fixed-seed corpora (bench/preserve.py compares them)
    pick = zlib.crc32(text.encode())
    if pick % 8 == 0:
        _kick_device(out, devices[(pick >> 3) % len(devices)][0], (pick >> 8) % (len(devices) + 1))
        text = "\n".join(out) + "\n"
    return text


def _share_level_line(out: list[str], name: str, at: dict[str, tuple[int, int]], ack: bool) -> None:
    """Make `name`'s level line a wired OR (P2): a second device `NAMEs` shares it, both `shared`;
    with `ack` the line's handler quiets the sharer too (without, the sharer keeps the line high)."""
    dev, handler = at[name]
    if ack:
        out[handler] = out[handler][:-2] + f"; ack {name}s }}"
    line = out[dev][out[dev].index("irq "):-2].split()[1]
    out[dev] = out[dev][:-2] + "  shared }"
    out.insert(dev + 1, f"device {name}s {{ irq {line} level raises 1  shared }}")


def _kick_device(out: list[str], name: str, where: int) -> None:
    """Make device `name` `on_kick` (P1b) instead of its `raises K` budget, and kick it once: in the
    thread for `where` 0 (one is added when there is none), else in handler number `where` - 1 (of
    the drawn devices, maybe its own)."""
    k = next(i for i, line in enumerate(out) if line.startswith(f"device {name} "))
    out[k] = out[k][:out[k].index(" raises ")] + " on_kick" + out[k][out[k].index(" raises ") + 9:]
    handlers = [i for i, line in enumerate(out) if line.startswith("handler ")]
    threads = [i for i, line in enumerate(out) if line.startswith("thread ")]
    if where > 0:
        at = handlers[where - 1]
    elif threads:
        at = threads[0]
    else:
        out.insert(handlers[-1] + 1, "thread t on cpu0 { }")
        at = handlers[-1] + 1
    head, body = out[at].split("{ ", 1)
    out[at] = f"{head}{{ kick {name}; {body}" if body.strip() != "}" else f"{head}{{ kick {name} }}"


# what `models()` must produce, each at least once in a derandomized run (the coverage test)
BARE_CONCEPTS = {"eoi auto", "edge", "level", "raises 1", "raises 2", "interrupt_gate", "trap_gate", "flag f0",
                 "counter c max 2", "nop", "eoi;", "eoi master", "eoi master.", "sti", "cli", "set f", "clear f",
                 "inc c", "dec c", "ack d", "mask master.", "unmask master.", "if f", "if not f", "} else {",
                 "thread t on cpu0", "loop {", "check max_nesting", "check invariant", "  shared }", "on_kick }",
                 "kick d"}


# ---- x86 (cascade, special modes, APIC, NMI, software interrupts, faults) -------------------------

X86_CHECKS = ("no_lost_irq", "no_starvation", "no_deadlock", "no_reentry", "eoi_balanced", "no_gp", "no_double_fault")
_SYSCALL, _PF, _DF, _GP = 0x80, 14, 8, 13

# what the generator must produce, each at least once in a derandomized run (the coverage test)
X86_CONCEPTS = {"cascade master.2", "eoi slave", "eoi master", "special_fully_nested", "special_mask",
                "rotate automatic", "may_drop", "if in_service", "apic lapic", "tpr", "nmi raises",
                "int 0x80", "dpl 3", "cpl 3", "fault 14", "trap_gate", "level", "mask ", "unmask ",
                "sti", "cli", "eoi auto", "# no gate"}


@st.composite
def x86_models(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pic", "pic", "cascade", "apic"]))
    out: list[str] = []
    devices: list[tuple[str, str, int, str]] = []  # (name, line for mask/eoi, vector, pic)
    if kind == "apic":
        out.append(f"apic lapic {{ tpr {draw(st.sampled_from([0, 0, 0x30, 0x50]))} }}")
        for i, vec in enumerate(draw(st.lists(st.sampled_from([0x31, 0x41, 0x42, 0x61]), min_size=1, max_size=2,
                                                unique=True))):
            out.append(f"device a{i} {{ irq vector {vec:#x} edge raises {draw(st.integers(1, 2))} }}")
            devices.append((f"a{i}", "", vec, ""))
    else:
        opts = draw(st.sampled_from(["", "", "  mode special_fully_nested", "  mode special_mask",
                                     "  rotate automatic", "  eoi auto"]))
        if kind == "cascade" and opts in ("  rotate automatic", "  eoi auto"):
            opts = ""
        out.append(f"pic master : i8259 {{ base 0x20{opts} }}")
        lines = [("master", n) for n in (0, 3, 5, 7)]
        if kind == "cascade":
            out.append("pic slave  : i8259 { base 0x28  cascade master.2 }")
            lines += [("slave", n) for n in (0, 6)]
        chosen = draw(st.lists(st.sampled_from(lines), min_size=1, max_size=3, unique=True))
        if kind == "cascade" and not any(p == "slave" for p, _n in chosen):
            chosen[0] = ("slave", draw(st.sampled_from([0, 6])))
        for i, (pic, n) in enumerate(chosen):
            trig = draw(st.sampled_from(["edge", "level"]))
            drop = "  may_drop" if pic == "master" and n == 7 and trig == "level" and draw(st.booleans()) else ""
            out.append(f"device d{i} {{ irq {pic}.{n} {trig} raises {draw(st.integers(1, 2))}{drop} }}")
            devices.append((f"d{i}", f"{pic}.{n}", (0x20 if pic == "master" else 0x28) + n, pic))
    nmi = draw(st.integers(0, 3)) == 0
    if nmi:
        out.append("device wdt { nmi raises 1 }")
    # the soft interrupt and the fault each have a gate, or not (#GP / #NP / #DF)
    soft = draw(st.booleans())
    fault = draw(st.integers(0, 3)) == 0
    gates = []
    gateless: set[str] = set()
    for name, _line, vec, _pic in devices:
        gate = draw(st.sampled_from(["interrupt_gate", "interrupt_gate", "trap_gate", "interrupt_gate", "none"]))
        if gate == "none":  # X10: the vector faults with #NP at run time
            gateless.add(name)
            k = next(i for i, ln in enumerate(out) if ln.startswith(f"device {name} "))
            out[k] += "  # no gate"
            continue
        gates.append(f"{vec:#x} -> h_{name} {gate} dpl 0")
    if nmi:
        gates.append("2 -> h_nmi interrupt_gate dpl 0")
    if soft:
        gates.append(f"{_SYSCALL:#x} -> h_sys {draw(st.sampled_from(['interrupt_gate', 'trap_gate']))} "
                     f"dpl {draw(st.sampled_from([0, 3]))}")
    if fault:
        for vec in draw(st.sampled_from([[_PF], [_PF, _GP], [_DF], [], [_PF, _DF, _GP]])):
            gates.append(f"{vec} -> h_exc{vec} interrupt_gate dpl 0")
    if soft and draw(st.booleans()) and not any(g.startswith(f"{_GP} ->") for g in gates):
        gates.append(f"{_GP} -> h_exc{_GP} interrupt_gate dpl 0")
    if gates:
        out.append("idt { " + "\n      ".join(gates) + " }")
    out.append("flag f0")
    out.append("data buf")

    def stmt(own: tuple[str, str, int, str] | None, depth: int) -> str:
        kinds = ["nop", "write buf", "set f0", "clear f0", "sti", "cli"]
        if own is not None and kind != "apic" and own[1]:
            kinds += ["eoi", "eoi", "mask", "unmask", "ack"]
            if own[3] == "slave":
                kinds += ["eoi master", "eoi slave"]
        if own is not None and kind == "apic":
            kinds += ["eoi", "eoi"]
        if own is not None and own[1] == "master.7" and depth == 0:
            kinds.append("if in_service")
        if own is None and soft:
            kinds.append("int 0x80")
        if own is None and fault:
            kinds.append("fault 14")
        k = draw(st.sampled_from(kinds))
        if k in ("mask", "unmask"):
            return f"{k} {own[1]}"  # type: ignore[index]
        if k == "ack":
            return f"ack {own[0]}"  # type: ignore[index]
        if k == "if in_service":
            return f"if in_service {{ ack {own[0]}; eoi }}"  # type: ignore[index]
        return k

    def body(own: tuple[str, str, int, str] | None, lo: int, hi: int) -> str:
        return "; ".join(stmt(own, 0) for _ in range(draw(st.integers(lo, hi))))

    for dev in devices:
        if dev[0] not in gateless:
            out.append(f"handler h_{dev[0]} {{ {body(dev, 1, 3)} }}")
    if nmi:
        out.append(f"handler h_nmi {{ {draw(st.sampled_from(['nop', 'write buf', 'sti; nop']))} }}")
    if soft:
        out.append("handler h_sys { write buf }")
    for vec in (_PF, _DF, _GP):
        if any(g.startswith(f"{vec} ->") for g in gates):
            out.append(f"handler h_exc{vec} {{ nop }}")
    if soft or fault or draw(st.booleans()):
        cpl = " cpl 3" if draw(st.booleans()) else ""
        tbody = body(None, 1, 3)
        if soft and "int 0x80" not in tbody:
            tbody += "; int 0x80"
        if cpl and ("cli" in tbody.split("; ") or "sti" in tbody.split("; ")):
            tbody = "; ".join(s for s in tbody.split("; ") if s not in ("cli", "sti")) or "nop"
        out.append(f"thread t on cpu0{cpl} {{ {tbody} }}")
    out.append("check " + ", ".join(X86_CHECKS))
    if draw(st.booleans()):
        out.append(f"check max_nesting {draw(st.integers(0, 2))}")
    return "\n".join(out) + "\n"


# ---- the Linux kernel layer --------------------------------------------------------------------------

KERNEL_CHECKS = ("no_lost_irq", "no_deadlock", "no_reentry", "eoi_balanced", "no_sleep_in_atomic", "no_data_race",
                 "lockdep", "no_lost_wakeup", "no_irq_storm")
LOCKS = ("l0", "l1")
KERNEL_CONCEPTS = {"cpus 2", "spin_lock", "spin_lock_irqsave", "spin_lock_irq", "spin_lock_bh", "mutex_lock",
                   "local_irq_save", "local_bh_disable", "request_irq", "thread", "oneshot", "softirq", "tasklet", "work",
                   "wait_event", "sleep_on", "if not e { sleep_on q }", "spin_unlock_irq l1; spin_unlock l0", "wake_up", "disable_irq", "disable_irq_nosync", "enable_irq", "sleep",
                   "raise_softirq", "tasklet_schedule", "queue_work", "return none", "on cpu1", "level", "raises any",
                   "busy on cpu", "mutex_lock m }", "local_irq_save; local_irq_save; local_irq_save; local_irq_save",
                   "local_bh_disable; local_bh_disable; local_bh_disable; local_bh_disable",
                   "disable_irq_nosync 3; disable_irq_nosync 3; disable_irq_nosync 3"}


@st.composite
def _kernel_critical(draw: st.DrawFn, process: bool) -> str:
    lk = draw(st.sampled_from(LOCKS))
    kind = draw(st.sampled_from(["spin_lock", "spin_lock_irqsave", "spin_lock_irq", "spin_lock_bh"]
                                + (["mutex_lock"] if process else [])))
    unlock = {"spin_lock": "spin_unlock", "spin_lock_irqsave": "spin_unlock_irqrestore",
              "spin_lock_irq": "spin_unlock_irq", "spin_lock_bh": "spin_unlock_bh", "mutex_lock": "mutex_unlock"}[kind]
    if kind == "mutex_lock":
        lk = "m"
    inner = draw(st.sampled_from(["write x", "read x", "set f", f"spin_lock {LOCKS[1 - LOCKS.index(lk)]}; write x; "
                                  f"spin_unlock {LOCKS[1 - LOCKS.index(lk)]}" if lk in LOCKS else "write x"]))
    return f"{kind} {lk}; {inner}; {unlock} {lk}"


@st.composite
def _kernel_stmt(draw: st.DrawFn, process: bool, irq_ctx: bool) -> str:
    opts = ["write x", "read x", "set f", "clear f", "crit", "raise_softirq s", "tasklet_schedule tk",
            "queue_work w", "wake_up q"]
    if process:
        opts += ["local_irq_save; write x; local_irq_restore", "local_bh_disable; write x; local_bh_enable", "sleep",
                 "wait_event q until f", "if not f { sleep_on q }", "disable_irq 3; enable_irq 3",
                 "if not f { if not e { sleep_on q } }",  # W1: the sleeper waits for `f or e`
                 "spin_lock_irq l1; spin_lock l0; spin_unlock_irq l1; spin_unlock l0",  # K4: l0 held, IRQs on
                 "disable_irq_nosync 3; enable_irq 3", "enable_irq 3", "mutex_lock m",
                 # nesting past every former clamp (issue 23): the counters must stay exact
                 "local_irq_save; " * 4 + "local_irq_restore; " * 3 + "write x; local_irq_restore",
                 "local_bh_disable; " * 4 + "local_bh_enable; " * 3 + "write x; local_bh_enable",
                 "disable_irq_nosync 3; " * 3 + "enable_irq 3; " * 3 + "enable_irq 3"]
    else:
        opts += ["sleep", "disable_irq_nosync 3"]
    if irq_ctx:
        opts += ["return none"]
    k = draw(st.sampled_from(opts))
    return draw(_kernel_critical(process)) if k == "crit" else k


@st.composite
def _kernel_block(draw: st.DrawFn, process: bool, irq_ctx: bool = False) -> str:
    return "; ".join(draw(_kernel_stmt(process, irq_ctx)) for _ in range(draw(st.integers(1, 2))))


@st.composite
def kernel_models(draw: st.DrawFn) -> str:
    cpus = draw(st.integers(1, 2))
    level = draw(st.booleans())
    threaded = draw(st.booleans())
    busy = draw(st.booleans())  # unrelated activity that must not hide a context blocked for ever (issue 22)
    # the busy thread gets a CPU of its own: two threads on one CPU make the first declared the running
    # one, and the metamorphic tests reorder declarations
    out = [f"cpus {cpus + busy}", "pic master : i8259 { base 0x20 }",
           f"device nic {{ irq master.3 {'level' if level else 'edge'} "
           f"raises {draw(st.sampled_from(['1', '2', 'any']))}"
           + (" on cpu1" if cpus == 2 and draw(st.booleans()) else "") + " }",
           "spinlock l0", "spinlock l1", "mutex m", "data x", "flag f", "flag e", "waitqueue q"]
    if threaded:
        out.append("request_irq 3 isr thread it" + (" oneshot" if level or draw(st.booleans()) else ""))
        out.append(f"irq_thread it {{ {draw(_kernel_block(True))}{'; ack nic' if level else ''} }}")
        body = draw(_kernel_block(False, True)) + "; return wake_thread"
    else:
        out.append("request_irq 3 isr")
        body = draw(_kernel_block(False, True)) + ("; ack nic" if level else "")
    out.append(f"handler isr {{ {body} }}")
    out.append(f"softirq s {{ {draw(_kernel_block(False))} }}")
    out.append(f"tasklet tk {{ {draw(_kernel_block(False))} }}")
    out.append(f"work w {{ {draw(_kernel_block(True))} }}")
    for k in range(draw(st.integers(1, cpus))):
        out.append(f"thread t{k} on cpu{k} {{ {draw(_kernel_block(True))} }}")
    if busy:
        out += ["flag g", f"thread busy on cpu{cpus} {{ loop {{ set g; clear g }} }}"]
    out.append("check " + ", ".join(KERNEL_CHECKS))
    return "\n".join(out) + "\n"


SYMMETRY_CHECKS = ("no_reentry", "no_sleep_in_atomic", "no_data_race", "lockdep", "eoi_balanced")


@st.composite
def symmetric_models(draw: st.DrawFn) -> str:
    """Two CPUs, one NIC any CPU takes, the same thread pinned to each CPU (and sometimes a second
    identical pair on one CPU, which makes the CPUs differ): the lowering proposes cpu0 <-> cpu1, the
    engine verifies it. Sometimes cpu1's thread differs by one statement: a proposal the engine
    must refuse. Safety checks only (the symmetry reduction's scope, checker/reduce.py)."""
    def block(process: bool, irq_ctx: bool = False) -> str:  # no work item: its kworker is cpu0's
        return draw(_kernel_block(process, irq_ctx)).replace("queue_work w", "raise_softirq s")
    body = block(True)
    other = block(True) if draw(st.integers(0, 3)) == 0 else body
    out = ["cpus 2", "pic master : i8259 { base 0x20 }",
           f"device nic {{ irq master.3 edge raises {draw(st.sampled_from(['1', '2']))} }}",
           "spinlock l0", "spinlock l1", "mutex m", "data x", "flag f", "flag e", "waitqueue q",
           "request_irq 3 isr", f"handler isr {{ {block(False, True)} }}",
           f"softirq s {{ {block(False)} }}", f"tasklet tk {{ {block(False)} }}",
           f"thread t0 on cpu0 {{ {body} }}", f"thread t1 on cpu1 {{ {other} }}"]
    if draw(st.integers(0, 3)) == 0:
        out += ["thread u0 on cpu0 { read x }", "thread u1 on cpu0 { read x }"]
    out.append("check " + ", ".join(SYMMETRY_CHECKS))
    return "\n".join(out) + "\n"


GRAPH_CHECKS = ("no_lost_irq", "no_starvation", "no_irq_storm", "no_deadlock", "no_reentry", "no_sleep_in_atomic",
                "no_lost_wakeup", "no_data_race", "lockdep", "eoi_balanced")


@st.composite
def symmetric_graph_models(draw: st.DrawFn) -> str:
    """Two or three CPUs with the same thread pinned to each, one NIC any CPU takes, its handler, a
    softirq and a tasklet, and every check the state graph judges (deadlock, starvation, lost
    wake-ups) with the safety ones: the symmetry quotient's analyses (checker/liveness.py) against
    the unreduced graph. The statements lean towards what breaks those checks - a line disabled for
    ever, a sleep without its wake-up, a lock a handler takes without irqsave - so that violations
    are found on the quotient and re-found unreduced."""
    def block(process: bool, irq_ctx: bool = False) -> str:
        return draw(_kernel_block(process, irq_ctx)).replace("queue_work w", "raise_softirq s")
    cpus = draw(st.integers(2, 3))
    body = block(True)
    extra = draw(st.sampled_from(["", "disable_irq_nosync 3", "if not f { sleep_on q }", "spin_lock l0; write x; "
                                  "spin_unlock l0", "wait_event q until f", "mutex_lock m", "spin_lock l1"]))
    if extra:
        body = f"{body}; {extra}"
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }",
           f"device nic {{ irq master.3 {draw(st.sampled_from(['edge', 'level']))} "
           f"raises {draw(st.sampled_from(['1', '2']))} }}",
           "spinlock l0", "spinlock l1", "mutex m", "data x", "flag f", "flag e", "waitqueue q",
           "request_irq 3 isr", f"handler isr {{ {block(False, True)}; ack nic }}",
           f"softirq s {{ {block(False)} }}", f"tasklet tk {{ {block(False)} }}"]
    out += [f"thread t{k} on cpu{k} {{ {body} }}" for k in range(cpus)]
    out.append("check " + ", ".join(GRAPH_CHECKS))
    return "\n".join(out) + "\n"


# ---- rwlocks (R1, K4, K5) -----------------------------------------------------------------------------

RW_FLAVOURS = {"": ("", ""), "_irqsave": ("_irqsave", "_irqrestore"), "_irq": ("_irq", "_irq"), "_bh": ("_bh", "_bh")}
RWLOCK_CONCEPTS = {"read_lock L", "read_lock_irqsave", "read_lock_irq", "read_lock_bh", "write_lock L", "write_lock_irqsave",
                   "write_lock_irq", "write_lock_bh", "read_lock L; read_lock L", "softirq s", "cpus 2",
                   "raise_softirq s", "spin_lock l0; read_lock L"}


@st.composite
def _rw_stmt(draw: st.DrawFn) -> str:
    side = draw(st.sampled_from(["read", "write", "nested", "other", "raise"]))
    if side == "nested":  # qrwlock's recursive read (process context) vs in interrupt
        return "read_lock L; read_lock L; read x; read_unlock L; read_unlock L"
    if side == "other":  # a dependency through another lock (K5)
        return "spin_lock l0; read_lock L; read x; read_unlock L; spin_unlock l0"
    if side == "raise":
        return "raise_softirq s"
    take, drop = RW_FLAVOURS[draw(st.sampled_from(sorted(RW_FLAVOURS)))]
    access = "read x" if side == "read" else "write x"
    return f"{side}_lock{take} L; {access}; {side}_unlock{drop} L"


@st.composite
def rwlock_models(draw: st.DrawFn) -> str:
    """Small models around one rwlock: a reader or writer of every flavour in a handler, a softirq and
    one or two threads, recursive reads and a dependency through a spinlock; `RWLOCK_CONCEPTS`."""
    cpus = draw(st.integers(1, 2))
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }",
           f"device nic {{ irq master.3 edge raises {draw(st.integers(1, 2))}"
           + (" on cpu0" if draw(st.booleans()) else "") + " }",
           "request_irq 3 isr", "rwlock L", "spinlock l0", "data x",
           f"handler isr {{ {draw(_rw_stmt())} }}", f"softirq s {{ {draw(_rw_stmt())} }}"]
    for k in range(cpus):
        out.append(f"thread t{k} on cpu{k} {{ {draw(_rw_stmt())} }}")
    out.append("check no_deadlock, no_data_race, lockdep, no_sleep_in_atomic")
    return "\n".join(out) + "\n"


# ---- atomics, choose, local_irq_disable/enable (R4) ---------------------------------------------------

ATOMIC_CHECKS = ("no_data_race", "no_reentry", "no_deadlock", "eoi_balanced")
ATOMIC_CONCEPTS = {"atomic_inc c", "atomic_dec c", "inc c", "read c", "if atomic_dec_and_test ref",
                   "if not test_and_set busy", "if test_and_clear f", "while test_and_set busy { }", "choose {",
                   "} or { set f } or {", "local_irq_disable", "preempt_disable", "cpus 2", "write p",
                   "read p on cpu0"}
_ATOMIC_ANY = ["atomic_inc c", "atomic_dec c", "inc c", "read c", "if atomic_dec_and_test ref { call crit }",
               "if not test_and_set busy { call crit; clear busy }", "if test_and_clear f { write x } else { set f }",
               "choose { atomic_inc c } or { read x }", "choose { nop } or { set f } or { clear f }", "write p",
               "read p on cpu0"]
_ATOMIC_TASK = ["local_irq_disable; write x; local_irq_enable", "while test_and_set busy { }; call crit; clear busy",
                "preempt_disable; atomic_inc c; preempt_enable"]


@st.composite
def atomic_models(draw: st.DrawFn) -> str:
    cpus = draw(st.integers(1, 2))

    def block(task: bool) -> str:
        opts = _ATOMIC_ANY + (_ATOMIC_TASK if task else [])
        return "; ".join(draw(st.sampled_from(opts)) for _ in range(draw(st.integers(1, 2))))
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }",
           "device nic { irq master.3 edge raises 1" + (" on cpu1" if cpus == 2 and draw(st.booleans()) else "")
           + " }", "request_irq 3 isr", "counter c max 2", "counter ref max 2 = 2", "flag busy", "flag f", "data x",
           "percpu data p",
           "function crit nonreentrant { write x }", f"handler isr {{ {block(False)} }}"]
    for k in range(cpus):
        out.append(f"thread t{k} on cpu{k} {{ {block(True)} }}")
    out.append("check " + ", ".join(ATOMIC_CHECKS))
    return "\n".join(out) + "\n"


# ---- the wait-queue API and completions (R5, R6) -------------------------------------------------------

WAITQ_CHECKS = ("no_lost_wakeup", "no_deadlock", "no_sleep_in_atomic")
WAITQ_CONCEPTS = {"prepare_to_wait q; if not f", "if not f { prepare_to_wait q", "prepare_to_wait_exclusive",
                  "schedule_timeout", "wait_event_exclusive", "wait_event_timeout", "if not woken", "wake_up_all q",
                  "wake_up q", "complete c", "complete_all c", "reinit_completion c", "wait_for_completion c",
                  "wait_for_completion_timeout c", "spin_lock l; schedule", "cpus 2"}
_WAKERS = ["set f; wake_up q", "wake_up q; set f", "set f; wake_up_all q", "complete c", "complete_all c",
           "set f; complete c"]
_WAITERS = ["prepare_to_wait q; if not f { schedule }; finish_wait q",
            "if not f { prepare_to_wait q; schedule; finish_wait q }",
            "prepare_to_wait_exclusive q; if not f { schedule_timeout }; finish_wait q",
            "wait_event_exclusive q until f", "wait_event_timeout q until f; if not woken { clear f }",
            "wait_for_completion c", "reinit_completion c; wait_for_completion c", "wait_for_completion_timeout c",
            "prepare_to_wait q; spin_lock l; schedule; spin_unlock l; finish_wait q", "complete c", "wake_up q"]


@st.composite
def waitq_models(draw: st.DrawFn) -> str:
    """R5/R6: a handler (and sometimes a thread) wakes or completes, one or two threads wait with the
    wait-queue API or a completion (test-then-prepare, exclusive, timed, reinit); `WAITQ_CONCEPTS`."""
    cpus = draw(st.integers(1, 2))
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }",
           "device nic { irq master.3 edge raises 1" + (" on cpu0" if cpus == 2 and draw(st.booleans()) else "") + " }",
           "request_irq 3 isr", "waitqueue q", "completion c", "flag f", "spinlock l",
           f"handler isr {{ {draw(st.sampled_from(_WAKERS))} }}"]
    for k in range(draw(st.integers(1, 2))):
        out.append(f"thread t{k} on cpu{k % cpus} {{ {draw(st.sampled_from(_WAITERS))} }}")
    out.append("check " + ", ".join(WAITQ_CHECKS))
    return "\n".join(out) + "\n"


# ---- timers and hrtimers (R7) -----------------------------------------------------------------------

TIMER_CHECKS = ("no_deadlock", "no_data_race", "no_reentry", "lockdep")
TIMER_CONCEPTS = {"mod_timer tm", "del_timer tm", "del_timer_sync tm", "hrtimer_start hr", "hrtimer_cancel hr",
                  "hrtimer_try_to_cancel hr", "hrtimer hr soft", "hrtimer hr {", "cpus 2", "spin_lock_bh l",
                  "spin_lock_irqsave l", "spin_lock l", "request_irq 3 isr"}
_TIMER_ANY = ["mod_timer tm", "del_timer tm", "hrtimer_start hr", "hrtimer_try_to_cancel hr", "write x", "read x",
              "spin_lock l; write x; spin_unlock l"]
_TIMER_WAITS = ["del_timer_sync tm", "hrtimer_cancel hr"]
_TIMER_TASK = ["spin_lock_bh l; write x; spin_unlock_bh l", "spin_lock_irqsave l; write x; spin_unlock_irqrestore l",
               "spin_lock_bh l; del_timer_sync tm; spin_unlock_bh l"]


@st.composite
def timer_models(draw: st.DrawFn) -> str:
    """R7: a timer and an hrtimer (plain or soft) armed by one thread per CPU, deactivated or waited for
    from the threads, a handler and the callbacks, sharing a lock and data; `TIMER_CONCEPTS`."""
    cpus = draw(st.integers(1, 2))

    def block(task: bool) -> str:
        opts = _TIMER_ANY + _TIMER_WAITS + (_TIMER_TASK if task else [])
        return "; ".join(draw(st.sampled_from(opts)) for _ in range(draw(st.integers(1, 2))))
    out = [f"cpus {cpus}", "spinlock l", "data x", f"timer tm {{ {block(False)} }}",
           f"hrtimer hr{' soft' if draw(st.booleans()) else ''} {{ {block(False)} }}"]
    if draw(st.booleans()):
        out += ["pic master : i8259 { base 0x20 }", "device nic { irq master.3 edge raises 1 }",
                "request_irq 3 isr", f"handler isr {{ {block(False)} }}"]
    for k in range(cpus):
        arm = draw(st.sampled_from(["mod_timer tm", "hrtimer_start hr", "mod_timer tm; hrtimer_start hr"]))
        out.append(f"thread t{k} on cpu{k} {{ {arm}; {block(True)} }}")
    out.append("check " + ", ".join(TIMER_CHECKS))
    return "\n".join(out) + "\n"


# ---- I/O APIC pins and MSI/MSI-X (A1-A4) ---------------------------------------------------------------

MESSAGE_CHECKS = ("no_lost_irq", "no_data_race", "eoi_balanced", "no_starvation")
MESSAGE_CONCEPTS = {"ioapic io0", "level raises", "level shared", "edge raises", "thread ta oneshot", "msi raises",
                    "msix raises", " on cpu1", "cpus 2", "ack a", "disable_irq m0", "disable_irq 11",
                    "vector 0x3e", "eoi"}
_PIN_HANDLER = ["ack a", "ack a; read x", "read x", "write x; ack a"]
_MSG_TASK = ["disable_irq m0; write x; enable_irq m0", "disable_irq 11; enable_irq 11", "read x", "write x"]


@st.composite
def message_models(draw: st.DrawFn) -> str:
    """A1-A4: an I/O APIC pin (edge, level, a shared level pin, a oneshot threaded level pin) bound with
    request_irq, an MSI or MSI-X source (sometimes on cpu1), sometimes a bare-metal pin with its own
    vector and gate, and a thread that disables either line; `MESSAGE_CONCEPTS`."""
    cpus = draw(st.integers(1, 2))

    def route() -> str:
        return " on cpu1" if cpus == 2 and draw(st.booleans()) else ""
    out = [f"cpus {cpus}", "ioapic io0 { pins 24 }", "data x"]
    pin = draw(st.sampled_from(["level", "shared", "edge", "oneshot"]))
    if pin == "shared":
        out += ["device a { irq io0.11 level shared raises 1 }", "device b { irq io0.11 level shared raises 1 }",
                "request_irq 11 ha shared dev_id a", "request_irq 11 hb shared dev_id b",
                f"handler hb {{ {draw(st.sampled_from(['ack b', 'nop']))} }}"]
    elif pin == "oneshot":
        out += ["device a { irq io0.11 level raises 1 }", "request_irq 11 NULL thread ta oneshot",
                f"irq_thread ta {{ {draw(st.sampled_from(_PIN_HANDLER))} }}"]
    else:
        out += [f"device a {{ irq io0.11 {pin} raises {draw(st.integers(1, 2))}{route()} }}", "request_irq 11 ha"]
    if pin != "oneshot":
        out.append(f"handler ha {{ {draw(st.sampled_from(_PIN_HANDLER))} }}")
    out += [f"device m0 {{ {draw(st.sampled_from(['msi', 'msix']))} raises {draw(st.integers(1, 2))}{route()} }}",
            "request_irq m0 hm", f"handler hm {{ {draw(st.sampled_from(['write x', 'read x', 'nop']))} }}"]
    if draw(st.booleans()):
        out += ["device ide { irq io0.14 edge vector 0x3e raises 1 }", "idt { 0x3e -> hi interrupt_gate dpl 0 }",
                f"handler hi {{ {draw(st.sampled_from(['read x; eoi', 'eoi', 'nop']))} }}"]
    out.append(f"thread t0 on cpu0 {{ {draw(st.sampled_from(_MSG_TASK))} }}")
    out.append("check " + ", ".join(MESSAGE_CHECKS))
    return "\n".join(out) + "\n"


# ---- seqcounts and seqlocks (R2) -------------------------------------------------------------------

SEQ_CONCEPTS = {"seqcount sc", "seqlock sl", "write_seqcount_begin sc", "read_seq sc {", "read_seq sl {",
                "write_seqlock sl", "write_seqlock_irqsave sl", "write_seqlock_irq sl", "write_seqlock_bh sl",
                "local_irq_save; write_seqcount_begin", "local_bh_disable; write_seqcount_begin", "cpus 2",
                "raise_softirq s"}
_SEQ_ANY = ["read_seq sc { read x }", "read_seq sl { read y; read x }", "write_seqcount_begin sc; write x; write_seqcount_end sc",
            "raise_softirq s"]
_SEQ_TASK = ["local_irq_save; write_seqcount_begin sc; write x; write_seqcount_end sc; local_irq_restore",
             "local_bh_disable; write_seqcount_begin sc; write x; write_seqcount_end sc; local_bh_enable"]


@st.composite
def _seq_stmt(draw: st.DrawFn, task: bool) -> str:
    if draw(st.integers(0, 3)) == 0:  # a seqlock writer of some flavour (its spinlock: K1-K5 apply)
        take, drop = RW_FLAVOURS[draw(st.sampled_from(sorted(RW_FLAVOURS)))]
        return f"write_seqlock{take} sl; write y; write_sequnlock{drop} sl"
    return draw(st.sampled_from(_SEQ_ANY + (_SEQ_TASK if task else [])))


@st.composite
def seq_models(draw: st.DrawFn) -> str:
    """Small models around one seqcount and one seqlock: writers and `read_seq` readers in a handler, a
    softirq and one or two threads; `SEQ_CONCEPTS`."""
    cpus = draw(st.integers(1, 2))
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }",
           "device nic { irq master.3 edge raises 1" + (" on cpu0" if draw(st.booleans()) else "") + " }",
           "request_irq 3 isr", "seqcount sc", "seqlock sl", "data x", "data y",
           f"handler isr {{ {draw(_seq_stmt(False))} }}", f"softirq s {{ {draw(_seq_stmt(False))} }}"]
    for k in range(cpus):
        out.append(f"thread t{k} on cpu{k} {{ {draw(_seq_stmt(True))} }}")
    out.append("check no_deadlock, no_data_race, lockdep, no_sleep_in_atomic")
    return "\n".join(out) + "\n"


# ---- /proc/interrupts counts (C1) and IRQ probing (C2) --------------------------------------------

COUNT_CHECKS = ("probe_irq", "invariant", "no_lost_irq", "eoi_balanced", "no_deadlock")
COUNT_CONCEPTS = {"irqs(nic)", "irqs(nic, cpu1)", "irqs(3)", "probe_irq_on", "probe_irq_off found", "probe found for",
                  "on_kick", "request_irq 4", "udelay", "cpus 2", "idt {", "level", "ioapic io0", "io0.4 level"}
_PROBE_BODIES = ["probe_irq_on; kick card; udelay; probe_irq_off found", "probe_irq_on; kick card; probe_irq_off found",
                 "kick card; udelay; probe_irq_on; probe_irq_off found", "probe_irq_on; udelay; probe_irq_off found"]
_COUNT_INVARIANTS = ["irqs(nic) <= 1", "irqs(nic, cpu1) == 0", "irqs(3) < 2", "irqs(nic) == irqs(3)",
                     "irqs(nic) + irqs(nic, cpu1) <= 2"]


@st.composite
def count_models(draw: st.DrawFn) -> str:
    """The counts `irqs(X)` in invariants (a request_irq line, or a bare-metal gate) and probing: a card
    on an unrequested line, a modem that is requested or probed too, the four orders of the driver's
    steps; `COUNT_CONCEPTS`."""
    if draw(st.integers(0, 3)) == 0:
        return _ioapic_probe(draw)
    cpus = draw(st.integers(1, 2))
    bare = draw(st.booleans())
    level = not bare and draw(st.integers(0, 3)) == 0
    nic = "device nic { irq master.3 " + ("level" if level else "edge") + f" raises {draw(st.integers(1, 2))}" + \
        (" on cpu0" if cpus == 2 and draw(st.booleans()) else "") + " }"
    out = [f"cpus {cpus}", "pic master : i8259 { base 0x20 }", nic]
    isr = "handler isr { " + ("ack nic" if level else "nop") + ("; eoi }" if bare else " }")
    out += ["idt { 0x23 -> isr interrupt_gate dpl 0 }" if bare else "request_irq 3 isr", isr]
    invariant = draw(st.sampled_from(_COUNT_INVARIANTS))
    if cpus == 1:
        invariant = invariant.replace(", cpu1", ", cpu0")
    if draw(st.booleans()):
        out += ["device card { irq master.5 edge on_kick }", "device modem { irq master.4 edge raises 1 }",
                "probe found for card", f"thread init on cpu0 {{ {draw(st.sampled_from(_PROBE_BODIES))} }}"]
        if draw(st.booleans()):
            out += ["request_irq 4 modem_isr", "handler modem_isr { nop }"]
    out.append("check " + ", ".join(COUNT_CHECKS[:1]) + f", invariant {invariant}, " + ", ".join(COUNT_CHECKS[2:]))
    return "\n".join(out) + "\n"


def _ioapic_probe(draw: st.DrawFn) -> str:
    """C2 on an I/O APIC: the card's pin and a modem on an edge or level pin, probed by GSI unless
    the modem is requested; a request_irq'd NIC counted by `irqs()`."""
    trig = draw(st.sampled_from(["edge", "level"]))
    out = ["ioapic io0 { pins 24 }", "device card { irq io0.5 edge on_kick }",
           f"device modem {{ irq io0.4 {trig} raises 1 }}", "probe found for card"]
    if draw(st.booleans()):
        out += ["request_irq 4 modem_isr", "handler modem_isr { " + ("ack modem" if trig == "level" else "nop") + " }"]
    out.append(f"thread init on cpu0 {{ {draw(st.sampled_from(_PROBE_BODIES))} }}")
    out.append("check probe_irq, no_lost_irq, no_deadlock")
    return "\n".join(out) + "\n"


# ---- drawing examples ----------------------------------------------------------------------------

def examples(strategy: st.SearchStrategy[str], n: int) -> list[str]:
    """n generated models, the same on every run."""
    out: list[str] = []

    @settings(max_examples=n, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(text: str) -> None:
        out.append(text)
    collect()
    return out


# ---- legal models of unusual shape (closed-form verdicts) ---------------------------------------------

INT32_MAX = 2**31 - 1


@dataclass
class Shape:
    """A model and what every engine must say about it (check -> "holds" / "violated")."""

    name: str
    text: str
    expect: dict[str, str] = field(default_factory=dict)


def wide_constant(k: int, op: str = "<", mx: int = 3) -> Shape:
    """`check invariant c OP k` on a counter 0..mx that a thread raises to mx: decided by k alone."""
    text = (f"counter c max {mx}\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)} }}\n"
            f"check invariant c {op} {k}\n")
    ok = all({"<": v < k, "<=": v <= k, ">": v > k, ">=": v >= k, "==": v == k, "!=": v != k}[op]
             for v in range(mx + 1))
    return Shape(f"wide_{op}_{k}", text, {"invariant": "holds" if ok else "violated", "counter_range": "holds"})


def wide_if(k: int, mx: int = 3) -> Shape:
    """`if c < k { set f }` after c is raised to mx; `invariant not f`: violated iff some c < k."""
    text = (f"counter c max {mx}\nflag f\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)}; if c < {k} {{ set f }} }}\n"
            "check invariant not f\n")
    return Shape(f"wide_if_{k}", text, {"invariant": "violated" if mx < k else "holds",
                                        "counter_range": "holds"})


def wide_sum(k: int, mx: int = 3) -> Shape:
    """Constants that cancel: `c + K - K < 2` is `c < 2`, however wide K is."""
    text = (f"counter c max {mx}\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)} }}\n"
            f"check invariant c + {k} - {k} < 2\n")
    return Shape(f"wide_sum_{k}", text, {"invariant": "violated" if mx >= 2 else "holds",
                                         "counter_range": "holds"})


def call_chain(n: int, violate: bool = True) -> Shape:
    """fn0 calls fn1 ... calls fn{n-1}, which increments c; the thread increments it again after
    the call. `invariant c < 2` is violated (c reaches 2) unless `violate` is false (then `< 3`)."""
    fns = "\n".join(f"function fn{i} {{ call fn{i + 1} }}" for i in range(n - 1))
    text = ("counter c max 3\n"
            "thread t { call fn0; inc c }\n"
            f"{fns}\nfunction fn{n - 1} {{ inc c }}\n"
            f"check invariant c < {2 if violate else 3}\n")
    return Shape(f"calls_{n}", text, {"invariant": "violated" if violate else "holds", "counter_range": "holds"})


def long_sum_if(n: int, bound: int) -> Shape:
    """`if c + c + ... (n terms) > bound { set f }` after one `inc c`: f is set iff n > bound."""
    s = " + ".join(["c"] * n)
    text = ("counter c max 3\nflag f\n"
            f"thread t {{ inc c; if {s} > {bound} {{ set f }} }}\n"
            "check invariant not f\n")
    return Shape(f"sum_if_{n}_{bound}", text, {"invariant": "violated" if n > bound else "holds",
                                                "counter_range": "holds"})


def long_invariant(n: int, bound: int, mx: int = 3) -> Shape:
    """`invariant c + c + ... (n terms) < bound` while c goes 0..mx: violated iff n*mx >= bound."""
    s = " + ".join(["c"] * n)
    text = (f"counter c max {mx}\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)} }}\n"
            f"check invariant {s} < {bound}\n")
    return Shape(f"inv_{n}_{bound}", text, {"invariant": "violated" if n * mx >= bound else "holds",
                                             "counter_range": "holds"})


def mixed_sum(rng: random.Random, n: int) -> Shape:
    """n terms over two counters with random signs and wide constants; the verdict computed here."""
    terms = [("+", "a")]
    for _ in range(n - 1):
        what = rng.choice(["a", "b", "k"])
        sign = rng.choice("+-")
        terms.append((sign, str(rng.choice([1, 7, 2**31, 2**32 + 1, 2**64, 2**255])) if what == "k" else what))
    src = terms[0][1] + "".join(f" {s} {t}" for s, t in terms[1:])
    bound = rng.choice([0, 1, 5, 2**31, -(2**31)])
    bound_src = str(bound) if bound >= 0 else f"0 - {-bound}"

    def value(a: int, b: int) -> int:
        env = {"a": a, "b": b}
        return sum((1 if s == "+" else -1) * (env[t] if t in env else int(t)) for s, t in terms)

    reach = [(0, 0), (1, 0), (1, 1), (2, 1), (2, 2), (3, 2)]  # the thread's steps, in order
    ok = all(value(a, b) < bound for a, b in reach)
    text = ("counter a max 3\ncounter b max 2\n"
            "thread t { inc a; inc b; inc a; inc b; inc a }\n"
            f"check invariant {src} < {bound_src}\n")
    return Shape(f"mixed_{n}", text, {"invariant": "holds" if ok else "violated", "counter_range": "holds"})


WIDE = [2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**63, 2**64 + 1, 2**255, 2**300]


def shapes(seed: int) -> list[Shape]:
    """A batch of every shape, sizes and constants drawn from `seed`."""
    rng = random.Random(seed)
    k = rng.choice(WIDE)
    return [
        wide_constant(k, rng.choice(["<", "<=", ">", ">=", "==", "!="])),
        wide_if(rng.choice(WIDE + [2, 3])),
        wide_sum(rng.choice(WIDE)),
        call_chain(rng.randint(50, 500), violate=rng.random() < 0.5),
        long_sum_if(rng.randint(200, 1000), rng.choice([3, 500, 2**40])),
        long_invariant(rng.randint(150, 400), rng.choice([200, 2000, 2**33])),
        mixed_sum(rng, rng.randint(5, 60)),
    ]


# ---- hostile names ---------------------------------------------------------------------------------

HOSTILE = ["__import__", "exec", "eval", "__builtins__", "os", "s", "out", "vio", "n", "x0", "S0", "True",
           "frozenset", "globals", "__class__", "lambda_", "_"]


def hostile_model() -> str:
    flags = "\n".join(f"flag {n}" for n in HOSTILE)
    sets = "; ".join(f"set {n}" for n in HOSTILE)
    return f"""pic master : i8259 {{ base 0x20 }}
device __init__ {{ irq master.3 edge raises 1 }}
idt {{ 0x23 -> __del__ interrupt_gate dpl 0 }}
{flags}
counter __dict__ max 2
handler __del__ {{ {sets}; inc __dict__; eoi }}
thread system {{ if __import__ and exec {{ call __reduce__ }} }}
function __reduce__ {{ clear os }}
check no_lost_irq, no_reentry
check invariant not (x0 and S0)
"""


# ---- the nested-PIC benchmark model ---------------------------------------------------------------

def nested_pic_file(where: Path, n: int = 6, b: int = 2, name: str | None = None) -> str:
    """bench/gen_nested.py's `nested_pic(n, b)` written to `where/name` (default `n{n}_{b}.irq`);
    its path. nested_pic(6, 2) has 2.5 million states: several seconds."""
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    from gen_nested import nested_pic
    p = where / (name or f"n{n}_{b}.irq")
    p.write_text(nested_pic(n, b))
    return str(p)


def apic_vectors(n: int) -> str:
    """A local APIC with n edge devices on vectors 0x30.., each with its own gate and handler (the
    compiler-scale tests: the APIC's lowering must grow polynomially in n)."""
    out = ["apic lapic { tpr 0 }"]
    out += [f"device d{k} {{ irq vector {0x30 + k} edge raises 1 }}" for k in range(n)]
    out.append("idt {\n" + "\n".join(f"  {0x30 + k} -> h{k} interrupt_gate dpl 0" for k in range(n)) + "\n}")
    out += [f"handler h{k} {{ eoi }}" for k in range(n)]
    return "\n".join(out) + "\n"

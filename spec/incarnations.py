"""Every way into frame code, and what all CPUs share: location numbering, tasks, the depth bound.

* `discover`: incarnations (a gate vector per controller request and per vector reached by `int n`,
  `fault v` and NMI along x86.py's static chains; spurious IR7/15; one genirq *flow* per
  `request_irq` line, compiled by cfg.compile_flow; one per softirq and tasklet) and the task
  bodies (threads, irq threads, work items). A vector reached by `int n` that is also a
  controller input keeps the controller's identity. A chain that ends in a triple fault makes
  `may_halt` true (the lowering then adds `cpu0.shutdown`).
* gate-less hardware vectors (X10): a device's vector with no gate is a `Gateless` way in; its
  fault chain's target gate is discovered like a synchronous event's.
* `number`: the incarnations' bodies laid end to end give one frame pc numbering (0 = no frame),
  the same on every CPU, with the name of the frame each location belongs to.
* `depth_bound`: frames per CPU. With finite budgets and edge lines every frame is paid for by a
  raise, a synchronous event or one softirq run, so the sum is exact and never hit; otherwise
  (`raises any`, level lines) it is NEST_CAP and reaching it is a tagged model bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ircheck.grammar import ast
from ircheck.spec.cfg import Body, Compiler
from ircheck.spec.context import Incarnation, Task
from ircheck.spec.controllers.apic import LocalApic
from ircheck.spec.controllers.pic8259 import Pic8259
from ircheck.spec.controllers.protocol import Controller, Way
from ircheck.spec.design import (
    CodeInfo,
    Design,
    DeviceInfo,
    IrqLine,
    device_irq,
    isa_line,
    message_vector,
    probe_lines,
    probed_pins,
)
from ircheck.spec.language import TIMER_KINDS
from ircheck.spec.x86 import Delivery, GateInfo, deliver_exception, deliver_hardware, deliver_int

SOFT_RUNS = ("softirq", "tasklet", "timer")  # the incarnations run at depth 0 in softirq context (D1, D2, R7)
NEST_CAP = 8  # handler frames per CPU when nothing in the model bounds nesting (raises any, level lines)

Want = Callable[..., None]


@dataclass
class Gateless:
    """X10: a controller's way in whose vector has no IDT gate. The controller's INTA happens as for
    any vector; the CPU's delivery then faults along `delivery` (x86.deliver_hardware: #NP, #DF,
    triple fault) and enters the gate that chain ends at, or shuts the CPU down."""

    way: Way
    delivery: Delivery

    def probe(self) -> Incarnation:
        """The request as the controller sees it (vector, input), for its entry rule: no code of its own."""
        w = self.way
        return Incarnation(w.vector, GateInfo("(no gate)", False, 0), Body("(no gate)"), w.spurious, w.pic, w.input,
                           w.apic)


@dataclass
class Found:
    incs: list[Incarnation]
    task_bodies: list[tuple[CodeInfo, Body]]
    may_halt: bool
    gateless: list[Gateless]


def irq_of_thread(d: Design, name: str) -> IrqLine | None:
    """The requested line whose action has thread `name`."""
    for irq in d.irqs.values():
        if any(a.thread == name for a in irq.actions):
            return irq
    return None


def _is_sync(n: object) -> bool:
    st = getattr(n, "stmt", None)
    return getattr(n, "kind", "") == "stmt" and isinstance(st, ast.Simple) and st.op in ("int", "fault")


def discover(d: Design, gates: dict[int, GateInfo], pics: dict[str, Pic8259],
             controllers: Sequence[Controller]) -> Found:
    comp = Compiler(d)
    found: dict[tuple[int, bool], Incarnation] = {}
    todo: list[Incarnation] = []
    halts = [False]

    def want(vec: int, spurious: bool = False, pic: Pic8259 | None = None, inp: int | None = None,
             apic: LocalApic | None = None) -> None:
        if (vec, spurious) in found or vec not in gates:
            return
        g = gates[vec]
        inc = Incarnation(vec, g, comp.compile(d.code[g.handler], "iret"), spurious, pic, inp, apic)
        found[(vec, spurious)] = inc
        todo.append(inc)

    def sync_targets(dl: Delivery) -> None:
        if dl.shutdown:
            halts[0] = True
        elif dl.vector is not None:
            want(dl.vector)

    def scan_sync(body: Body, cpl: int) -> None:
        for n in body.nodes:
            if _is_sync(n):
                assert isinstance(n.stmt, ast.Simple) and isinstance(n.stmt.arg, ast.Num)
                v = n.stmt.arg.value
                sync_targets(deliver_int(v, cpl, gates) if n.stmt.op == "int" else deliver_exception(v, gates))

    requested = {(irq.pic, irq.input) for irq in d.irqs.values()}
    requested |= {line for n in probe_lines(d) if (line := isa_line(d.pics, n)) is not None}  # C2: the probe stub's
    requested |= probed_pins(d)
    gateless: dict[int, Gateless] = {}
    for dev in d.devices.values():
        genirq = dev.kind in ("pic", "ioapic", "msi", "msix") and (dev.pic, dev.input) in requested
        ctrl = next(c for c in controllers if c.owns_device(dev))
        for w in ctrl.ways_in(dev):
            if genirq and not w.spurious:
                continue  # a genirq line: entered through its flow handler (below); its spurious IR7 is not
            if w.exception:
                sync_targets(deliver_exception(w.vector, gates))
            elif w.vector not in gates and w.spurious:
                sync_targets(deliver_hardware(w.vector, gates))  # the spurious IR7 entry faults (pic_bank)
            elif w.vector not in gates:
                if w.vector not in gateless:
                    gateless[w.vector] = Gateless(w, deliver_hardware(w.vector, gates))
                    sync_targets(gateless[w.vector].delivery)
            else:
                want(w.vector, w.spurious, w.pic, w.input, w.apic)
    extra = kernel_incarnations(d, comp, pics)
    todo.extend(extra)
    task_bodies = compile_tasks(d, comp)
    for c, body in task_bodies:
        scan_sync(body, c.cpl)
    while todo:
        scan_sync(todo.pop().body, 0)
    # a pic vector also reached by `int n` keeps its pic identity
    return Found([found[k] for k in sorted(found)] + extra, task_bodies, halts[0],
                 [gateless[v] for v in sorted(gateless)])


def flow_handler(d: Design, irq: IrqLine) -> str:
    """The flow handler of a request_irq line (L0): x86 Linux gives every legacy 8259A line
    `handle_level_irq`, edge-triggered or not (arch/x86/kernel/irqinit.c `init_ISA_irqs`); an I/O
    APIC level pin `handle_fasteoi_irq`, an edge pin `handle_edge_irq` (io_apic.c
    `mp_register_handler`); MSI and MSI-X `handle_edge_irq` (the x86 PCI MSI domain, msi.c)."""
    srcs = line_sources(d, irq)
    if not srcs or srcs[0].kind == "pic":
        return "handle_level_irq"
    return "handle_fasteoi_irq" if srcs[0].level else "handle_edge_irq"


def line_sources(d: Design, irq: IrqLine) -> list[DeviceInfo]:
    """The devices on a request_irq line (8259A input, I/O APIC pin or MSI device)."""
    return [dv for dv in d.devices.values() if dv.kind in ("pic", "ioapic", "msi", "msix")
            and dv.pic == irq.pic and dv.input == irq.input]


def kernel_incarnations(d: Design, comp: Compiler, pics: dict[str, Pic8259]) -> list[Incarnation]:
    out: list[Incarnation] = []
    for n, irq in sorted(d.irqs.items()):
        pic = pics.get(irq.pic)
        flow = flow_handler(d, irq)
        actions: list[tuple[CodeInfo | None, str]] = []
        for a in irq.actions:
            if a.handler is None:
                actions.append((None, "irq_default_primary_handler: return IRQ_WAKE_THREAD"))
            else:
                actions.append((d.code[a.handler], f"return IRQ_HANDLED (end of {a.handler})"))
        body = comp.compile_flow(f"irq{n}", flow, actions, irq.actions[0].line)
        srcs = line_sources(d, irq)
        vector = pic.info.base + irq.input if pic is not None else message_vector(d, srcs[0])
        out.append(Incarnation(vector, GateInfo(flow, False, 0), body, False, pic,
                               irq.input, None, kind="flow", irq=irq))
    for n in probe_lines(d):  # C2: a probed line's flow handler runs with no action
        at = d.probes[next(iter(d.probes))].line
        line = isa_line(d.pics, n)
        if line is None:  # an I/O APIC pin: its L0 flow, entered through its vector
            dev = next(dv for dv in d.devices.values() if dv.kind == "ioapic" and device_irq(d, dv) == n)
            flow = "handle_fasteoi_irq" if dev.level else "handle_edge_irq"
            body = comp.compile_probe_stub(f"irq{n}", at, flow)
            out.append(Incarnation(message_vector(d, dev), GateInfo(flow, False, 0), body, False, None, dev.input,
                                   None, kind="probe"))
            continue
        pic = pics[line[0]]
        body = comp.compile_probe_stub(f"irq{n}", at)
        out.append(Incarnation(pic.info.base + line[1], GateInfo("handle_level_irq", False, 0), body, False, pic,
                               line[1], None, kind="probe"))
    soft = [c for c in d.code.values() if c.kind in ("softirq", "tasklet") or c.kind in TIMER_KINDS]
    for k, code in enumerate(soft):
        body = comp.compile(code, "iret")
        kind = timer_kind(code)
        body.nodes[0].text = f"end of {code.kind} {code.name}" if kind != "hrtimer" else \
            f"iret (end of hrtimer {code.name}: hrtimer_interrupt returns)"
        out.append(Incarnation(256 + k, GateInfo(code.name, code.context == "softirq", 0), body, kind=kind, code=code))
    return out


def timer_kind(code: CodeInfo) -> str:
    """The incarnation kind of deferred code (R7): a timer_list callback and a `soft` hrtimer's run in
    softirq context like a tasklet ("timer"), a plain hrtimer's in hard-IRQ context ("hrtimer", entered
    through an interrupt gate: IF = 0); softirqs and tasklets keep their own kind."""
    if code.kind in TIMER_KINDS:
        return "timer" if code.context == "softirq" else "hrtimer"
    return code.kind


def compile_tasks(d: Design, comp: Compiler) -> list[tuple[CodeInfo, Body]]:
    out: list[tuple[CodeInfo, Body]] = []
    for c in d.code.values():
        if c.kind == "thread":
            out.append((c, comp.compile(c, "end")))
        elif c.kind == "irq_thread":
            irq = irq_of_thread(d, c.name)
            done = f"irq thread {c.name} returns"
            if irq is not None and irq.oneshot:
                done += f": unmask IRQ {irq.irq} (IRQF_ONESHOT)"
            out.append((c, comp.compile_task(c, done)))
        elif c.kind == "work":
            out.append((c, comp.compile_task(c)))
    return out


def number(incs: list[Incarnation], single_pic: bool) -> tuple[list[str], list[str]]:
    """Sets each incarnation's `base`; returns (frame owner, location name) per frame pc value."""
    frame_owner = ["-"]
    loc_names = ["-"]
    for inc in incs:
        inc.base = len(loc_names)
        desc = inc.describe(single_pic)
        for n in inc.body.nodes:
            frame_owner.append(desc)
            loc_names.append(f"{inc.gate.handler}@{n.line}")
    return frame_owner, loc_names


def depth_bound(d: Design, incs: list[Incarnation], task_bodies: list[tuple[CodeInfo, Body]]) -> int:
    finite = [dev.raises for dev in d.devices.values()]
    sync = sum(1 for inc in incs for n in inc.body.nodes if _is_sync(n))
    sync += 1 if any(_is_sync(n) for _c, b in task_bodies for n in b.nodes) else 0
    soft = 1 if any(inc.kind in SOFT_RUNS for inc in incs) else 0
    soft += sum(1 for inc in incs if inc.kind == "hrtimer")  # each hard hrtimer: one frame, never nested on itself
    if any(r is None for r in finite) or any(dev.level for dev in d.devices.values()):
        return NEST_CAP  # a level line re-interrupts without a new raise: bound it, honestly
    return max(1, sum(r for r in finite if r is not None) + sync + soft)


def make_tasks(task_bodies: list[tuple[CodeInfo, Body]]) -> list[Task]:
    tasks: list[Task] = []
    for c, body in task_bodies:
        tasks.append(Task(c, body, c.cpu, len(tasks) + 1))
    return tasks

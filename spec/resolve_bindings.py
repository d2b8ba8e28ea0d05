"""Resolution of what links declarations together, once all are read: cascades (P11), gates
bound twice, devices on their lines (sharing, spurious IR7, the gate each needs), CPUs that
exist, and the request_irq bindings of genirq (L1-L9): Linux IRQ numbers, handlers, threads,
sharing and IRQF_ONESHOT, dev_id.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic
from ircheck.spec.design import (
    Action,
    DeviceInfo,
    IrqLine,
    device_irq,
    irq_name,
    isa_irqs,
    isa_line,
    message_vector,
)
from ircheck.spec.resolve_messages import message_bindings, request_number, request_target
from ircheck.spec.resolve_scope import Scope


def bindings(sc: Scope) -> None:
    taken: dict[tuple[str, int], str] = {}
    for slave, ref in sc.cascades:
        if not sc.check_line(ref):
            continue
        master = sc.d.pics.get(ref.pic)
        if master is None:
            continue
        if master is slave:
            sc.err("IRQ218", f"controller '{slave.name}' cannot cascade into itself", ref.span)
        elif master.cascade is not None:
            sc.err("IRQ218", f"'{master.name}' is itself a slave; one level of cascade is modelled", ref.span)
        elif (master.name, ref.input) in taken:
            sc.err("IRQ218", f"{ref} already has slave '{taken[(master.name, ref.input)]}'", ref.span)
        else:
            slave.cascade = (master.name, ref.input)
            taken[(master.name, ref.input)] = slave.name
    for p in sc.d.pics.values():
        if p.cascade and any(q.cascade and q.cascade[0] == p.name for q in sc.d.pics.values()):
            sc.diags.append(Diagnostic("IRQ218", f"'{p.name}' is both a slave and a master", sc.path,
                                       p.line, 1))
    isa_irqs(sc.d.pics)
    bound: dict[str, int] = {}
    for g in sorted(sc.d.gates.values(), key=lambda g: g.line):
        if g.handler in bound:
            sc.diags.append(Diagnostic("IRQ215", f"handler '{g.handler}' is bound to vectors {bound[g.handler]:#x} "
                                       f"and {g.vector:#x}", sc.path, g.line, 1,
                                       "give each vector its own handler"))
        bound[g.handler] = g.vector
    seen_lines: dict[tuple[str, int], DeviceInfo] = {}
    for dev in sc.d.devices.values():
        if dev.kind == "apic":
            if not sc.d.apics:
                sc.diags.append(Diagnostic("IRQ219", f"device '{dev.name}' names a vector but there is no "
                                           "`apic` declaration", sc.path, dev.line, 1,
                                           "add `apic lapic { tpr 0 }`"))
            if dev.may_drop:
                sc.diags.append(Diagnostic("IRQ219", "may_drop (spurious IRQ7/15) is an 8259A behaviour",
                                           sc.path, dev.line, 1))
            continue
        if dev.kind == "nmi":
            continue
        pic = sc.d.pics.get(dev.pic)
        if pic is None:
            continue
        if any(q.cascade == (pic.name, dev.input) for q in sc.d.pics.values()):
            sc.diags.append(Diagnostic("IRQ216", f"{irq_name(pic, dev.input)} carries the slave's INT; a device "
                                       "cannot share it", sc.path, dev.line, 1))
            continue
        key = (dev.pic, dev.input)
        other = seen_lines.get(key)
        if other and not (other.shared and dev.shared):
            sc.diags.append(Diagnostic("IRQ216", f"line {irq_name(pic, dev.input)} is used by '{other.name}' and "
                                       f"'{dev.name}'", sc.path, dev.line, 1, "mark both devices `shared`"))
        elif other and other.level != dev.level:
            sc.diags.append(Diagnostic("IRQ216", f"shared line {irq_name(pic, dev.input)} mixes edge and level",
                                       sc.path, dev.line, 1))
        seen_lines[key] = dev
    for c in sc.d.code.values():
        if c.cpu >= sc.d.cpus:
            sc.diags.append(Diagnostic("IRQ213", f"{c.kind} '{c.name}' is on cpu{c.cpu}, but the system has "
                                       f"{sc.d.cpus} CPU(s)", sc.path, c.line, 1))
    for dev in sc.d.devices.values():
        if dev.cpu is not None and dev.cpu >= sc.d.cpus:
            sc.diags.append(Diagnostic("IRQ213", f"device '{dev.name}' is routed to cpu{dev.cpu}, but the "
                                       f"system has {sc.d.cpus} CPU(s)", sc.path, dev.line, 1))
        elif dev.kind in ("apic", "nmi") and dev.cpu not in (None, 0):
            sc.diags.append(Diagnostic("IRQ213", f"device '{dev.name}': one local APIC (cpu0's) is modelled; "
                                       "its sources and NMIs go to cpu0", sc.path, dev.line, 1))


def request_irqs(sc: Scope) -> None:
    message_bindings(sc)
    used_handlers: dict[str, int] = {}
    for r0 in sc.requests:
        r = r0 if r0.source is None else ast.RequestIrq(request_number(sc, r0), r0.handler, r0.options, r0.span,
                                                         r0.source)
        opts = {s.key: s for s in r.options}
        shared = "shared" in opts
        dev_id = opts["dev_id"].value if "dev_id" in opts else None
        thread = opts["thread"].value if "thread" in opts else None
        oneshot = "oneshot" in opts
        handler: str | None = r.handler.name
        ok = True
        if handler == "NULL":
            handler = None
            if thread is None:
                sc.err("IRQ504", f"request_irq {r.irq}: -EINVAL, no handler and no thread", r.span,
                       "name a handler, or add `thread T oneshot`")
                ok = False
            elif not oneshot:
                sc.err("IRQ503", f"request_irq {r.irq}: -EINVAL, a threaded IRQ with no primary handler "
                       f"({thread}) needs IRQF_ONESHOT", r.span,
                       "add `oneshot`: the line must stay masked until the thread has run")
                ok = False
        elif not sc.want(r.handler, ("handler",), "handler"):
            ok = False
        if isinstance(dev_id, str) and not sc.want(ast.Name(dev_id, opts["dev_id"].span), ("device",),
                                                   "device"):
            ok = False
        if isinstance(thread, str) and not sc.want(ast.Name(thread, opts["thread"].span), ("irq_thread",),
                                                   "irq_thread"):
            ok = False
        if shared and dev_id is None:
            sc.err("IRQ502", f"request_irq {r.irq}: -EINVAL, a shared IRQ needs a dev_id", r.span,
                   "add `dev_id DEVICE`: free_irq and the handler use it to tell the sharers apart")
            ok = False
        message = bool(sc.d.ioapics) or r.source is not None
        where = request_target(sc, r) if message else isa_line(sc.d.pics, r.irq)
        if where is None:
            if r.source is None:
                sc.err("IRQ501", f"request_irq {r.irq}: no {'I/O APIC pin is GSI' if message else '8259A input is IRQ'}"
                       f" {r.irq}", r.span, "an I/O APIC's pins are GSIs from 0 in declaration order" if message
                       else "IRQ 0-7 are the master's inputs, 8-15 the slave's")
            continue
        if handler is not None:
            if handler in used_handlers:
                sc.err("IRQ215", f"handler '{handler}' is already bound by request_irq at line "
                       f"{used_handlers[handler]}", r.span)
                ok = False
            if any(g.handler == handler for g in sc.d.gates.values()):
                sc.err("IRQ215", f"handler '{handler}' is both an IDT gate and a request_irq handler", r.span,
                       "a genirq handler is entered through the flow handler, not its own gate")
                ok = False
            used_handlers[handler] = r.span.line
        pic, inp = where
        srcs = [dv for dv in sc.d.devices.values() if dv.pic == pic and dv.input == inp and dv.kind != "pic"]
        if message and not srcs:
            # an I/O APIC pin no device drives has no GSI -> IRQ mapping (acpi_register_gsi makes it for the
            # device): nothing would ever raise the line, most likely a wrong number
            driven = sorted(n for n in {device_irq(sc.d, dv) for dv in sc.d.devices.values() if dv.kind == "ioapic"}
                            if n is not None)
            sc.err("IRQ501", f"request_irq {r.irq}: no device drives I/O APIC pin {pic}.{inp} (GSI {r.irq}), so the line "
                   "would never fire", r.span,
                   f"the devices' GSIs are {', '.join(map(str, driven))}" if driven else "declare the device on that pin")
            continue
        vec = message_vector(sc.d, srcs[0]) if message else sc.d.pics[pic].base + inp
        if vec in sc.d.gates:
            sc.err("IRQ505", f"request_irq {r.irq}: vector {vec:#x} already has an IDT gate (line "
                   f"{sc.d.gates[vec].line})", r.span, "bind the line either with request_irq or in `idt`")
            ok = False
        line = sc.d.irqs.get(r.irq)
        if line is not None and line.actions:
            first = line.actions[0]
            if not (shared and all(a.shared for a in line.actions)):
                sc.err("IRQ501", f"request_irq {r.irq}: -EBUSY, IRQ {r.irq} already has a handler (line "
                       f"{first.line}) and they are not both IRQF_SHARED", r.span,
                       "mark every request_irq of the line `shared` with its own dev_id")
                ok = False
            elif any(a.oneshot != oneshot for a in line.actions):
                sc.err("IRQ501", f"request_irq {r.irq}: -EBUSY, sharers of IRQ {r.irq} disagree on "
                       "IRQF_ONESHOT", r.span)
                ok = False
        if not ok:
            continue
        if line is None:
            line = sc.d.irqs[r.irq] = IrqLine(r.irq, pic, inp)
            if not message:
                sc.d.pics[pic].masked_ever = True  # the flow handler masks and unmasks the line
        line.actions.append(Action(handler, shared, dev_id if isinstance(dev_id, str) else None,
                                   thread if isinstance(thread, str) else None, oneshot, r.span.line))
    for irq in sc.d.irqs.values():
        devs = [dv for dv in sc.d.devices.values() if dv.kind in ("pic", "ioapic", "msi", "msix")
                and dv.pic == irq.pic and dv.input == irq.input]
        for a in irq.actions:
            if a.dev_id is not None and not any(dv.name == a.dev_id for dv in devs):
                sc.err("IRQ506", f"request_irq {irq.irq} dev_id {a.dev_id}: that device is not on IRQ "
                       f"{irq.irq}", ast.Span(a.line, 1))
    threads = [a.thread for irq in sc.d.irqs.values() for a in irq.actions if a.thread]
    named = {s.value for r in sc.requests for s in r.options if s.key == "thread"}  # even refused ones
    for t in set(threads):
        if threads.count(t) > 1:
            sc.err("IRQ507", f"irq_thread '{t}' serves two request_irq bindings", ast.Span(sc.d.code[t].line, 1)
                   if t in sc.d.code else ast.Span(0, 0), "give each its own thread")
    for c in sc.d.code.values():
        if c.kind == "irq_thread" and c.name not in named:
            sc.err("IRQ508", f"irq_thread '{c.name}' is not bound by any `request_irq ... thread {c.name}`",
                   ast.Span(c.line, 1))

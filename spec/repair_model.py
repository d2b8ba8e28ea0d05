"""What the repairs (spec/repairs*.py) read of a model, from its declarations alone (the model
may not resolve): its code contexts and objects, which handler a gate or request_irq enters and
through which controller input, cascades, bases, auto-EOI; and the statements of a body.
"""

from __future__ import annotations

from ircheck.grammar import ast


def simples(code: ast.Code, *ops: str) -> list[ast.Simple]:
    return [st for st in ast.walk(code.body) if isinstance(st, ast.Simple) and st.op in ops]


def arg_name(st: ast.Simple) -> str:
    a = st.arg
    if isinstance(a, ast.Name):
        return a.name
    if isinstance(a, ast.Num):
        return str(a.value)
    if isinstance(a, ast.LineRef):
        return str(a)
    return ""


class Facts:
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
        self.gsi_base: dict[str, int] = {}  # I/O APIC -> its first GSI (A1: in declaration order)
        gsi = 0
        for d in model.decls:
            if isinstance(d, ast.IoApic):
                self.gsi_base[d.name] = gsi
                gsi += next((x.value for x in d.settings if x.key == "pins" and isinstance(x.value, int)), 24)
        self.master_of: dict[str, str] = {}
        self.base: dict[str, int] = {}
        for p in self.pics.values():
            for s in p.settings:
                if s.key == "cascade" and isinstance(s.value, ast.LineRef):
                    self.master_of[p.name] = s.value.pic
                if s.key == "base" and isinstance(s.value, int):
                    self.base[p.name] = s.value

    def lines_of(self, handler: str) -> list[tuple[ast.Device, ast.LineRef, str]]:
        """(device, controller input, trigger) of every 8259A line, and I/O APIC pin with `vector V`,
        whose gate enters `handler`."""
        out = []
        vectors = {e.vector for e in self.gates if e.handler.name == handler}
        for dev in self.devices:
            ref = next((s.value for s in dev.settings if s.key == "irq" and isinstance(s.value, ast.LineRef)), None)
            trig = next((str(s.value) for s in dev.settings if s.key == "trigger"), "edge")
            if ref is not None and ref.pic in self.base and self.base[ref.pic] + ref.input in vectors:
                out.append((dev, ref, trig))
            pin_vector = next((s.value for s in dev.settings if s.key == "pin_vector"), None)
            if ref is not None and ref.pic in self.gsi_base and pin_vector in vectors:
                out.append((dev, ref, trig))  # a bare-metal I/O APIC pin (A1)
        return out

    def request_lines(self, code: str) -> list[tuple[ast.Device, ast.LineRef, str]]:
        """(device, controller input, trigger) of the 8259A devices and I/O APIC pins on the lines whose
        request_irq names `code` as its handler or its thread (Linux IRQ N: the master's input N, a
        slave's input N - 8, or GSI N); a request with `dev_id D` only D's."""
        out = []
        for r in self.requests:
            if r.handler.name != code and not any(o.key == "thread" and o.value == code for o in r.options):
                continue
            dev_id = next((str(o.value) for o in r.options if o.key == "dev_id"), None)
            for dev in self.devices:
                ref = next((s.value for s in dev.settings if s.key == "irq" and isinstance(s.value, ast.LineRef)),
                           None)
                if ref is None or (dev_id is not None and dev.name != dev_id):
                    continue
                if ref.pic in self.gsi_base:  # an I/O APIC pin is its GSI (A1)
                    number = self.gsi_base[ref.pic] + ref.input
                elif ref.pic in self.base:
                    number = (8 if ref.pic in self.master_of else 0) + ref.input
                else:
                    continue
                if number == r.irq:
                    out.append((dev, ref, next((str(s.value) for s in dev.settings if s.key == "trigger"), "edge")))
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

"""The state of one resolution: the model, the names declared so far (with their kind), the
diagnostics found, and the `Design` being filled; with the checks every part of resolution shares
(a name of the right kind, a controller input, a CPU name).

The resolve_*.py modules are functions of a `Scope`; spec/resolve.py runs them in order.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, did_you_mean
from ircheck.spec.design import Action, CodeInfo, Design, IrqLine, PicInfo

X86 = "the x86 milestone (cascade, APIC, NMI, exceptions, privilege)"
KERNEL = "the Linux kernel milestone (SMP, locks, genirq, deferred work, wake-ups)"


def _unsupported(what: str, path: str, span: ast.Span, milestone: str) -> Diagnostic:
    return Diagnostic("IRQ901", f"{what} is not supported yet", path, span.line, span.column,
                      f"it arrives with {milestone}")


class Scope:
    """Names, diagnostics and the design of one model being resolved."""

    def __init__(self, model: ast.Model) -> None:
        self.m = model
        self.path = model.path
        self.diags: list[Diagnostic] = []
        self.d = Design(model.path, model.source)
        self.names: dict[str, tuple[str, ast.Span]] = {}
        self.cascades: list[tuple[PicInfo, ast.LineRef]] = []
        self.requests: list[ast.RequestIrq] = []
        self.irq_uses: list[tuple[ast.Simple, CodeInfo]] = []  # disable_irq N ... checked after bindings
        self.irq_counts: list[ast.IrqCount] = []  # irqs(X) in expressions (C1), checked after bindings
        self.probe_decls: list[ast.Probe] = []  # `probe P for DEV` (C2), checked after bindings

    def err(self, code: str, msg: str, span: ast.Span, hint: str = "") -> None:
        self.diags.append(Diagnostic(code, msg, self.path, span.line, span.column, hint))

    def unsupported(self, what: str, span: ast.Span, milestone: str) -> None:
        self.diags.append(_unsupported(what, self.path, span, milestone))

    # ---- pass 1: names ------------------------------------------------------------
    def declare(self, name: str, kind: str, span: ast.Span) -> None:
        if name in self.names:
            k, first = self.names[name]
            self.err("IRQ101", f"'{name}' is already declared as a {k} at line {first.line}", span,
                     "each controller, device, object and code context needs its own name")
            return
        self.names[name] = (kind, span)

    def kind_of(self, name: str) -> str | None:
        e = self.names.get(name)
        return e[0] if e else None

    def want(self, ref: ast.Name, kinds: tuple[str, ...], what: str) -> bool:
        k = self.kind_of(ref.name)
        if k is None:
            self.err("IRQ102", f"unknown {what} '{ref.name}'", ref.span, self.name_hint(ref.name, kinds, what))
            return False
        if k not in kinds:
            self.err("IRQ103", f"'{ref.name}' is a {k}, not a {what}", ref.span, self.name_hint(ref.name, kinds, what))
            return False
        return True

    def name_hint(self, name: str, kinds: tuple[str, ...], what: str) -> str:
        """Did you mean one of the declared names of the right kind - else which there are, or how to
        declare one."""
        cands = sorted(n for n, (kk, _) in self.names.items() if kk in kinds and n != name)
        close = did_you_mean(name, cands)
        if close:
            return close
        if cands:
            shown = ", ".join(cands[:8]) + (f" ... ({len(cands) - 8} more)" if len(cands) > 8 else "")
            return f"the declared {what}s: {shown}"
        decl = {"data object": "data NAME", "flag or counter": "flag NAME", "controller": "pic NAME : i8259 { base 0x20 }",
                "device": "device NAME { irq PIC.N edge }"}.get(what, f"{kinds[0]} NAME")
        return f"no {what} is declared: declare it with `{decl}`"

    def cpu_name(self, name: str, span: ast.Span) -> int | None:
        if not (name.startswith("cpu") and name[3:].isdigit()):
            self.err("IRQ213", f"'{name}' is not a CPU name", span, "CPUs are cpu0, cpu1, ...")
            return None
        return int(name[3:])

    def check_line(self, ref: ast.LineRef) -> bool:
        k = self.kind_of(ref.pic)
        if k == "controller" and ref.pic not in self.d.pics and ref.pic in self.names and \
                any(isinstance(x, ast.Apic) and x.name == ref.pic for x in self.m.decls):
            self.err("IRQ103", f"'{ref.pic}' is a local APIC: its sources are written `irq vector V`", ref.span)
            return False
        if k != "controller":
            cands = [n for n, (kk, _) in self.names.items() if kk == "controller"]
            what = f"'{ref.pic}' is a {k}, not a controller" if k else f"unknown controller '{ref.pic}'"
            self.err("IRQ102" if k is None else "IRQ103", what, ref.span, did_you_mean(ref.pic, cands))
            return False
        if not 0 <= ref.input <= 7:
            self.err("IRQ207", f"an 8259A has inputs 0..7, not {ref.input}", ref.span)
            return False
        return True

    def action_of(self, handler: str) -> tuple[IrqLine, Action] | None:
        for irq in self.d.irqs.values():
            for a in irq.actions:
                if a.handler == handler:
                    return irq, a
        return None

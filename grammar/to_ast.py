"""The lark parse tree -> the typed syntax tree (`ast`): one transformer method per grammar rule or
alias, each building a frozen dataclass with its `Span`; settings and request_irq options become
`ast.Setting`s.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, Tree, v_args

from ircheck.grammar import ast


def _span(meta: Any) -> ast.Span:
    if getattr(meta, "empty", True):
        return ast.NO_SPAN
    return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tspan(tok: Token) -> ast.Span:
    return ast.Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def _settings(items: list[Any]) -> tuple[ast.Setting, ...]:
    return tuple(i for i in items if isinstance(i, ast.Setting))


@v_args(meta=True)
class ToAst(Transformer[Token, Any]):
    """Builds frozen dataclasses; each method is named after a grammar rule or alias."""

    # --- leaves
    def number(self, meta: Any, c: list[Token]) -> ast.Num:
        t = c[0]
        return ast.Num(int(str(t), 0), _tspan(t))

    def bool_lit(self, meta: Any, c: list[Token]) -> ast.Bool:
        return ast.Bool(str(c[0]) == "true", _span(meta))

    def line_ref(self, meta: Any, c: list[Any]) -> ast.LineRef:
        return ast.LineRef(str(c[0]), c[1].value, _span(meta))

    def trigger(self, meta: Any, c: list[Token]) -> str:
        return str(c[0])

    gate = objkind = codekind = waitop = testop = seqop = op0 = op1 = irqop = trigger

    # --- top level
    def start(self, meta: Any, c: list[Any]) -> list[Any]:
        """Drop separators; attach request_irq options (items of their own) to the request_irq before them."""
        out: list[Any] = []
        for x in c:
            if isinstance(x, Token | Tree) or x is None:
                continue
            if isinstance(x, ast.Setting):
                prev = out[-1] if out else None
                if isinstance(prev, ast.RequestIrq):
                    out[-1] = ast.RequestIrq(prev.irq, prev.handler, prev.options + (x,), prev.span, prev.source)
                    continue
            out.append(x)
        return out

    def thread_ref(self, meta: Any, c: list[Token]) -> Token:
        return c[0]

    def thread_decl(self, meta: Any, c: list[Any]) -> ast.Code:
        return self.code_decl(meta, ["thread", *c])

    def system_decl(self, meta: Any, c: list[Token]) -> ast.System:
        return ast.System(str(c[0]), _span(meta))

    def cpus_decl(self, meta: Any, c: list[Any]) -> ast.Cpus:
        return ast.Cpus(c[0].value, _span(meta))

    def _setting(key: str) -> Any:  # type: ignore[misc]
        def build(self: Any, meta: Any, c: list[Any]) -> ast.Setting | tuple[ast.Setting, ast.Setting]:
            value: Any = None
            if c:
                v = c[0]
                value = v.value if isinstance(v, ast.Num) else v if isinstance(v, ast.LineRef) else str(v)
            if key in ("irq", "vector") and len(c) > 1:
                return ast.Setting(key, value, _span(meta)), ast.Setting("trigger", str(c[1]), _span(meta))
            return ast.Setting(key, value, _span(meta))
        return build

    pic_base = _setting("base")
    pic_mode = _setting("mode")
    pic_eoi = _setting("eoi")
    pic_rotate = _setting("rotate")
    pic_mask = _setting("mask")
    pic_cascade = _setting("cascade")
    apic_tpr = _setting("tpr")
    dev_irq = _setting("irq")
    dev_vector = _setting("vector")
    dev_nmi = _setting("nmi")
    dev_msi = _setting("msi")
    dev_msix = _setting("msix")
    dev_pin_vector = _setting("pin_vector")
    ioapic_pins = _setting("pins")
    dev_raises = _setting("raises")
    dev_raises_any = _setting("raises_any")
    dev_shared = _setting("shared")
    dev_may_drop = _setting("may_drop")
    dev_on_kick = _setting("on_kick")
    dev_cpu = _setting("on")
    req_shared = _setting("shared")
    req_dev_id = _setting("dev_id")
    req_thread = _setting("thread")
    req_oneshot = _setting("oneshot")
    opt_reentrant = _setting("reentrant")
    opt_nonreentrant = _setting("nonreentrant")
    opt_on = _setting("on")
    opt_cpl = _setting("cpl")
    opt_soft = _setting("soft")
    counter_max = _setting("max")
    counter_init = _setting("init")

    def pic_nothing(self, meta: Any, c: list[Any]) -> None:
        return None

    @staticmethod
    def _flat(c: list[Any]) -> list[Any]:
        out: list[Any] = []
        for x in c:
            out.extend(x if isinstance(x, tuple) and x and isinstance(x[0], ast.Setting) else [x])
        return out

    def pic_decl(self, meta: Any, c: list[Any]) -> ast.Pic:
        return ast.Pic(str(c[0]), str(c[1]), _settings(c[2:]), _span(meta))

    def apic_decl(self, meta: Any, c: list[Any]) -> ast.Apic:
        return ast.Apic(str(c[0]), _settings(c[1:]), _span(meta))

    def ioapic_decl(self, meta: Any, c: list[Any]) -> ast.IoApic:
        return ast.IoApic(str(c[0]), _settings(c[1:]), _span(meta))

    def device_decl(self, meta: Any, c: list[Any]) -> ast.Device:
        return ast.Device(str(c[0]), _settings(self._flat(c[1:])), _span(meta))

    def idt_entry(self, meta: Any, c: list[Any]) -> ast.IdtEntry:
        vec, name, gate = c[0], c[1], c[2]
        dpl = c[3].value if len(c) > 3 and isinstance(c[3], ast.Num) else 0
        return ast.IdtEntry(vec.value, ast.Name(str(name), _tspan(name)), gate, dpl, _span(meta))

    def idt_decl(self, meta: Any, c: list[Any]) -> ast.Idt:
        return ast.Idt(tuple(x for x in c if isinstance(x, ast.IdtEntry)), _span(meta))

    def request_irq_decl(self, meta: Any, c: list[Any]) -> ast.RequestIrq:
        handler = ast.Name(str(c[1]), _tspan(c[1]))
        if isinstance(c[0], ast.Num):
            return ast.RequestIrq(c[0].value, handler, (), _span(meta))
        return ast.RequestIrq(-1, handler, (), _span(meta), ast.Name(str(c[0]), _tspan(c[0])))

    def simple_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        return ast.Object(c[0], str(c[1]), span=_span(meta))

    def probe_decl(self, meta: Any, c: list[Any]) -> ast.Probe:
        return ast.Probe(str(c[0]), ast.Name(str(c[1]), _tspan(c[1])), _span(meta))

    def percpu_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        return ast.Object("percpu", str(c[0]), span=_span(meta))

    def flag_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        init = 1 if len(c) > 1 and c[1].value else 0
        return ast.Object("flag", str(c[0]), init, 1, _span(meta))

    def counter_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        opts = {s.key: s.value for s in _settings(c[1:])}
        mx = opts.get("max")
        init = opts.get("init", 0)
        assert isinstance(init, int | str) and (mx is None or isinstance(mx, int | str))  # numbers, never a line
        return ast.Object("counter", str(c[0]), int(init or 0), int(mx) if mx is not None else None, _span(meta))

    def code_decl(self, meta: Any, c: list[Any]) -> ast.Code:
        kind, name = c[0], c[1]
        body = c[-1]
        end = ast.Span(meta.end_line, meta.end_column - 1) if not getattr(meta, "empty", True) else ast.NO_SPAN
        return ast.Code(kind, str(name), _settings(c[2:-1]), body, _span(meta), end)

    def check_decl(self, meta: Any, c: list[Any]) -> ast.Check:
        return ast.Check(tuple(c), _span(meta))

    def check_invariant(self, meta: Any, c: list[Any]) -> ast.CheckItem:
        return ast.CheckItem("invariant", c[0], _span(meta))

    def check_named(self, meta: Any, c: list[Any]) -> ast.CheckItem:
        arg = c[1].value if len(c) > 1 else None
        return ast.CheckItem(str(c[0]), arg, _span(meta))

    # --- statements
    def block(self, meta: Any, c: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(x for x in c if x is not None)

    def empty_stmt(self, meta: Any, c: list[Any]) -> None:
        return None

    def op0_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple(c[0], None, _span(meta))

    def op1_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple(c[0], ast.Name(str(c[1]), _tspan(c[1])), _span(meta))

    def op1_on_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple(c[0], ast.Name(str(c[1]), _tspan(c[1])), _span(meta), ast.Name(str(c[2]), _tspan(c[2])))

    def irq_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        arg = c[1] if isinstance(c[1], ast.Num) else ast.Name(str(c[1]), _tspan(c[1]))
        return ast.Simple(c[0], arg, _span(meta))

    def eoi_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        arg: Any = None
        if c:
            arg = c[0] if isinstance(c[0], ast.LineRef) else ast.Name(str(c[0]), _tspan(c[0]))
        return ast.Simple("eoi", arg, _span(meta))

    def mask_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("mask", c[0], _span(meta))

    def unmask_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("unmask", c[0], _span(meta))

    def int_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("int", c[0], _span(meta))

    def fault_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("fault", c[0], _span(meta))

    def return_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("return", ast.Name(str(c[0]), _tspan(c[0])), _span(meta))

    def if_stmt(self, meta: Any, c: list[Any]) -> ast.If:
        orelse: tuple[Any, ...] = ()
        if len(c) > 2:
            orelse = c[2] if isinstance(c[2], tuple) else (c[2],)
        return ast.If(c[0], c[1], orelse, _span(meta))

    def if_block(self, meta: Any, c: list[Any]) -> ast.If:
        inner: ast.If = c[0]
        return inner

    def while_stmt(self, meta: Any, c: list[Any]) -> ast.While:
        return ast.While(c[0], c[1], _span(meta))

    def choose_stmt(self, meta: Any, c: list[Any]) -> ast.Choose:
        return ast.Choose(tuple(c), _span(meta))

    def read_seq_stmt(self, meta: Any, c: list[Any]) -> ast.ReadSeq:
        return ast.ReadSeq(str(c[0]), ast.Name(str(c[1]), _tspan(c[1])), c[2], _span(meta))

    def loop_stmt(self, meta: Any, c: list[Any]) -> ast.Loop:
        return ast.Loop(c[0], _span(meta))

    def wait_stmt(self, meta: Any, c: list[Any]) -> ast.Wait:
        return ast.Wait(c[0], ast.Name(str(c[1]), _tspan(c[1])), c[2], _span(meta))

    # --- expressions
    def in_service(self, meta: Any, c: list[Any]) -> ast.InService:
        return ast.InService(_span(meta))

    def woken_test(self, meta: Any, c: list[Any]) -> ast.Woken:
        return ast.Woken(_span(meta))

    def atomic_test(self, meta: Any, c: list[Any]) -> ast.AtomicTest:
        return ast.AtomicTest(str(c[0]), ast.Name(str(c[1]), _tspan(c[1])), _span(meta))

    def name_ref(self, meta: Any, c: list[Token]) -> ast.Name:
        return ast.Name(str(c[0]), _tspan(c[0]))

    def count_of(self, meta: Any, c: list[Any]) -> ast.Name | ast.Num:
        x = c[0]
        return x if isinstance(x, ast.Num) else ast.Name(str(x), _tspan(x))

    def irq_count(self, meta: Any, c: list[Any]) -> ast.IrqCount:
        cpu = ast.Name(str(c[2]), _tspan(c[2])) if len(c) > 2 else None
        return ast.IrqCount(str(c[0]), c[1], cpu, _span(meta))

    def not_(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(c[0], _span(meta))

    def and_(self, meta: Any, c: list[Any]) -> Any:
        return ast.BoolOp("and", tuple(c), _span(meta)) if len(c) > 1 else c[0]

    def or_(self, meta: Any, c: list[Any]) -> Any:
        return ast.BoolOp("or", tuple(c), _span(meta)) if len(c) > 1 else c[0]

    def cmp(self, meta: Any, c: list[Any]) -> Any:
        if len(c) == 1:
            return c[0]
        return ast.Compare(str(c[1]), c[0], c[2], _span(meta))

    def sum(self, meta: Any, c: list[Any]) -> Any:
        if len(c) == 1:
            return c[0]
        return ast.Arith(tuple(str(x) for x in c[1::2]), tuple(c[0::2]), _span(meta))

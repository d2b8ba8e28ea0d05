"""The parser accepts the whole syntax of docs/reference.md and rejects bad input with located diagnostics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError
from ircheck.grammar.parser import MAX_BLOCK_DEPTH, parse, parse_file

# ---- the syntax of the language (docs/reference.md) ------------------------------------------------------

# The "Declarations" block of the language spec, verbatim.
DECLARATIONS = """\
system NAME                      # optional
cpus 2                           # default 1; CPUs are cpu0, cpu1, ...

pic master : i8259 {             # an 8259A (P1-P12)
    base 0x20                    # vector = base + input
    mode fully_nested            # fully_nested | special_mask | special_fully_nested
    eoi normal                   # normal | auto
    rotate off                   # off | automatic
    mask 0b00000000              # initial IMR
}
pic slave : i8259 { base 0x28  cascade master.2 }
apic lapic { tpr 0 }             # local APIC (X9); devices then name a vector

device nic {
    irq master.3 edge            # edge | level ; `irq vector 0x51` on an APIC
    raises 2                     # the environment asserts it at most 2 times; `raises any` = unbounded
    shared                       # optional: IRQF_SHARED line
    may_drop                     # optional: may drop a level request before INTA (spurious IRQ7/15)
}
device wdt { nmi  raises 1 }     # a non-maskable source (vector 2)

idt {
    0x23 -> nic_isr   interrupt_gate dpl 0
    0x80 -> sys_entry interrupt_gate dpl 3
    14   -> pf_entry  interrupt_gate dpl 0   # exceptions 0-31
}
# Linux-level binding instead of (or besides) a raw IDT:
request_irq 3 nic_isr shared dev_id nic      # request_threaded_irq: add `thread nic_thread oneshot`

spinlock rx_lock
mutex    cfg_lock
flag     rx_ready                # shared boolean, starts false (`flag x = true`)
counter  rx_count max 3          # shared bounded integer
data     rx_ring                 # shared memory: reads/writes feed the race check
waitqueue rx_wait
"""

# Every other declaration, option, statement and check form that the language spec shows.
EVERYTHING = """\
device apic_dev { irq vector 0x51 level  raises any }
device one_line { irq master.3 edge  raises 2 }
request_irq 4 uart_isr shared dev_id nic thread nic_thread oneshot
flag ready_at_boot = true
counter credits = 1 max 4

handler nic_isr {
    cli; sti
    eoi
    eoi master
    eoi master.3
    iret
    int 0x80
    fault 14
    ack nic
    mask master.3
    unmask master.3
    read rx_ring
    write rx_ring
    set rx_ready
    clear rx_ready
    inc rx_count
    dec rx_count
    call parse
    nop
    if rx_ready { nop } else { nop }
    if not rx_ready { nop }
    if in_service { nop }
    if rx_ready { nop } else if rx_count == 0 { nop } else { nop }
    while rx_ready { clear rx_ready }
    return wake_thread
    return none
}
handler timer_isr reentrant { loop { nop } }
irq_thread nic_thread {
    spin_lock rx_lock
    spin_unlock rx_lock
    spin_lock_irqsave rx_lock
    spin_unlock_irqrestore rx_lock
    spin_lock_irq rx_lock
    spin_unlock_irq rx_lock
    spin_lock_bh rx_lock
    spin_unlock_bh rx_lock
    mutex_lock cfg_lock
    mutex_unlock cfg_lock
    local_irq_save
    local_irq_restore
    local_bh_disable
    local_bh_enable
    sleep
    wake_up rx_wait
    wait_event rx_wait until rx_ready
    sleep_on rx_wait
    epoll_wait rx_wait until rx_ready
    raise_softirq net_rx
    tasklet_schedule flush
    queue_work refill
    disable_irq 3
    disable_irq_nosync 3
    enable_irq 3
    free_irq 3
    synchronize_irq 3
}
softirq net_rx { nop }
tasklet flush { nop }
work   refill { nop }
function parse nonreentrant { nop }
thread app on cpu0 cpl 3 { loop { int 0x80 } }

check no_lost_irq, no_starvation, no_deadlock, no_reentry
check no_sleep_in_atomic, no_lost_wakeup, no_data_race, lockdep, eoi_balanced, no_gp, no_double_fault
check max_nesting 2
check invariant rx_count <= 3 and not (rx_ready and rx_count == 0)
"""

SIMPLE_OPS = {
    "cli", "sti", "eoi", "iret", "int", "fault", "ack", "mask", "unmask", "read", "write", "set",
    "clear", "inc", "dec", "call", "nop", "return", "spin_lock", "spin_unlock", "spin_lock_irqsave",
    "spin_unlock_irqrestore", "spin_lock_irq", "spin_unlock_irq", "spin_lock_bh", "spin_unlock_bh",
    "mutex_lock", "mutex_unlock", "local_irq_save", "local_irq_restore", "local_bh_disable",
    "local_bh_enable", "sleep", "wake_up", "sleep_on", "raise_softirq", "tasklet_schedule",
    "queue_work", "disable_irq", "disable_irq_nosync", "enable_irq", "free_irq", "synchronize_irq",
}

# The six example models of the language spec, verbatim.
EXAMPLES = {
    "lost_irq": """\
# verdict: no_lost_irq violated (second edge arrives while IRR[3] is set)
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge  raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { read rx_ring; eoi }
data rx_ring
check no_lost_irq
""",
    "starvation": """\
# verdict: no_starvation violated (the IRQ1 handler never sends EOI; IRQ3 is held for ever)
pic master : i8259 { base 0x20 }
device kbd  { irq master.1 edge raises 2 }
device uart { irq master.3 edge raises 1 }
idt { 0x21 -> kbd_isr interrupt_gate dpl 0
      0x23 -> uart_isr interrupt_gate dpl 0 }
handler kbd_isr  { nop }
handler uart_isr { eoi }
check no_starvation
""",
    "deadlock": """\
# verdict: no_deadlock violated (thread holds rx_lock with IRQs on; the ISR on the same CPU spins on it)
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
spinlock rx_lock
handler nic_isr { spin_lock rx_lock; spin_unlock rx_lock; eoi }
thread app on cpu0 { spin_lock rx_lock; write rx_ring; spin_unlock rx_lock }
data rx_ring
check no_deadlock, lockdep
""",
    "reentry": """\
# verdict: no_reentry violated (trap gate keeps IF=1; the handler's own IRQ nests after an early EOI)
pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 2 }
idt { 0x20 -> tick trap_gate dpl 0 }
handler tick { eoi; write jiffies }
data jiffies
check no_reentry
""",
    "lost_wakeup": """\
# verdict: no_lost_wakeup violated (test-then-sleep races with the ISR); with `wait_event rx_wait until rx_ready` it holds
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
flag rx_ready
waitqueue rx_wait
handler nic_isr { set rx_ready; wake_up rx_wait; eoi }
thread app on cpu0 { if not rx_ready { sleep_on rx_wait }; clear rx_ready }
check no_lost_wakeup
""",
    "gp": """\
# verdict: no_gp violated (user code executes int 0x80 through a DPL 0 gate)
pic master : i8259 { base 0x20 }
idt { 0x80 -> sys_entry interrupt_gate dpl 0
      13   -> gp_entry  interrupt_gate dpl 0 }
handler sys_entry { nop }
handler gp_entry  { nop }
thread user on cpu0 cpl 3 { int 0x80 }
check no_gp
""",
}


def walk(stmts: tuple[ast.Stmt, ...]) -> Iterator[ast.Stmt]:
    for st in stmts:
        yield st
        if isinstance(st, ast.If):
            yield from walk(st.then)
            yield from walk(st.orelse)
        elif isinstance(st, ast.While | ast.Loop):
            yield from walk(st.body)


def by_name(m: ast.Model, cls: type, name: str) -> object:
    return next(d for d in m.decls if isinstance(d, cls) and getattr(d, "name", None) == name)


def test_declarations_block_parses() -> None:
    m = parse(DECLARATIONS)
    assert all(isinstance(d, ast.System | ast.Cpus | ast.Pic | ast.Apic | ast.Device | ast.Idt
                          | ast.RequestIrq | ast.Object) for d in m.decls)
    assert m.decls[0] == ast.System("NAME")
    assert m.decls[1] == ast.Cpus(2)
    master = by_name(m, ast.Pic, "master")
    assert master == ast.Pic("master", "i8259", (
        ast.Setting("base", 0x20), ast.Setting("mode", "fully_nested"), ast.Setting("eoi", "normal"),
        ast.Setting("rotate", "off"), ast.Setting("mask", 0)))
    assert by_name(m, ast.Pic, "slave") == ast.Pic(
        "slave", "i8259", (ast.Setting("base", 0x28), ast.Setting("cascade", ast.LineRef("master", 2))))
    assert by_name(m, ast.Apic, "lapic") == ast.Apic("lapic", (ast.Setting("tpr", 0),))
    assert by_name(m, ast.Device, "nic") == ast.Device("nic", (
        ast.Setting("irq", ast.LineRef("master", 3)), ast.Setting("trigger", "edge"),
        ast.Setting("raises", 2), ast.Setting("shared", None), ast.Setting("may_drop", None)))
    assert by_name(m, ast.Device, "wdt") == ast.Device(
        "wdt", (ast.Setting("nmi", None), ast.Setting("raises", 1)))
    idt = next(d for d in m.decls if isinstance(d, ast.Idt))
    assert idt.entries == (
        ast.IdtEntry(0x23, ast.Name("nic_isr"), "interrupt_gate", 0),
        ast.IdtEntry(0x80, ast.Name("sys_entry"), "interrupt_gate", 3),
        ast.IdtEntry(14, ast.Name("pf_entry"), "interrupt_gate", 0))
    req = next(d for d in m.decls if isinstance(d, ast.RequestIrq))
    assert req == ast.RequestIrq(3, ast.Name("nic_isr"),
                                 (ast.Setting("shared", None), ast.Setting("dev_id", "nic")))
    objects = [d for d in m.decls if isinstance(d, ast.Object)]
    assert objects == [
        ast.Object("spinlock", "rx_lock"), ast.Object("mutex", "cfg_lock"),
        ast.Object("flag", "rx_ready", 0, 1), ast.Object("counter", "rx_count", 0, 3),
        ast.Object("data", "rx_ring"), ast.Object("waitqueue", "rx_wait")]


def test_every_statement_and_context_parses() -> None:
    m = parse(DECLARATIONS + EVERYTHING)
    codes = {d.name: d for d in m.decls if isinstance(d, ast.Code)}
    assert {c.kind for c in codes.values()} == {
        "handler", "irq_thread", "softirq", "tasklet", "work", "function", "thread"}
    stmts = [st for c in codes.values() for st in walk(c.body)]
    assert {st.op for st in stmts if isinstance(st, ast.Simple)} == SIMPLE_OPS
    assert {st.op for st in stmts if isinstance(st, ast.Wait)} == {"wait_event", "epoll_wait"}
    assert any(isinstance(st, ast.Loop) for st in stmts)
    assert any(isinstance(st, ast.While) for st in stmts)
    assert any(isinstance(st, ast.If) and isinstance(st.cond, ast.InService) for st in stmts)
    assert any(isinstance(st, ast.If) and isinstance(st.cond, ast.Not) for st in stmts)

    eois = [st.arg for st in stmts if isinstance(st, ast.Simple) and st.op == "eoi"]
    assert eois == [None, ast.Name("master"), ast.LineRef("master", 3)]
    assert ast.Simple("int", ast.Num(0x80)) in stmts
    assert ast.Simple("return", ast.Name("wake_thread")) in stmts
    assert ast.Simple("disable_irq_nosync", ast.Num(3)) in stmts
    assert ast.Wait("wait_event", ast.Name("rx_wait"), ast.Name("rx_ready")) in stmts

    isr = codes["nic_isr"]
    chain = next(st for st in isr.body if isinstance(st, ast.If) and st.orelse
                 and isinstance(st.orelse[0], ast.If))
    assert chain.orelse == (ast.If(
        ast.Compare("==", ast.Name("rx_count"), ast.Num(0)), (ast.Simple("nop", None),),
        (ast.Simple("nop", None),)),)

    assert codes["timer_isr"].options == (ast.Setting("reentrant", None),)
    assert codes["parse"].options == (ast.Setting("nonreentrant", None),)
    assert codes["app"].options == (ast.Setting("on", "cpu0"), ast.Setting("cpl", 3))

    assert by_name(m, ast.Device, "apic_dev") == ast.Device("apic_dev", (
        ast.Setting("vector", 0x51), ast.Setting("trigger", "level"), ast.Setting("raises_any", None)))
    assert ast.RequestIrq(4, ast.Name("uart_isr"), (
        ast.Setting("shared", None), ast.Setting("dev_id", "nic"), ast.Setting("thread", "nic_thread"),
        ast.Setting("oneshot", None))) in m.decls
    assert ast.Object("flag", "ready_at_boot", 1, 1) in m.decls
    assert ast.Object("counter", "credits", 1, 4) in m.decls

    checks = [it for d in m.decls if isinstance(d, ast.Check) for it in d.items]
    assert [it.name for it in checks] == [
        "no_lost_irq", "no_starvation", "no_deadlock", "no_reentry", "no_sleep_in_atomic",
        "no_lost_wakeup", "no_data_race", "lockdep", "eoi_balanced", "no_gp", "no_double_fault",
        "max_nesting", "invariant"]
    assert checks[-2].arg == 2
    assert checks[-1].arg == ast.BoolOp("and", (
        ast.Compare("<=", ast.Name("rx_count"), ast.Num(3)),
        ast.Not(ast.BoolOp("and", (ast.Name("rx_ready"),
                                   ast.Compare("==", ast.Name("rx_count"), ast.Num(0)))))))


def test_numbers_in_every_base() -> None:
    m = parse("cpus 0x2\ncheck max_nesting 0b11, invariant x == 10")
    assert m.decls[0] == ast.Cpus(2)
    check = m.decls[1]
    assert isinstance(check, ast.Check)
    assert check.items[0].arg == 3
    assert check.items[1].arg == ast.Compare("==", ast.Name("x"), ast.Num(10))


def test_expression_precedence() -> None:
    def inv(text: str) -> object:
        check = parse(f"check invariant {text}").decls[0]
        assert isinstance(check, ast.Check)
        return check.items[0].arg

    a, b, c = ast.Name("a"), ast.Name("b"), ast.Name("c")
    assert inv("a or b and c") == ast.BoolOp("or", (a, ast.BoolOp("and", (b, c))))
    assert inv("not a and b") == ast.BoolOp("and", (ast.Not(a), b))
    assert inv("not a == b") == ast.Not(ast.Compare("==", a, b))
    assert inv("a + b < c") == ast.Compare("<", ast.Arith(("+",), (a, b)), c)
    assert inv("a - b + c") == ast.Arith(("-", "+"), (a, b, c))
    assert inv("(a - b) + c") == ast.Arith(("+",), (ast.Arith(("-",), (a, b)), c))
    assert inv("a or b or c") == ast.BoolOp("or", (a, b, c))


def test_spans_point_at_the_source() -> None:
    m = parse("cpus 1\n\nhandler h {\n    read x\n}\n")
    code = m.decls[1]
    assert isinstance(code, ast.Code)
    assert (code.span.line, code.span.column) == (3, 1)
    assert (code.body[0].span.line, code.body[0].span.column) == (4, 5)
    assert (code.end.line, code.end.column) == (5, 1)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_language_examples_parse(name: str) -> None:
    m = parse(EXAMPLES[name], f"{name}.irq")
    assert m.path == f"{name}.irq"
    assert any(isinstance(d, ast.Code) for d in m.decls)
    assert isinstance(m.decls[-1], ast.Check)


def test_deadlock_example_fixed_variant_parses() -> None:
    text = EXAMPLES["deadlock"].replace(
        "thread app on cpu0 { spin_lock rx_lock; write rx_ring; spin_unlock rx_lock }",
        "thread app on cpu0 { spin_lock_irqsave rx_lock; write rx_ring; spin_unlock_irqrestore rx_lock }")
    app = by_name(parse(text), ast.Code, "app")
    assert isinstance(app, ast.Code)
    assert [st.op for st in app.body if isinstance(st, ast.Simple)] == [
        "spin_lock_irqsave", "write", "spin_unlock_irqrestore"]


def test_bundled_models_parse() -> None:
    models = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.irq"))
    assert models
    for p in models:
        parse_file(p)


# ---- errors ---------------------------------------------------------------------------

def one_error(text: str) -> Diagnostic:
    with pytest.raises(IrcheckError) as info:
        parse(text, "bad.irq")
    assert len(info.value.diagnostics) == 1
    assert info.value.source == text
    return info.value.diagnostics[0]


def caret_column(rendered: str) -> int:
    """1-based column of the caret in a rendered diagnostic (the source is indented by 4)."""
    caret = next(line for line in rendered.splitlines() if line.strip() == "^")
    return caret.index("^") - 4 + 1


def test_unexpected_token_says_what_was_expected() -> None:
    text = "pic master : i8259 {\n    base 0x20\n    base }\n"
    d = one_error(text)
    assert (d.code, d.line, d.column) == ("IRQ003", 3, 10)
    assert d.message == "unexpected '}'; expected a number"
    assert d.path == "bad.irq"
    out = d.render(text)
    assert out.splitlines()[0] == "bad.irq:3:10: error IRQ003: unexpected '}'; expected a number"
    assert "        base }" in out.splitlines()  # the source line, indented by 4
    assert caret_column(out) == 10


def test_unexpected_token_lists_keyword_alternatives() -> None:
    d = one_error("idt { 0x23 -> h gate }")
    assert (d.code, d.line, d.column) == ("IRQ003", 1, 17)
    assert "unexpected 'gate'" in d.message
    assert "expected 'interrupt_gate', 'trap_gate'" in d.message
    assert d.hint == "did you mean 'trap_gate'?"


def test_misspelt_statement_keyword_gets_a_hint() -> None:
    text = "spinlock rx_lock\nhandler nic_isr {\n    nop\n    spin_lok rx_lock\n}\n"
    d = one_error(text)
    assert (d.code, d.line, d.column) == ("IRQ003", 4, 5)
    assert "unexpected 'spin_lok'" in d.message and "expected" in d.message
    assert d.hint == "did you mean 'spin_lock'?"
    out = d.render(text)
    assert "        spin_lok rx_lock" in out.splitlines()
    assert caret_column(out) == 5
    assert out.splitlines()[-1] == "    hint: did you mean 'spin_lock'?"


def test_keyword_used_as_a_name() -> None:
    d = one_error("handler h { read }")
    assert (d.code, d.line, d.column) == ("IRQ003", 1, 18)
    assert "unexpected '}'" in d.message and "a name" in d.message


def test_unexpected_character() -> None:
    text = "cpus 1\ndevice nic { irq master.3 edge $ }\n"
    d = one_error(text)
    assert (d.code, d.line, d.column) == ("IRQ001", 2, 32)
    assert d.message == "unexpected character '$'"
    assert "comments start with '#'" in d.hint
    assert caret_column(d.render(text)) == 32


def test_unexpected_end_of_file() -> None:
    text = "cpus 1\nhandler h {\n    nop\n"
    d = one_error(text)
    assert d.code == "IRQ002"
    assert d.message.startswith("unexpected end of file; expected")
    assert d.hint == "a '}' is missing: `handler h` opened at line 2 is not closed"
    # the end of file: just past the last non-blank character
    assert (d.line, d.column) == (3, 8)


def test_end_of_file_without_open_brace_has_no_brace_hint() -> None:
    d = one_error("cpus")
    assert d.code == "IRQ002" and (d.line, d.column) == (1, 5)
    assert "expected a number" in d.message
    assert d.hint == ""


def test_stray_request_irq_option() -> None:
    d = one_error("cpus 1\noneshot\n")
    assert d.code == "IRQ009" and (d.line, d.column) == (2, 1)


def test_deep_else_if_chain_is_refused_cleanly() -> None:
    text = "handler h {\n if a { nop }" + " else if a { nop }" * 3000 + "\n}\n"
    d = one_error(text)
    assert d.code == "IRQ006"


def test_too_deep_nesting() -> None:
    depth = MAX_BLOCK_DEPTH + 5
    text = "handler h {\n" + "".join("    " * i + "loop {\n" for i in range(1, depth)) + "}\n" * depth
    d = one_error(text)
    assert d.code == "IRQ006"
    assert str(MAX_BLOCK_DEPTH) in d.message
    # the first brace past the limit: line MAX_BLOCK_DEPTH + 1, at the end of `loop {`
    assert d.line == MAX_BLOCK_DEPTH + 1
    assert d.column == 4 * MAX_BLOCK_DEPTH + len("loop {")
    assert "functions" in d.hint
    assert caret_column(d.render(text)) == d.column


def test_nesting_at_the_limit_is_fine() -> None:
    depth = MAX_BLOCK_DEPTH
    text = "handler h { " + "loop { " * (depth - 1) + "}" * depth
    code = parse(text).decls[0]
    assert isinstance(code, ast.Code)


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.irq"
    p.write_bytes(b"cpus 1\n# caf\xe9\n")
    with pytest.raises(IrcheckError) as info:
        parse_file(p)
    [d] = info.value.diagnostics
    assert d.code == "IRQ008"
    assert "not UTF-8" in d.message and "byte 12" in d.message
    assert d.path == str(p)


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.irq"
    with pytest.raises(IrcheckError) as info:
        parse_file(p)
    [d] = info.value.diagnostics
    assert d.code == "IRQ007"
    assert d.message.startswith("cannot read file")
    assert d.location() == str(p)
    assert d.render().startswith(f"{p}: error IRQ007: cannot read file")


def test_parse_file_reports_its_path(tmp_path: Path) -> None:
    p = tmp_path / "m.irq"
    p.write_text("cpus 1\ncpus x\n")
    with pytest.raises(IrcheckError) as info:
        parse_file(p)
    [d] = info.value.diagnostics
    assert (d.code, d.path, d.line, d.column) == ("IRQ003", str(p), 2, 6)
    assert info.value.render().splitlines()[0].startswith(f"{p}:2:6: error IRQ003")


def test_render_with_tabs_and_without_source() -> None:
    d = Diagnostic("IRQ003", "unexpected 'x'", "f.irq", 1, 3, "a hint")
    # a tab is shown as one space, so the caret stays under column 3
    assert d.render("\tx y\n") == "f.irq:1:3: error IRQ003: unexpected 'x'\n     x y\n      ^\n    hint: a hint"
    assert d.render() == "f.irq:1:3: error IRQ003: unexpected 'x'\n    hint: a hint"


# ---- parser bugs found by these tests, fixed -----------------------------------------------

def test_top_level_semicolon_is_only_a_separator() -> None:
    m = parse("cpus 1;\nsystem s;")
    assert m.decls == (ast.Cpus(1), ast.System("s"))


def test_request_irq_followed_by_a_thread() -> None:
    m = parse("request_irq 3 nic_isr shared\nthread app on cpu0 { nop }\n")
    assert [type(d) for d in m.decls] == [ast.RequestIrq, ast.Code]

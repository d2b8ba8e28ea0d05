"""`model_text` is an exact inverse of `parse`, and `parse` fails only with coded diagnostics."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import IrcheckError
from ircheck.grammar.parser import keywords, parse
from ircheck.grammar.printer import expr_text, model_text, stmt_head

from .test_parser import DECLARATIONS, EVERYTHING, EXAMPLES

MODELS = Path(__file__).resolve().parents[2] / "models"
KEYWORDS = keywords()

# ---- strategies for valid syntax trees ---------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,4}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
nums = st.integers(min_value=0, max_value=300)
small = st.integers(min_value=0, max_value=15)
line_refs = st.builds(ast.LineRef, names, st.integers(min_value=0, max_value=7))

atoms = st.one_of(st.builds(ast.Name, names), st.builds(ast.Num, nums), st.builds(ast.Bool, st.booleans()))


def _compound(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.Not, children),
        st.builds(ast.BoolOp, st.sampled_from(["and", "or"]), many),
        st.builds(ast.Compare, st.sampled_from(["<", "<=", "==", "!=", ">=", ">"]), children, children),
        many.flatmap(lambda args: st.builds(
            ast.Arith, st.lists(st.sampled_from("+-"), min_size=len(args) - 1,
                                max_size=len(args) - 1).map(tuple), st.just(args))),
    )


exprs = st.recursive(atoms, _compound, max_leaves=8)
conds = st.one_of(exprs, st.builds(ast.InService))

OP0 = ["cli", "sti", "iret", "nop", "sleep", "local_irq_save", "local_irq_restore",
       "local_bh_disable", "local_bh_enable"]
OP1 = ["ack", "read", "write", "set", "clear", "inc", "dec", "call", "spin_lock_irqsave",
       "spin_unlock_irqrestore", "spin_lock_irq", "spin_unlock_irq", "spin_lock_bh", "spin_unlock_bh",
       "spin_lock", "spin_unlock", "mutex_lock", "mutex_unlock", "wake_up", "sleep_on",
       "raise_softirq", "tasklet_schedule", "queue_work", "return"]
IRQOP = ["disable_irq_nosync", "disable_irq", "enable_irq", "free_irq", "synchronize_irq"]

simple_stmts = st.one_of(
    st.builds(ast.Simple, st.sampled_from(OP0), st.none()),
    st.builds(ast.Simple, st.sampled_from(OP1), st.builds(ast.Name, names)),
    st.builds(ast.Simple, st.just("eoi"),
              st.one_of(st.none(), st.builds(ast.Name, names), line_refs)),
    st.builds(ast.Simple, st.sampled_from(["mask", "unmask"]), line_refs),
    st.builds(ast.Simple, st.sampled_from(["int", "fault"] + IRQOP), st.builds(ast.Num, nums)),
    st.builds(ast.Wait, st.sampled_from(["wait_event", "epoll_wait"]), st.builds(ast.Name, names), exprs),
)


@functools.cache
def stmts(depth: int) -> st.SearchStrategy[ast.Stmt]:
    """Statements with blocks nested at most `depth` deep."""
    if depth == 0:
        return simple_stmts
    body = st.lists(stmts(depth - 1), max_size=3).map(tuple)
    return st.one_of(
        simple_stmts,
        st.builds(ast.If, conds, body, body),
        st.builds(ast.While, conds, body),
        st.builds(ast.Loop, body),
    )


bodies = st.lists(stmts(3), max_size=4).map(tuple)


def _setting(key: str, value: st.SearchStrategy[object]) -> st.SearchStrategy[list[ast.Setting]]:
    return st.builds(lambda v: [ast.Setting(key, v)], value)


def _flat(groups: st.SearchStrategy[list[ast.Setting]], max_size: int = 4) -> st.SearchStrategy[tuple]:
    return st.lists(groups, max_size=max_size).map(lambda gs: tuple(s for g in gs for s in g))


def _with_trigger(key: str, value: st.SearchStrategy[object]) -> st.SearchStrategy[list[ast.Setting]]:
    trig = st.one_of(st.none(), st.sampled_from(["edge", "level"]))
    return st.builds(lambda v, t: [ast.Setting(key, v)] + ([ast.Setting("trigger", t)] if t else []),
                     value, trig)


pic_settings = _flat(st.one_of(
    _setting("base", nums), _setting("mode", names), _setting("eoi", names),
    _setting("rotate", names), _setting("mask", st.integers(0, 255)), _setting("cascade", line_refs)))
device_settings = _flat(st.one_of(
    _with_trigger("irq", line_refs), _with_trigger("vector", nums), _setting("nmi", st.none()),
    _setting("raises", small), _setting("raises_any", st.none()), _setting("shared", st.none()),
    _setting("may_drop", st.none()), _setting("on_kick", st.none()), _setting("on", names)), max_size=5)
request_options = _flat(st.one_of(
    _setting("shared", st.none()), _setting("dev_id", names), _setting("thread", names),
    _setting("oneshot", st.none())))
code_options = _flat(st.one_of(
    _setting("reentrant", st.none()), _setting("nonreentrant", st.none()), _setting("on", names),
    _setting("cpl", st.integers(0, 3))), max_size=3)

check_items = st.one_of(
    st.builds(ast.CheckItem, names, st.one_of(st.none(), small)),
    st.builds(ast.CheckItem, st.just("invariant"), exprs),
)

decls = st.one_of(
    st.builds(ast.System, names),
    st.builds(ast.Cpus, small),
    st.builds(ast.Pic, names, names, pic_settings),
    st.builds(ast.Apic, names, _flat(_setting("tpr", small), max_size=2)),
    st.builds(ast.Device, names, device_settings),
    st.builds(ast.Idt, st.lists(st.builds(
        ast.IdtEntry, st.integers(0, 255), st.builds(ast.Name, names),
        st.sampled_from(["interrupt_gate", "trap_gate"]), st.integers(0, 3)), max_size=3).map(tuple)),
    st.builds(ast.RequestIrq, small, st.builds(ast.Name, names), request_options),
    st.builds(ast.Object, st.sampled_from(["spinlock", "mutex", "data", "waitqueue"]), names),
    st.builds(ast.Object, st.just("flag"), names, st.integers(0, 1), st.just(1)),
    st.builds(ast.Object, st.just("counter"), names, small, st.one_of(st.none(), small)),
    st.builds(ast.Code, st.sampled_from(["handler", "irq_thread", "softirq", "tasklet", "work",
                                         "function", "thread"]), names, code_options, bodies),
    st.builds(ast.Check, st.lists(check_items, min_size=1, max_size=3).map(tuple)),
)


def _printable(ds: list[ast.Decl]) -> bool:
    # Known parser bug (see test_parser.test_request_irq_followed_by_a_thread): a `thread`
    # context right after a request_irq is read as its `thread` option.
    return not any(isinstance(a, ast.RequestIrq) and isinstance(b, ast.Code) and b.kind == "thread"
                   for a, b in zip(ds, ds[1:], strict=False))


models = st.lists(decls, max_size=6).filter(_printable).map(lambda ds: ast.Model(tuple(ds)))


# ---- round trip ----------------------------------------------------------------------------

@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(models)
def test_random_models_round_trip(m: ast.Model) -> None:
    text = model_text(m)
    again = parse(text)
    assert again.decls == m.decls, text
    assert model_text(again) == text


@settings(deadline=None, max_examples=200)
@given(exprs)
def test_random_invariants_round_trip(e: ast.Expr) -> None:
    m = ast.Model((ast.Check((ast.CheckItem("invariant", e),)),))
    assert parse(model_text(m)).decls == m.decls


@settings(deadline=None, max_examples=200)
@given(exprs)
def test_expr_text_reparses_to_an_equivalent_tree(e: ast.Expr) -> None:
    # expr_text (trace labels) may drop grouping of a left-nested sum, which is harmless
    # (+/- are left-associative); its text still parses, and model_text's form agrees.
    [item] = parse(f"check invariant {expr_text(e)}").decls
    assert isinstance(item, ast.Check)
    [again] = parse(model_text(ast.Model((item,)))).decls
    assert again == item


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.irq")), ids=lambda p: p.name)
def test_bundled_models_round_trip(path: Path) -> None:
    m = parse(path.read_text())
    text = model_text(m)
    assert parse(text).decls == m.decls
    assert model_text(parse(text)) == text


@pytest.mark.parametrize("text", [DECLARATIONS + EVERYTHING, *EXAMPLES.values()])
def test_language_models_round_trip(text: str) -> None:
    m = parse(text)
    assert parse(model_text(m)).decls == m.decls


def test_canonical_layout() -> None:
    m = parse("pic master : i8259 { base 0x20 }\n"
              "device nic { irq master.3 edge raises 2 }\ndevice wdt { nmi raises any }\n"
              "idt { 0x23 -> nic_isr interrupt_gate dpl 0 }\nflag ready = true\ncounter c max 3 = 1\n"
              "handler nic_isr { if not ready { eoi master.3 } else if in_service { nop } else { cli }\n"
              "  loop { } }\n"
              "check no_lost_irq, max_nesting 2, invariant (c - 1) - 1 < 3 and not (ready or c == 0)\n")
    assert model_text(m) == (
        "pic master : i8259 { base 0x20 }\n"
        "device nic { irq master.3 edge  raises 2 }\n"
        "device wdt { nmi  raises any }\n"
        "\n"
        "idt {\n"
        "    0x23 -> nic_isr interrupt_gate dpl 0\n"
        "}\n"
        "\n"
        "flag ready = true\n"
        "counter c = 1 max 3\n"
        "\n"
        "handler nic_isr {\n"
        "    if not ready {\n"
        "        eoi master.3\n"
        "    } else if in_service {\n"
        "        nop\n"
        "    } else {\n"
        "        cli\n"
        "    }\n"
        "    loop { }\n"
        "}\n"
        "\n"
        "check no_lost_irq, max_nesting 2, invariant (c - 1) - 1 < 3 and not (ready or c == 0)\n"
    )


def test_stmt_head_and_expr_text() -> None:
    assert stmt_head(ast.Simple("int", ast.Num(0x80))) == "int 0x80"
    assert stmt_head(ast.Simple("eoi", ast.LineRef("master", 3))) == "eoi master.3"
    assert stmt_head(ast.If(ast.Not(ast.Name("x")), (), ())) == "if not x"
    sum_ = ast.Arith(("-",), (ast.Arith(("+",), (ast.Name("a"), ast.Name("b"))), ast.Name("c")))
    # labels use the canonical printer too: a nested sum keeps the parentheses that made it
    assert expr_text(sum_) == "(a + b) - c"
    assert expr_text(ast.InService()) == "in_service"


@pytest.mark.parametrize("bad", [
    ast.Device("d", (ast.Setting("trigger", "edge"),)),
    ast.Check((ast.CheckItem("invariant", ast.BoolOp("and", (ast.InService(), ast.Name("x")))),)),
    ast.Cpus(-1),
    ast.Object("flag", "f", 2, 1),
    ast.Check((ast.CheckItem("x", ast.BoolOp("or", (ast.Name("a"),))),)),
])
def test_unprintable_trees_are_refused(bad: ast.Decl) -> None:
    with pytest.raises(ValueError, match="no .irq spelling"):
        model_text(ast.Model((bad,)))


def test_request_irq_before_thread_gets_a_separator() -> None:
    m = ast.Model((ast.RequestIrq(3, ast.Name("isr"), ()),
                   ast.Code("thread", "app", (), (ast.Simple("nop", None),))))
    assert model_text(m).startswith("request_irq 3 isr;\n")


# ---- junk input -------------------------------------------------------------------------------

def parse_or_diagnose(text: str) -> None:
    """Either parses, or raises IrcheckError with well-formed diagnostics; nothing else."""
    try:
        parse(text, "fuzz.irq")
    except IrcheckError as e:
        assert e.diagnostics
        for d in e.diagnostics:
            assert d.code.startswith("IRQ"), d
            assert d.line >= 0 and d.column >= 0, d
            assert d.message
            d.render(text)
        e.render()


@settings(deadline=None, max_examples=300)
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    parse_or_diagnose(text)


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet="abcdeilmnoprstuvxy_0123456789{}();,.:=<>!+-# \n", max_size=80))
def test_random_character_soup_never_crashes(text: str) -> None:
    parse_or_diagnose(text)


@settings(deadline=None, max_examples=150)
@given(st.lists(st.sampled_from(sorted(KEYWORDS) + ["{", "}", ";", ",", ".", "(", ")", "->", ":", "=",
                                                    "<", "==", "+", "-", "x", "3", "0x1f", "\n"]),
                max_size=40))
def test_random_keyword_sequences_never_crash(tokens: list[str]) -> None:
    parse_or_diagnose(" ".join(tokens))


SEEDS = [DECLARATIONS + EVERYTHING, *EXAMPLES.values()]
TOKEN = re.compile(r"0[xX][0-9a-fA-F]+|0[bB][01]+|\d+|[A-Za-z_]\w*|->|[<>=!]=|\S")
PIECES = sorted(KEYWORDS) + ["{", "}", ";", ",", ".", "(", ")", "->", ":", "=", "<=", "+", "#",
                             "0x", "0b2", "99999999999999999999", "\n", "\t", "\x00", "é", "$"]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["del_char", "ins_char", "rep_char", "del_tok", "ins_tok",
                                     "rep_tok", "dup_tok"]))
        if kind.endswith("char"):
            i = draw(st.integers(0, max(len(text) - 1, 0)))
            ch = draw(st.one_of(st.characters(), st.sampled_from("{};,.()=<>-+#\n0x_")))
            if kind == "del_char":
                text = text[:i] + text[i + 1:]
            elif kind == "ins_char":
                text = text[:i] + ch + text[i:]
            else:
                text = text[:i] + ch + text[i + 1:]
            continue
        toks = list(TOKEN.finditer(text))
        if not toks:
            continue
        t = toks[draw(st.integers(0, len(toks) - 1))]
        piece = draw(st.sampled_from(PIECES))
        if kind == "del_tok":
            text = text[:t.start()] + text[t.end():]
        elif kind == "ins_tok":
            text = text[:t.start()] + piece + " " + text[t.start():]
        elif kind == "rep_tok":
            text = text[:t.start()] + piece + text[t.end():]
        else:
            text = text[:t.end()] + " " + t.group() + text[t.end():]
    return text


@settings(deadline=None, max_examples=400)
@given(mutants())
def test_mutated_models_never_crash(text: str) -> None:
    parse_or_diagnose(text)
